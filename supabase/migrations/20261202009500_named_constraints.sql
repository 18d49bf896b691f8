-- Names for the constraints the core schema left to PostgreSQL (`<table>_<columns>_key`, `…_check`,
-- `…_fkey`), so an error, a `\d` and a later migration name what each one guarantees; and the CHECKs
-- the code already assumes but the schema did not say. Primary keys keep PostgreSQL's `<table>_pkey`.
--
-- Each new CHECK states what the writers guarantee before a row reaches the table (the zod schemas
-- and the booking mapper quarantine anything else), so none of them can fail a sync. They are added
-- NOT VALID and then validated: the validation checks existing rows without blocking writes for its
-- duration (a SHARE UPDATE EXCLUSIVE lock), and a database whose data breaks one fails here, loudly,
-- instead of getting a constraint that only new rows obey.

-- Tenants and credentials.
alter table public.tenant_registry rename constraint tenant_registry_slug_key to tenant_registry_slug_unique;
alter table public.tenant_registry rename constraint tenant_registry_slug_check to tenant_registry_slug_format;
alter table public.tenant_registry rename constraint tenant_registry_name_check to tenant_registry_name_length;
alter table private.motopress_credentials rename constraint motopress_credentials_tenant_id_fkey to motopress_credentials_tenant_fk;
alter table private.motopress_credentials rename constraint motopress_credentials_site_url_check to motopress_credentials_site_url_http;

-- Room types. (tenant_id, id) is unique so that foreign keys can carry the tenant: a row can only
-- point at a row of its own hotel.
alter table hotels.accommodation_types rename constraint accommodation_types_tenant_id_fkey to accommodation_types_tenant_fk;
alter table hotels.accommodation_types rename constraint accommodation_types_tenant_id_id_key to accommodation_types_tenant_scoped_id;
alter table hotels.accommodation_types rename constraint accommodation_types_tenant_id_motopress_type_id_key to accommodation_types_one_per_motopress_id;
alter table hotels.accommodation_types rename constraint accommodation_types_motopress_type_id_check to accommodation_types_motopress_id_nonnegative;

-- Units.
alter table hotels.accommodation_units rename constraint accommodation_units_tenant_id_fkey to accommodation_units_tenant_fk;
alter table hotels.accommodation_units rename constraint accommodation_units_tenant_id_id_key to accommodation_units_tenant_scoped_id;
alter table hotels.accommodation_units rename constraint accommodation_units_tenant_id_motopress_unit_id_key to accommodation_units_one_per_motopress_id;
alter table hotels.accommodation_units rename constraint accommodation_units_tenant_id_accommodation_type_id_fkey to accommodation_units_type_fk;
alter table hotels.accommodation_units rename constraint accommodation_units_motopress_unit_id_check to accommodation_units_motopress_id_positive;
alter table hotels.accommodation_units rename constraint accommodation_units_room_status_check to accommodation_units_room_status_known;
alter table hotels.accommodation_units rename constraint accommodation_units_housekeeping_check to accommodation_units_housekeeping_known;

-- Reservations: one per MotoPress booking, each on a unit of its own hotel (seed incident 1).
alter table public.guest_reservations rename constraint guest_reservations_tenant_id_fkey to guest_reservations_tenant_fk;
alter table public.guest_reservations rename constraint guest_reservations_tenant_id_id_key to guest_reservations_tenant_scoped_id;
alter table public.guest_reservations rename constraint guest_reservations_tenant_id_external_booking_id_key to guest_reservations_one_per_booking;
alter table public.guest_reservations rename constraint guest_reservations_tenant_id_accommodation_unit_id_fkey to guest_reservations_unit_fk;
alter table public.guest_reservations rename constraint guest_reservations_check to guest_reservations_dates_ordered;
alter table public.guest_reservations rename constraint guest_reservations_kind_check to guest_reservations_kind_known;

