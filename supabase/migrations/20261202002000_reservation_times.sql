-- Contract §5: the reservation carries MotoPress's check-in/check-out times (a site setting the plugin
-- returns on every booking, "HH:MM:SS"), which the guest chat and the room status read.
alter table public.guest_reservations
  add column check_in_time time,
  add column check_out_time time;

-- Redefined (issue-14 owns it) to write the two times; the rest is the earlier definition.
create or replace function sync.upsert_reservations(p_tenant_id uuid, p_rows jsonb)
returns table (inserted integer, updated integer)
language sql set search_path = '' as $$
  with input as (
    select * from jsonb_to_recordset(p_rows) as t(external_booking_id text, first_unit integer, status text, kind text,
      check_in_date date, check_out_date date, check_in_time time, check_out_time time, guest_name text,
      guest_email text, guest_phone text, guest_country text, guest_phone_last4 text, external_reference text,
      adults integer, children integer, total_price numeric, currency text, ical_prodid text, ical_summary text,
      ical_description text, booked_at timestamptz)
  ),
  -- Only changed bookings reach the insert: `on conflict do update` locks (and so writes) every row
  -- it meets, so unchanged rows must not meet it at all.
  changed as (
    select i.* from input i
    where not exists (
      select 1 from public.guest_reservations r
      join hotels.accommodation_units u on u.id = r.accommodation_unit_id
      where r.tenant_id = p_tenant_id and r.external_booking_id = i.external_booking_id
        and r.removed_upstream_at is null and u.motopress_unit_id = i.first_unit
        and (r.status, r.kind, r.check_in_date, r.check_out_date, r.check_in_time, r.check_out_time, r.guest_name,
             r.guest_email, r.guest_phone, r.guest_country, r.guest_phone_last4, r.external_reference, r.adults,
             r.children, r.total_price, r.currency, r.ical_prodid, r.ical_summary, r.ical_description, r.booked_at)
            is not distinct from
            (i.status, i.kind, i.check_in_date, i.check_out_date, i.check_in_time, i.check_out_time, i.guest_name,
             i.guest_email, i.guest_phone, i.guest_country, i.guest_phone_last4, i.external_reference, i.adults,
             i.children, i.total_price, i.currency, i.ical_prodid, i.ical_summary, i.ical_description, i.booked_at))
  ),
  w as (
    insert into public.guest_reservations as r (tenant_id, external_booking_id, accommodation_unit_id, status, kind,
      check_in_date, check_out_date, check_in_time, check_out_time, guest_name, guest_email, guest_phone,
      guest_country, guest_phone_last4, external_reference, adults, children, total_price, currency, ical_prodid,
      ical_summary, ical_description, booked_at)
    select p_tenant_id, i.external_booking_id, u.id, i.status, i.kind, i.check_in_date, i.check_out_date,
      i.check_in_time, i.check_out_time, i.guest_name, i.guest_email, i.guest_phone, i.guest_country,
      i.guest_phone_last4, i.external_reference, i.adults, i.children, i.total_price, i.currency, i.ical_prodid,
      i.ical_summary, i.ical_description, i.booked_at
    from changed i
    left join lateral (select a.id from hotels.accommodation_units a
                       where a.tenant_id = p_tenant_id and a.motopress_unit_id = i.first_unit limit 1) u on true
    on conflict (tenant_id, external_booking_id) do update set
      accommodation_unit_id = excluded.accommodation_unit_id, status = excluded.status, kind = excluded.kind,
      check_in_date = excluded.check_in_date, check_out_date = excluded.check_out_date,
      check_in_time = excluded.check_in_time, check_out_time = excluded.check_out_time,
      guest_name = excluded.guest_name, guest_email = excluded.guest_email, guest_phone = excluded.guest_phone,
      guest_country = excluded.guest_country, guest_phone_last4 = excluded.guest_phone_last4,
      external_reference = excluded.external_reference, adults = excluded.adults, children = excluded.children,
      total_price = excluded.total_price, currency = excluded.currency, ical_prodid = excluded.ical_prodid,
      ical_summary = excluded.ical_summary, ical_description = excluded.ical_description,
      booked_at = excluded.booked_at, removed_upstream_at = null, updated_at = now()
    returning (xmax = 0) as fresh
  )
  select (count(*) filter (where fresh))::integer, (count(*) filter (where not fresh))::integer from w
$$;

revoke all on function sync.upsert_reservations(uuid, jsonb) from public, anon, authenticated;
grant execute on function sync.upsert_reservations(uuid, jsonb) to service_role;
