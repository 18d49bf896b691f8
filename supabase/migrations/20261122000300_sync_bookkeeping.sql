-- What a run saw upstream during its pass. Deletions ("not seen in a complete pass") are computed
-- from it at the end of the pass, so an unchanged re-sync writes nothing to the data tables.
create table sync.run_seen (
  run_id uuid not null references public.sync_runs (id) on delete cascade,
  entity text not null check (entity in ('accommodation_type', 'accommodation', 'booking')),
  -- Text, as guest_reservations.external_booking_id is: the end-of-pass anti-join is then an index
  -- lookup whatever the planner's statistics say.
  external_id text not null,
  primary key (run_id, entity, external_id)
);
revoke all on sync.run_seen from public, anon, authenticated;
grant select, insert, delete on sync.run_seen to service_role;

-- The bulk writers. Each is one SQL statement over a JSON page, so a page of 100 bookings costs
-- a constant number of round trips, and each only writes rows whose values changed.

-- Quarantine: item errors of a page are recorded (or refreshed); items of the page that are now
-- valid resolve their earlier quarantine.
create function sync.quarantine(p_tenant_id uuid, p_run_id uuid, p_entity text, p_errors jsonb, p_valid_ids text[])
returns table (quarantined integer, resolved integer)
language sql set search_path = '' as $$
  with errs as (
    select coalesce(e.id::text, 'invalid:' || md5(coalesce(e.payload::text, ''))) as external_id, e.reason, e.payload
    from jsonb_to_recordset(coalesce(p_errors, '[]')) as e(id integer, reason text, payload jsonb)
  ),
  q as (
    insert into public.sync_quarantine as sq (tenant_id, entity, external_id, reason, payload, run_id)
    select distinct on (external_id) p_tenant_id, p_entity, external_id, reason, payload, p_run_id from errs
    on conflict (tenant_id, entity, external_id) do update
      set reason = excluded.reason, payload = excluded.payload, run_id = excluded.run_id,
          last_seen_at = now(), resolved_at = null
    returning 1
  ),
  r as (
    update public.sync_quarantine sq set resolved_at = now()
    where sq.tenant_id = p_tenant_id and sq.entity = p_entity and sq.resolved_at is null
      and sq.external_id = any (p_valid_ids)
    returning 1
  )
  select (select count(*) from q)::integer, (select count(*) from r)::integer
$$;

create function sync.mark_seen(p_run_id uuid, p_entity text, p_ids integer[])
returns integer
language sql set search_path = '' as $$
  with s as (
    insert into sync.run_seen (run_id, entity, external_id)
    select p_run_id, p_entity, id::text from unnest(p_ids) as id
    on conflict do nothing
    returning 1
  )
  select count(*)::integer from s
$$;

create function sync.upsert_accommodation_types(p_tenant_id uuid, p_items jsonb)
returns table (inserted integer, updated integer)
language sql set search_path = '' as $$
  with input as (
    select t.*, encode(sha256(convert_to(concat_ws(E'\x1f', t.name, t.description, t.excerpt, t.bed_type, t.view,
             t.adults, t.children, t.total_capacity, t.size, t.details::text), 'UTF8')), 'hex') as content_hash
    from jsonb_to_recordset(p_items) as t(id integer, name text, status text, description text, excerpt text,
      adults integer, children integer, total_capacity integer, bed_type text, size integer, view text, details jsonb)
  ),
  w as (
    insert into hotels.accommodation_types as at (tenant_id, motopress_type_id, name, status, description, excerpt,
      adults, children, total_capacity, bed_type, size, view, details, content_hash, auto_created)
    select p_tenant_id, i.id, i.name, i.status, i.description, coalesce(i.excerpt, ''), i.adults, i.children,
      i.total_capacity, i.bed_type, i.size, i.view, coalesce(i.details, '{}'), i.content_hash, false
    from input i
    on conflict (tenant_id, motopress_type_id) do update set
      name = excluded.name, status = excluded.status, description = excluded.description, excerpt = excluded.excerpt,
      adults = excluded.adults, children = excluded.children, total_capacity = excluded.total_capacity,
      bed_type = excluded.bed_type, size = excluded.size, view = excluded.view, details = excluded.details,
      content_hash = excluded.content_hash, auto_created = false, removed_upstream_at = null, updated_at = now()
    where (at.name, at.status, at.description, at.excerpt, at.adults, at.children, at.total_capacity, at.bed_type,
           at.size, at.view, at.details, at.content_hash, at.auto_created)
          is distinct from
          (excluded.name, excluded.status, excluded.description, excluded.excerpt, excluded.adults, excluded.children,
           excluded.total_capacity, excluded.bed_type, excluded.size, excluded.view, excluded.details,
           excluded.content_hash, false)
       or at.removed_upstream_at is not null
    returning (xmax = 0) as fresh
  )
  select (count(*) filter (where fresh))::integer, (count(*) filter (where not fresh))::integer from w