-- Booked rooms: one per (reservation, position), on a unit of the reservation's hotel.
alter table public.reservation_accommodations rename constraint reservation_accommodations_reservation_id_position_key to reservation_accommodations_one_per_position;
alter table public.reservation_accommodations rename constraint reservation_accommodations_tenant_id_reservation_id_fkey to reservation_accommodations_reservation_fk;
alter table public.reservation_accommodations rename constraint reservation_accommodations_tenant_id_accommodation_unit_id_fkey to reservation_accommodations_unit_fk;
alter table public.reservation_accommodations rename constraint reservation_accommodations_position_check to reservation_accommodations_position_nonnegative;
alter table public.reservation_accommodations rename constraint reservation_accommodations_stay_state_check to reservation_accommodations_stay_state_known;

-- Quarantine: one row per upstream item.
alter table public.sync_quarantine rename constraint sync_quarantine_tenant_id_fkey to sync_quarantine_tenant_fk;
alter table public.sync_quarantine rename constraint sync_quarantine_tenant_id_entity_external_id_key to sync_quarantine_one_per_item;
alter table public.sync_quarantine rename constraint sync_quarantine_entity_check to sync_quarantine_entity_known;

-- The two table CHECKs of the room-status tables that PostgreSQL named `<table>_check`.
alter table hotels.booking_conflicts rename constraint booking_conflicts_check to booking_conflicts_pair_ordered;
alter table hotels.unit_blocks rename constraint unit_blocks_check to unit_blocks_dates_ordered;

-- The missing CHECKs. Counts are non-negative (zod's nonnegative ints; a negative size becomes null);
-- a booking's status is one MotoPress defines (z.enum(BOOKING_STATUSES) in motopress/schemas.ts); the
-- phone's last four digits are four digits (booking-mapper.ts); a booked room's own dates are ordered
-- like its reservation's; its MotoPress ids are those of a real unit (the mapper quarantines a room
-- whose accommodation is 0); a run's counters only grow from their defaults.
alter table hotels.accommodation_types
  add constraint accommodation_types_guest_counts_nonnegative
    check (adults >= 0 and children >= 0 and total_capacity >= 0) not valid,
  add constraint accommodation_types_size_nonnegative check (size >= 0) not valid;
alter table hotels.accommodation_units
  add constraint accommodation_units_motopress_type_id_nonnegative check (motopress_type_id >= 0) not valid;
alter table public.guest_reservations
  add constraint guest_reservations_status_known
    check (status in ('pending-user', 'pending-payment', 'pending', 'abandoned', 'confirmed', 'cancelled')) not valid,
  add constraint guest_reservations_guest_counts_nonnegative check (adults >= 0 and children >= 0) not valid,
  add constraint guest_reservations_phone_last4_digits check (guest_phone_last4 ~ '^[0-9]{4}$') not valid;
alter table public.reservation_accommodations
  add constraint reservation_accommodations_dates_ordered check (check_out_date >= check_in_date) not valid,
  add constraint reservation_accommodations_guest_counts_nonnegative check (adults >= 0 and children >= 0) not valid,
  add constraint reservation_accommodations_motopress_ids
    check (motopress_accommodation_id > 0 and motopress_type_id >= 0) not valid;
alter table public.sync_runs
  add constraint sync_runs_counters_nonnegative
    check (fencing_token >= 1 and invocations >= 0 and attempts_without_progress >= 0) not valid;

alter table hotels.accommodation_types validate constraint accommodation_types_guest_counts_nonnegative;
alter table hotels.accommodation_types validate constraint accommodation_types_size_nonnegative;
alter table hotels.accommodation_units validate constraint accommodation_units_motopress_type_id_nonnegative;
alter table public.guest_reservations validate constraint guest_reservations_status_known;
alter table public.guest_reservations validate constraint guest_reservations_guest_counts_nonnegative;
alter table public.guest_reservations validate constraint guest_reservations_phone_last4_digits;
alter table public.reservation_accommodations validate constraint reservation_accommodations_dates_ordered;
alter table public.reservation_accommodations validate constraint reservation_accommodations_guest_counts_nonnegative;
alter table public.reservation_accommodations validate constraint reservation_accommodations_motopress_ids;
alter table public.sync_runs validate constraint sync_runs_counters_nonnegative;