$$;

-- Types that units or bookings name but that are not known yet are created as placeholders
-- (auto_created), completed by the next accommodations sync. Returns the created count.
create function sync.ensure_accommodation_types(p_tenant_id uuid, p_type_ids integer[])
returns integer
language sql set search_path = '' as $$
  with c as (
    insert into hotels.accommodation_types (tenant_id, motopress_type_id, name, auto_created)
    select distinct p_tenant_id, id,
      case when id = 0 then 'Unknown accommodation type' else 'Accommodation type #' || id end, true
    from unnest(p_type_ids) as id
    on conflict (tenant_id, motopress_type_id) do nothing
    returning 1
  )
  select count(*)::integer from c
$$;

create function sync.upsert_accommodation_units(p_tenant_id uuid, p_items jsonb)
returns table (inserted integer, updated integer)
language sql set search_path = '' as $$
  with input as (
    select * from jsonb_to_recordset(p_items) as t(id integer, type_id integer, name text, status text)
  ),
  w as (
    insert into hotels.accommodation_units as au (tenant_id, accommodation_type_id, motopress_unit_id, motopress_type_id,
      name, status, auto_created)
    select p_tenant_id, ty.id, i.id, i.type_id, i.name, i.status, false
    from input i
    left join hotels.accommodation_types ty on ty.tenant_id = p_tenant_id and ty.motopress_type_id = i.type_id
    on conflict (tenant_id, motopress_unit_id) do update set
      accommodation_type_id = excluded.accommodation_type_id, motopress_type_id = excluded.motopress_type_id,
      name = excluded.name, status = excluded.status, auto_created = false, removed_upstream_at = null,
      updated_at = now()
    where (au.accommodation_type_id, au.motopress_type_id, au.name, au.status, au.auto_created)
          is distinct from
          (excluded.accommodation_type_id, excluded.motopress_type_id, excluded.name, excluded.status, false)
       or au.removed_upstream_at is not null
    returning (xmax = 0) as fresh
  )
  select (count(*) filter (where fresh))::integer, (count(*) filter (where not fresh))::integer from w
$$;

-- Units that a page of bookings reserves but that the accommodations sync has not seen yet are
-- created from the booking's data, in the page's transaction, before the reservations that need them.
create function sync.resolve_booked_units(p_tenant_id uuid, p_rooms jsonb)
returns table (types_created integer, units_created integer)
language sql set search_path = '' as $$
  with wanted as (
    select distinct on (r.unit_id) r.unit_id, coalesce(r.type_id, 0) as type_id
    from jsonb_to_recordset(p_rooms) as r(unit_id integer, type_id integer)
    order by r.unit_id
  ),
  missing as (
    select w.* from wanted w
    where not exists (select 1 from hotels.accommodation_units u
                      where u.tenant_id = p_tenant_id and u.motopress_unit_id = w.unit_id)
  ),
  new_types as (
    insert into hotels.accommodation_types (tenant_id, motopress_type_id, name, auto_created)
    select distinct p_tenant_id, m.type_id,
      case when m.type_id = 0 then 'Unknown accommodation type' else 'Accommodation type #' || m.type_id end, true
    from missing m
    on conflict (tenant_id, motopress_type_id) do nothing
    returning id, motopress_type_id
  ),
  types as (
    select id, motopress_type_id from new_types
    union all
    select t.id, t.motopress_type_id from hotels.accommodation_types t
    where t.tenant_id = p_tenant_id and t.motopress_type_id in (select type_id from missing)
  ),
  new_units as (
    insert into hotels.accommodation_units (tenant_id, accommodation_type_id, motopress_unit_id, motopress_type_id, name, auto_created)
    select p_tenant_id, ty.id, m.unit_id, m.type_id, 'Accommodation #' || m.unit_id, true
    from missing m left join types ty on ty.motopress_type_id = m.type_id
    on conflict (tenant_id, motopress_unit_id) do nothing
    returning 1
  )
  select (select count(*) from new_types)::integer, (select count(*) from new_units)::integer
$$;

-- A missing room makes accommodation_unit_id NULL, which the NOT NULL constraint rejects: the page
-- fails loudly instead of writing a reservation without its room.
create function sync.upsert_reservations(p_tenant_id uuid, p_rows jsonb)
returns table (inserted integer, updated integer)
language sql set search_path = '' as $$
  with input as (
    select * from jsonb_to_recordset(p_rows) as t(external_booking_id text, first_unit integer, status text, kind text,
      check_in_date date, check_out_date date, guest_name text, guest_email text, guest_phone text, guest_country text,
      guest_phone_last4 text, external_reference text, adults integer, children integer, total_price numeric,
      currency text, ical_prodid text, ical_summary text, ical_description text, booked_at timestamptz)
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
        and (r.status, r.kind, r.check_in_date, r.check_out_date, r.guest_name, r.guest_email, r.guest_phone,
             r.guest_country, r.guest_phone_last4, r.external_reference, r.adults, r.children, r.total_price,
             r.currency, r.ical_prodid, r.ical_summary, r.ical_description, r.booked_at)
            is not distinct from
            (i.status, i.kind, i.check_in_date, i.check_out_date, i.guest_name, i.guest_email, i.guest_phone,
             i.guest_country, i.guest_phone_last4, i.external_reference, i.adults, i.children, i.total_price,
             i.currency, i.ical_prodid, i.ical_summary, i.ical_description, i.booked_at))
  ),
  w as (
    insert into public.guest_reservations as r (tenant_id, external_booking_id, accommodation_unit_id, status, kind,
      check_in_date, check_out_date, guest_name, guest_email, guest_phone, guest_country, guest_phone_last4,
      external_reference, adults, children, total_price, currency, ical_prodid, ical_summary, ical_description, booked_at)
    select p_tenant_id, i.external_booking_id, u.id, i.status, i.kind, i.check_in_date, i.check_out_date, i.guest_name,
      i.guest_email, i.guest_phone, i.guest_country, i.guest_phone_last4, i.external_reference, i.adults, i.children,
      i.total_price, i.currency, i.ical_prodid, i.ical_summary, i.ical_description, i.booked_at
    from changed i
    left join lateral (select a.id from hotels.accommodation_units a
                       where a.tenant_id = p_tenant_id and a.motopress_unit_id = i.first_unit limit 1) u on true
    on conflict (tenant_id, external_booking_id) do update set
      accommodation_unit_id = excluded.accommodation_unit_id, status = excluded.status, kind = excluded.kind,
      check_in_date = excluded.check_in_date, check_out_date = excluded.check_out_date,
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

-- One junction row per booked room, on the booked unit; rooms a booking no longer has are removed.
-- The lookups are LATERAL ... LIMIT 1 and the delete uses = ANY: each stays a per-row index lookup
-- even while a first large import outruns the planner's statistics.
create function sync.upsert_reservation_rooms(p_tenant_id uuid, p_rooms jsonb)
returns table (written integer, removed integer)
language sql set search_path = '' as $$
  with input as (
    select * from jsonb_to_recordset(p_rooms) as t(external_booking_id text, position integer, unit_id integer,
      type_id integer, adults integer, children integer, guest_name text)
  ),
  resolved as (
    select r.id as reservation_id, i.position, u.id as unit_uuid, i.unit_id, coalesce(i.type_id, 0) as type_id,
      i.adults, i.children, i.guest_name
    from input i
    cross join lateral (select g.id from public.guest_reservations g
                        where g.tenant_id = p_tenant_id and g.external_booking_id = i.external_booking_id limit 1) r
    left join lateral (select a.id from hotels.accommodation_units a
                       where a.tenant_id = p_tenant_id and a.motopress_unit_id = i.unit_id limit 1) u on true
  ),
  changed as (
    select x.* from resolved x
    where not exists (
      select 1 from public.reservation_accommodations ra
      where ra.reservation_id = x.reservation_id and ra.position = x.position
        and (ra.accommodation_unit_id, ra.motopress_type_id, ra.motopress_accommodation_id, ra.adults, ra.children,
             ra.guest_name)
            is not distinct from
            (x.unit_uuid, x.type_id, x.unit_id, x.adults, x.children, x.guest_name))
  ),
  w as (
    insert into public.reservation_accommodations as ra (tenant_id, reservation_id, position, accommodation_unit_id,
      motopress_type_id, motopress_accommodation_id, adults, children, guest_name)
    select p_tenant_id, reservation_id, position, unit_uuid, type_id, unit_id, adults, children, guest_name
    from changed
    on conflict (reservation_id, position) do update set
      accommodation_unit_id = excluded.accommodation_unit_id, motopress_type_id = excluded.motopress_type_id,
      motopress_accommodation_id = excluded.motopress_accommodation_id, adults = excluded.adults,
      children = excluded.children, guest_name = excluded.guest_name, updated_at = now()
    returning 1
  ),
  counts as (select reservation_id, count(*)::integer as n from resolved group by reservation_id),
  d as (
    delete from public.reservation_accommodations ra
    where ra.reservation_id = any (array(select c.reservation_id from counts c))
      and ra.position >= (select c.n from counts c where c.reservation_id = ra.reservation_id)
    returning 1
  )
  select (select count(*) from w)::integer, (select count(*) from d)::integer
$$;

-- After a complete, successful pass: the rows the pass did not see. They are only candidates:
-- MotoPress leaves no tombstones and a list can shift under a scan, so each is checked by id
-- before it is marked. Rows created from bookings (auto_created) were never in a listing.
create function sync.removal_candidates(p_tenant_id uuid, p_run_id uuid, p_entity text, p_limit integer)
returns table (external_id text)
language sql stable set search_path = '' as $$
  select r.external_booking_id from public.guest_reservations r
  where p_entity = 'booking' and r.tenant_id = p_tenant_id and r.removed_upstream_at is null
    and not exists (select 1 from sync.run_seen s
                    where s.run_id = p_run_id and s.entity = 'booking' and s.external_id = r.external_booking_id)
  union all
  select u.motopress_unit_id::text from hotels.accommodation_units u
  where p_entity = 'accommodation' and u.tenant_id = p_tenant_id and u.removed_upstream_at is null and not u.auto_created
    and not exists (select 1 from sync.run_seen s
                    where s.run_id = p_run_id and s.entity = 'accommodation' and s.external_id = u.motopress_unit_id::text)
  union all
  select t.motopress_type_id::text from hotels.accommodation_types t
  where p_entity = 'accommodation_type' and t.tenant_id = p_tenant_id and t.removed_upstream_at is null
    and not t.auto_created
    and not exists (select 1 from sync.run_seen s
                    where s.run_id = p_run_id and s.entity = 'accommodation_type' and s.external_id = t.motopress_type_id::text)
  limit p_limit
$$;

-- Marks the rows confirmed gone (a 404 by id) and forgets what the pass saw.
create function sync.mark_removed_upstream(p_tenant_id uuid, p_run_id uuid, p_entity text, p_gone text[])
returns integer
language plpgsql set search_path = '' as $$
declare
  v_count integer;
begin
  if p_entity = 'booking' then
    update public.guest_reservations r set removed_upstream_at = now(), updated_at = now()
    where r.tenant_id = p_tenant_id and r.removed_upstream_at is null and r.external_booking_id = any (p_gone);
  elsif p_entity = 'accommodation' then
    update hotels.accommodation_units u set removed_upstream_at = now(), updated_at = now()
    where u.tenant_id = p_tenant_id and u.removed_upstream_at is null and u.motopress_unit_id::text = any (p_gone);
  elsif p_entity = 'accommodation_type' then
    update hotels.accommodation_types t set removed_upstream_at = now(), updated_at = now()
    where t.tenant_id = p_tenant_id and t.removed_upstream_at is null and t.motopress_type_id::text = any (p_gone);
  else
    raise exception 'unknown entity %', p_entity;
  end if;
  get diagnostics v_count = row_count;
  delete from sync.run_seen where run_id = p_run_id and entity = p_entity;
  return v_count;
end $$;

revoke all on all functions in schema sync from public, anon, authenticated;
grant execute on all functions in schema sync to service_role;
