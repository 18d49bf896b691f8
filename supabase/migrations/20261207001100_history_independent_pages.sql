-- A page's database cost does not grow with the hotel's history, whichever plan PostgreSQL picks
-- (generic or custom, analysed tables or never analysed, PostgreSQL 15 or 17). Every lookup a page,
-- an operator action or the reconciliation makes by a page's ids or a unit's days is written as a
-- LATERAL subquery that cannot be flattened (LIMIT or OFFSET 0), so the planner has no join to turn
-- into a hash over a whole table: each is an index probe per item, by a unique key or a unit's date
-- range. A correlated NOT EXISTS gets OFFSET 0 for the same reason (it stays a per-row subplan).
-- The functions below are the earlier migrations' with only their lookups rewritten so.

-- Open conflicts by the reservation on either side (a writer checks the conflicts of what it
-- wrote, and the foreign keys' checks look them up so), and by unit and the nights' end (the
-- reconciler looks at today's and later ones only).
create index booking_conflicts_reservation_idx on hotels.booking_conflicts (reservation_id);
create index booking_conflicts_open_until_idx on hotels.booking_conflicts (accommodation_unit_id, upper(nights))
  where resolved_at is null;

-- Conflicts by the other reservation alone, and reservations by unit alone (were by tenant first).
-- A non-unique index that leads with the tenant is where a plan made without statistics (a generic
-- plan of a foreign-key check, `tenant_id = $1 and id = $2`) goes to find one row, and reads the
-- whole tenant. The reservations' index by tenant and dates served the room status before the
-- stays carried their dates; nothing reads it now, and every write paid for it.
drop index hotels.booking_conflicts_other_idx;
create index booking_conflicts_other_idx on hotels.booking_conflicts (other_reservation_id);
drop index public.guest_reservations_stay_idx;
drop index public.guest_reservations_unit_idx;
create index guest_reservations_unit_idx on public.guest_reservations (accommodation_unit_id);

-- The stays in house or held there on a unit (what a unit's status reads besides its days).
create index reservation_accommodations_unit_in_house_idx on public.reservation_accommodations (accommodation_unit_id)
  where stay_state = 'in_house' or hold_departure;

-- The page's reservations: only changed bookings reach the insert (see 20261202008100); each is
-- compared with its stored row by the (tenant, booking) key.
create or replace function sync.upsert_reservations(p_tenant_id uuid, p_rows jsonb)
returns table (inserted integer, updated integer)
language sql set search_path = '' as $$
  with input as (
    select * from jsonb_to_recordset(p_rows) as t(external_booking_id text, first_unit integer, status text, kind text,
      check_in_date date, check_out_date date, check_in_time time, check_out_time time, guest_name text,
      guest_email text, guest_phone text, guest_country text, guest_phone_last4 text, external_reference text,
      adults integer, children integer, total_price numeric, currency text, ical_prodid text, ical_summary text,
      ical_description text, booked_at timestamptz, content_hash text)
  ),
  changed as (
    select i.* from input i
    left join lateral (
      select 1 as same from public.guest_reservations r
      join hotels.accommodation_units u on u.id = r.accommodation_unit_id
      where r.tenant_id = p_tenant_id and r.external_booking_id = i.external_booking_id
        and r.removed_upstream_at is null and u.motopress_unit_id = i.first_unit
        and r.content_hash is not distinct from i.content_hash
        and (r.status, r.kind, r.check_in_date, r.check_out_date, r.check_in_time, r.check_out_time, r.guest_name,
             r.guest_email, r.guest_phone, r.guest_country, r.guest_phone_last4, r.external_reference, r.adults,
             r.children, r.total_price, r.currency, r.ical_prodid, r.ical_summary, r.ical_description, r.booked_at)
            is not distinct from
            (i.status, i.kind, i.check_in_date, i.check_out_date, i.check_in_time, i.check_out_time, i.guest_name,
             i.guest_email, i.guest_phone, i.guest_country, i.guest_phone_last4, i.external_reference, i.adults,
             i.children, i.total_price, i.currency, i.ical_prodid, i.ical_summary, i.ical_description, i.booked_at)
      limit 1) s on true
    where s.same is null
  ),
  w as (
    insert into public.guest_reservations as r (tenant_id, external_booking_id, accommodation_unit_id, status, kind,
      check_in_date, check_out_date, check_in_time, check_out_time, guest_name, guest_email, guest_phone,
      guest_country, guest_phone_last4, external_reference, adults, children, total_price, currency, ical_prodid,
      ical_summary, ical_description, booked_at, content_hash)
    select p_tenant_id, i.external_booking_id, u.id, i.status, i.kind, i.check_in_date, i.check_out_date,
      i.check_in_time, i.check_out_time, i.guest_name, i.guest_email, i.guest_phone, i.guest_country,
      i.guest_phone_last4, i.external_reference, i.adults, i.children, i.total_price, i.currency, i.ical_prodid,
      i.ical_summary, i.ical_description, i.booked_at, i.content_hash
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
      booked_at = excluded.booked_at, removed_upstream_at = null, content_hash = excluded.content_hash,
      updated_at = case
        when r.removed_upstream_at is null and r.accommodation_unit_id = excluded.accommodation_unit_id
         and (r.status, r.kind, r.check_in_date, r.check_out_date, r.check_in_time, r.check_out_time, r.guest_name,
              r.guest_email, r.guest_phone, r.guest_country, r.guest_phone_last4, r.external_reference, r.adults,
              r.children, r.total_price, r.currency, r.ical_prodid, r.ical_summary, r.ical_description, r.booked_at)
             is not distinct from
             (excluded.status, excluded.kind, excluded.check_in_date, excluded.check_out_date, excluded.check_in_time,
              excluded.check_out_time, excluded.guest_name, excluded.guest_email, excluded.guest_phone,
              excluded.guest_country, excluded.guest_phone_last4, excluded.external_reference, excluded.adults,
              excluded.children, excluded.total_price, excluded.currency, excluded.ical_prodid, excluded.ical_summary,
              excluded.ical_description, excluded.booked_at)
        then r.updated_at else now() end
    returning (xmax = 0) as fresh, r.updated_at = now() as touched
  )
  select (count(*) filter (where fresh))::integer, (count(*) filter (where not fresh and touched))::integer from w
$$;

-- The page's rooms: each compared with its stored row by (reservation, position).
create or replace function sync.upsert_reservation_rooms(p_tenant_id uuid, p_rooms jsonb)
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
    left join lateral (
      select 1 as same from public.reservation_accommodations ra
      where ra.reservation_id = x.reservation_id and ra.position = x.position
        and (ra.accommodation_unit_id, ra.motopress_type_id, ra.motopress_accommodation_id, ra.adults, ra.children,
             ra.guest_name)
            is not distinct from
            (x.unit_uuid, x.type_id, x.unit_id, x.adults, x.children, x.guest_name)
      limit 1) s on true
    where s.same is null
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
  extra as (
    select x.id from counts c
    cross join lateral (select ra.id from public.reservation_accommodations ra
                        where ra.reservation_id = c.reservation_id and ra.position >= c.n offset 0) x
  ),
  d as (
    delete from public.reservation_accommodations ra where ra.id = any (array(select e.id from extra e))
    returning 1
  )
  select (select count(*) from w)::integer, (select count(*) from d)::integer
$$;

-- The four dimensions of one unit at p_now (see 20261202004100): the stays around that day and
-- the ones held in house, each found by the unit's date range and read by its keys.
create or replace function sync.unit_dimensions(p_unit_id uuid, p_tz text, p_now timestamptz, p_housekeeping text,
  p_housekeeping_at timestamptz)
returns table (block text, in_house text, dirty text, dirty_at timestamptz, arrival text)
language sql stable set search_path = '' as $$
  with day as (select (p_now at time zone p_tz)::date as today),
  ids as (
    select s.id from day, public.reservation_accommodations s
    where s.accommodation_unit_id = p_unit_id and s.check_out_date >= day.today - 1 and s.check_in_date <= day.today + 1
    union
    select s.id from public.reservation_accommodations s where s.accommodation_unit_id = p_unit_id and s.hold_departure
  ),
  stays as (
    select r.external_booking_id, r.guest_name, r.check_in_date, r.check_out_date,
      sync.stay_state(r.status, r.removed_upstream_at is not null,
        sync.local_moment(r.check_in_date, coalesce(r.check_in_time, sync.default_check_in_time()), p_tz),
        sync.local_moment(r.check_out_date, coalesce(r.check_out_time, sync.default_check_out_time()), p_tz),
        ra.checked_in_at, ra.checked_out_at, ra.hold_arrival, ra.hold_departure, p_now) as state,
      coalesce(ra.checked_out_at,
        sync.local_moment(r.check_out_date, coalesce(r.check_out_time, sync.default_check_out_time()), p_tz)) as departed_at
    from ids
    cross join lateral (select a.* from public.reservation_accommodations a where a.id = ids.id offset 0) ra
    cross join lateral (select g.* from public.guest_reservations g where g.id = ra.reservation_id offset 0) r
  ),
  left_at as (
    select max(s.departed_at) as at from stays s
    where s.state = 'departed' and s.departed_at > p_housekeeping_at and s.departed_at <= p_now
  )
  select
    (select format('%s until %s: %s', replace(b.kind, '_', ' '), b.ends_on, b.reason)
     from hotels.unit_blocks b, day
     where b.accommodation_unit_id = p_unit_id and b.starts_on <= day.today and day.today < b.ends_on
       and (b.ended_at is null or b.ended_at > p_now)
     order by b.starts_on, b.id limit 1),
    (select format('%s (booking %s), departs %s', coalesce(s.guest_name, 'guest'), s.external_booking_id, s.check_out_date)
     from stays s where s.state = 'in_house' order by s.check_in_date, s.external_booking_id limit 1),
    case when l.at is not null then format('guest checked out at %s', to_char(l.at at time zone p_tz, 'YYYY-MM-DD HH24:MI'))
         when p_housekeeping = 'dirty' then 'housekeeping marked it dirty' end,
    l.at,
    (select format('booking %s (%s) arrives today', s.external_booking_id, coalesce(s.guest_name, 'guest'))
     from stays s, day where s.state = 'expected' and s.check_in_date = day.today
     order by s.external_booking_id limit 1)
  from left_at l
$$;


-- Recomputes stays, conflicts and unit statuses of one tenant (see 20261202008200): the same three
-- steps, each reading only the page's reservations, its units' days and the stays held in house.
create or replace function sync.refresh_room_status(p_tenant_id uuid, p_unit_ids uuid[], p_reservation_ids uuid[],
  p_now timestamptz, p_cause text, p_status_unit_ids uuid[])
returns table (unit_id uuid, from_status text, to_status text, reason text, cause text)
language plpgsql volatile set search_path = '' as $$
declare
  v_tz text;
  v_today date;
  v_resolve uuid[];
  v_pair_units uuid[];
  v_pair_reservations uuid[];
  v_pair_others uuid[];
  v_pair_nights daterange[];
  v_pair_open uuid[];
  v_units uuid[];
  v_ids uuid[];
  v_states text[];
begin
  perform sync.lock_room_status(p_tenant_id);
  -- Statements below take fresh snapshots: they see everything committed before the lock.
  v_tz := sync.tenant_zone(p_tenant_id);
  v_today := (p_now at time zone v_tz)::date;
  -- Our own stay_state writes must not re-enter the statement triggers.
  perform set_config('sync.room_status_refreshing', 'on', true);

  -- 1. Stay states: the changed reservations' stays, and on each unit in scope (every unit of the
  -- tenant for the reconciler) the stays around today and the ones in house or held there.
  v_units := coalesce(p_status_unit_ids,
    array(select u.id from hotels.accommodation_units u where u.tenant_id = p_tenant_id));
  with candidates as (
    select ra.id from unnest(p_reservation_ids) as x(id)
    cross join lateral (select a.id, a.tenant_id from public.reservation_accommodations a
                        where a.reservation_id = x.id offset 0) ra
    where ra.tenant_id = p_tenant_id
    union
    select ra.id from unnest(v_units) as x(id)
    cross join lateral (select a.id from public.reservation_accommodations a
                        where a.accommodation_unit_id = x.id
                          and a.check_out_date >= v_today - 1 and a.check_in_date <= v_today + 1 offset 0) ra
    union
    select ra.id from unnest(v_units) as x(id)
    cross join lateral (select a.id from public.reservation_accommodations a
                        where a.accommodation_unit_id = x.id and (a.stay_state = 'in_house' or a.hold_departure)
                        offset 0) ra
  ),
  computed as (
    select ra.id, ra.stay_state, sync.stay_state(r.status, r.removed_upstream_at is not null,
        sync.local_moment(r.check_in_date, coalesce(r.check_in_time, sync.default_check_in_time()), v_tz),
        sync.local_moment(r.check_out_date, coalesce(r.check_out_time, sync.default_check_out_time()), v_tz),
        ra.checked_in_at, ra.checked_out_at, ra.hold_arrival, ra.hold_departure, p_now) as state
    from candidates c
    cross join lateral (select a.* from public.reservation_accommodations a where a.id = c.id offset 0) ra
    cross join lateral (select g.* from public.guest_reservations g where g.id = ra.reservation_id offset 0) r
  )
  select coalesce(array_agg(c.id), '{}'), coalesce(array_agg(c.state), '{}') into v_ids, v_states
  from computed c where c.stay_state is distinct from c.state;
  update public.reservation_accommodations ra set stay_state = x.state
  from unnest(v_ids, v_states) as x(id, state) where ra.id = x.id;

  perform set_config('sync.room_status_refreshing', 'off', true);

  -- 2. Overbookings (see 20261202004100): open conflicts of the changed reservations that no
  -- longer hold are resolved (the reconciler looks at those of today and later: only a write
  -- ends an earlier one); the changed reservations' current or future active stays are checked
  -- against the other active stays on their units. Each step reads rows by their keys into
  -- arrays first, and an update runs only when it has rows to write, by their primary keys.
  select coalesce(array_agg(o.id), '{}') into v_resolve from (
    select c.id from unnest(p_reservation_ids) as x(id)
    cross join lateral (select b.* from hotels.booking_conflicts b where b.reservation_id = x.id offset 0) c
    union
    select c.id from unnest(p_reservation_ids) as x(id)
    cross join lateral (select b.* from hotels.booking_conflicts b where b.other_reservation_id = x.id offset 0) c
    union
    select c.id from unnest(case when p_reservation_ids is null then v_units end) as x(id)
    cross join lateral (select b.* from hotels.booking_conflicts b
                        where b.accommodation_unit_id = x.id and b.resolved_at is null and upper(b.nights) >= v_today - 1
                        offset 0) c
  ) o
  cross join lateral (select b.* from hotels.booking_conflicts b where b.id = o.id offset 0) c
  where c.resolved_at is null and c.tenant_id = p_tenant_id
    and (p_unit_ids is null or c.accommodation_unit_id = any (p_unit_ids))
    -- The stays carry their booking's dates (sync.stay_dates_from_reservation and the reservation
    -- trigger keep them equal).
    and not exists (
      select 1
      from (select a.* from public.reservation_accommodations a where a.reservation_id = c.reservation_id offset 0) a1,
           (select a.* from public.reservation_accommodations a where a.reservation_id = c.other_reservation_id offset 0) a2
      where a1.accommodation_unit_id = c.accommodation_unit_id and a2.accommodation_unit_id = c.accommodation_unit_id
        and a1.stay_state <> 'cancelled' and a2.stay_state <> 'cancelled'
        and daterange(a1.check_in_date, a1.check_out_date) && daterange(a2.check_in_date, a2.check_out_date)
      offset 0);
  if cardinality(v_resolve) > 0 then
    update hotels.booking_conflicts c set resolved_at = now() where c.id = any (v_resolve);
  end if;

  with mine as (
    select ra.accommodation_unit_id as unit_id, ra.reservation_id, daterange(ra.check_in_date, ra.check_out_date) as nights
    from unnest(p_reservation_ids) as x(id)
    cross join lateral (select a.* from public.reservation_accommodations a where a.reservation_id = x.id offset 0) ra
    where ra.tenant_id = p_tenant_id and ra.stay_state <> 'cancelled' and ra.check_out_date >= v_today
      and ra.check_out_date > ra.check_in_date
  ),
  hits as (
    select m.unit_id, least(m.reservation_id, o.reservation_id) as reservation_id,
      greatest(m.reservation_id, o.reservation_id) as other_id, m.nights * o.nights as nights
    from mine m
    cross join lateral (
      select ra.reservation_id, daterange(ra.check_in_date, ra.check_out_date) as nights
      from public.reservation_accommodations ra
      where ra.accommodation_unit_id = m.unit_id and ra.check_out_date > lower(m.nights)
        and ra.check_in_date < upper(m.nights) and ra.reservation_id <> m.reservation_id
        and ra.stay_state <> 'cancelled' and ra.check_out_date > ra.check_in_date
      offset 0
    ) o
  ),
  pairs as (
    select distinct on (unit_id, reservation_id, other_id) * from hits order by unit_id, reservation_id, other_id
  )
  select coalesce(array_agg(p.unit_id), '{}'), coalesce(array_agg(p.reservation_id), '{}'),
         coalesce(array_agg(p.other_id), '{}'), coalesce(array_agg(p.nights), '{}'), coalesce(array_agg(b.id), '{}')
    into v_pair_units, v_pair_reservations, v_pair_others, v_pair_nights, v_pair_open
  from pairs p
  left join lateral (select x.id, x.nights from hotels.booking_conflicts x
                     where x.accommodation_unit_id = p.unit_id and x.reservation_id = p.reservation_id
                       and x.other_reservation_id = p.other_id and x.resolved_at is null offset 0) b on true
  where b.id is null or b.nights <> p.nights;
  if cardinality(v_pair_units) > 0 then
    -- Open ones whose nights moved, by their keys; new ones inserted.
    update hotels.booking_conflicts c set nights = x.nights
    from unnest(v_pair_open, v_pair_nights) as x(id, nights) where x.id is not null and c.id = x.id;
    insert into hotels.booking_conflicts (tenant_id, accommodation_unit_id, reservation_id, other_reservation_id, nights)
    select p_tenant_id, x.unit_id, x.reservation_id, x.other_id, x.nights
    from unnest(v_pair_units, v_pair_reservations, v_pair_others, v_pair_nights, v_pair_open)
      as x(unit_id, reservation_id, other_id, nights, open_id)
    where x.open_id is null
    on conflict do nothing;
  end if;

  -- 3. Unit statuses by the rule; the changes are recorded and returned.
  return query
  with u as (
    select x.id, x.room_status, x.room_status_reason, x.room_status_at, x.housekeeping, x.housekeeping_at
    from hotels.accommodation_units x
    where x.id = any (v_units) and x.tenant_id = p_tenant_id
  ),
  d as materialized (
    select u.*, r.status as new_status, r.reason as new_reason,
      case when dim.dirty_at is not null then 'dirty' else u.housekeeping end as new_housekeeping,
      -- Kept: the departure after it stays the reason the unit is dirty, so the stored reason is
      -- what the rule gives again from the stored data.
      u.housekeeping_at as new_housekeeping_at,
      case
        when p_cause is not null then p_cause
        when r.status = u.room_status then null
        else (select case when r0.status is distinct from u.room_status then 'drift' else 'schedule' end
              from sync.unit_dimensions(u.id, v_tz, u.room_status_at, u.housekeeping, u.housekeeping_at) d0
              cross join lateral sync.derive_room_status(d0.block, d0.in_house, d0.dirty, d0.arrival) r0)
      end as change_cause
    from u
    cross join lateral sync.unit_dimensions(u.id, v_tz, p_now, u.housekeeping, u.housekeeping_at) dim
    cross join lateral sync.derive_room_status(dim.block, dim.in_house, dim.dirty, dim.arrival) r
  ),
  w as (
    update hotels.accommodation_units x
    set room_status = d.new_status, room_status_reason = d.new_reason, room_status_at = p_now,
        housekeeping = d.new_housekeeping, housekeeping_at = d.new_housekeeping_at
    from d
    where x.id = d.id
      and (p_cause is not null
           or (x.room_status, x.room_status_reason, x.housekeeping) is distinct from (d.new_status, d.new_reason, d.new_housekeeping))
    returning x.id
  ),
  logged as (
    insert into hotels.room_status_changes (tenant_id, accommodation_unit_id, from_status, to_status, reason, cause)
    select p_tenant_id, d.id, d.room_status, d.new_status, d.new_reason, d.change_cause
    from d where d.new_status <> d.room_status
    returning 1
  )
  select d.id, d.room_status, d.new_status, d.new_reason, d.change_cause
  from d where d.new_status <> d.room_status order by d.id;
end $$;

-- A reservation whose status, dates, times, removal or guest changed (see 20261202008200): its
-- stays, found by the reservation's key.
create or replace function sync.room_status_after_reservation_update() returns trigger
language plpgsql set search_path = '' as $$
declare
  t record;
  v_now timestamptz := sync.room_status_now();
begin
  -- The tenant's room-status lock before any stay row: a reconciliation holding the lock never
  -- waits on a stay row this statement locked (no deadlock).
  perform sync.lock_room_status(x.tenant_id) from (select distinct n.tenant_id from new_rows n order by 1) x;
  -- The stays carry their booking's dates (MotoPress has one range per booking).
  perform set_config('sync.room_status_refreshing', 'on', true);
  update public.reservation_accommodations ra set check_in_date = s.check_in_date, check_out_date = s.check_out_date
  from (
    select a.id, n.check_in_date, n.check_out_date from new_rows n
    cross join lateral (select x.id, x.check_in_date, x.check_out_date from public.reservation_accommodations x
                        where x.reservation_id = n.id offset 0) a
    where (a.check_in_date, a.check_out_date) is distinct from (n.check_in_date, n.check_out_date)
  ) s
  where ra.id = s.id;
  perform set_config('sync.room_status_refreshing', 'off', true);
  for t in
    select n.tenant_id, array_agg(distinct ra.accommodation_unit_id) as units,
      coalesce(array_agg(distinct ra.accommodation_unit_id) filter (
        where sync.stay_moves_status(n.check_in_date, n.check_out_date, ra.stay_state, ra.hold_departure, v_now, u.room_status_at)
           or sync.stay_moves_status(o.check_in_date, o.check_out_date, ra.stay_state, ra.hold_departure, v_now, u.room_status_at)),
        '{}') as status_units,
      array_agg(distinct n.id) as reservations
    from new_rows n
    join old_rows o on o.id = n.id
    cross join lateral (select x.accommodation_unit_id, x.stay_state, x.hold_departure
                        from public.reservation_accommodations x where x.reservation_id = n.id offset 0) ra
    cross join lateral (select y.room_status_at from hotels.accommodation_units y
                        where y.id = ra.accommodation_unit_id offset 0) u
    where (n.status, n.check_in_date, n.check_out_date, n.check_in_time, n.check_out_time, n.removed_upstream_at, n.guest_name)
          is distinct from
          (o.status, o.check_in_date, o.check_out_date, o.check_in_time, o.check_out_time, o.removed_upstream_at, o.guest_name)
    group by n.tenant_id order by n.tenant_id
  loop
    perform sync.refresh_room_status(t.tenant_id, t.units, t.reservations, v_now, sync.room_status_cause(), t.status_units);
  end loop;
  return null;
end $$;

-- The removal check's candidates (see 20261202003100): each row after the position is looked up
-- in what the pass saw by its key.
create or replace function sync.removal_candidates(p_tenant_id uuid, p_run_id uuid, p_entity text, p_after text,
  p_limit integer)
returns table (external_id text)
language sql stable set search_path = '' as $$
  select * from (
    select r.external_booking_id as external_id from public.guest_reservations r
    where p_entity = 'booking' and r.tenant_id = p_tenant_id and r.removed_upstream_at is null
      and r.external_booking_id collate "C" > coalesce(p_after, '') collate "C"
      and not exists (select 1 from sync.run_seen s
                      where s.run_id = p_run_id and s.entity = 'booking' and s.external_id = r.external_booking_id
                      offset 0)
    union all
    select u.motopress_unit_id::text from hotels.accommodation_units u
    where p_entity = 'accommodation' and u.tenant_id = p_tenant_id and u.removed_upstream_at is null and not u.auto_created
      and u.motopress_unit_id::text collate "C" > coalesce(p_after, '') collate "C"
      and not exists (select 1 from sync.run_seen s
                      where s.run_id = p_run_id and s.entity = 'accommodation' and s.external_id = u.motopress_unit_id::text
                      offset 0)
    union all
    select t.motopress_type_id::text from hotels.accommodation_types t
    where p_entity = 'accommodation_type' and t.tenant_id = p_tenant_id and t.removed_upstream_at is null
      and not t.auto_created and t.motopress_type_id::text collate "C" > coalesce(p_after, '') collate "C"
      and not exists (select 1 from sync.run_seen s
                      where s.run_id = p_run_id and s.entity = 'accommodation_type' and s.external_id = t.motopress_type_id::text
                      offset 0)
  ) c
  order by c.external_id collate "C"
  limit p_limit
$$;

-- The stay triggers (see 20261202008200): each written stay's unit read by its key.
create or replace function sync.room_status_after_stay_insert() returns trigger
language plpgsql set search_path = '' as $$
declare
  t record;
  v_now timestamptz := sync.room_status_now();
begin
  for t in
    select n.tenant_id, array_agg(distinct n.accommodation_unit_id) as units,
      coalesce(array_agg(distinct n.accommodation_unit_id) filter (
        where sync.stay_moves_status(n.check_in_date, n.check_out_date, n.stay_state, n.hold_departure, v_now, u.room_status_at)),
        '{}') as status_units,
      array_agg(distinct n.reservation_id) as reservations
    from new_rows n
    cross join lateral (select y.room_status_at from hotels.accommodation_units y
                        where y.id = n.accommodation_unit_id offset 0) u
    group by n.tenant_id order by n.tenant_id
  loop
    perform sync.refresh_room_status(t.tenant_id, t.units, t.reservations, v_now, sync.room_status_cause(), t.status_units);
  end loop;
  return null;
end $$;

create or replace function sync.room_status_after_stay_delete() returns trigger
language plpgsql set search_path = '' as $$
declare
  t record;
  v_now timestamptz := sync.room_status_now();
begin
  for t in
    select o.tenant_id, array_agg(distinct o.accommodation_unit_id) as units,
      coalesce(array_agg(distinct o.accommodation_unit_id) filter (
        where sync.stay_moves_status(o.check_in_date, o.check_out_date, o.stay_state, o.hold_departure, v_now, u.room_status_at)),
        '{}') as status_units
    from old_rows o
    cross join lateral (select y.room_status_at from hotels.accommodation_units y
                        where y.id = o.accommodation_unit_id offset 0) u
    group by o.tenant_id order by o.tenant_id
  loop
    perform sync.refresh_room_status(t.tenant_id, t.units, null, v_now, sync.room_status_cause(), t.status_units);
  end loop;
  return null;
end $$;

create or replace function sync.room_status_after_stay_update() returns trigger
language plpgsql set search_path = '' as $$
declare
  t record;
  v_now timestamptz;
begin
  if current_setting('sync.room_status_refreshing', true) = 'on' then
    return null; -- the refresh's own stay_state writes
  end if;
  v_now := sync.room_status_now();
  for t in
    with changed as (
      select n.tenant_id, n.accommodation_unit_id, n.reservation_id, n.check_in_date, n.check_out_date, n.stay_state,
        n.hold_departure from new_rows n
      union all
      select o.tenant_id, o.accommodation_unit_id, o.reservation_id, o.check_in_date, o.check_out_date, o.stay_state,
        o.hold_departure from old_rows o
    )
    select c.tenant_id, array_agg(distinct c.accommodation_unit_id) as units,
      coalesce(array_agg(distinct c.accommodation_unit_id) filter (
        where sync.stay_moves_status(c.check_in_date, c.check_out_date, c.stay_state, c.hold_departure, v_now, u.room_status_at)),
        '{}') as status_units,
      array_agg(distinct c.reservation_id) as reservations
    from changed c
    cross join lateral (select y.room_status_at from hotels.accommodation_units y
                        where y.id = c.accommodation_unit_id offset 0) u
    group by c.tenant_id order by c.tenant_id
  loop
    perform sync.refresh_room_status(t.tenant_id, t.units, t.reservations, v_now, sync.room_status_cause(), t.status_units);
  end loop;
  return null;
end $$;

-- A page's first statement (see 20261202010100): each booking's reservation by its key, and its
-- open quarantine by its key.
create or replace function sync.check_bookings_page(p_tenant_id uuid, p_run_id uuid, p_token bigint, p_checkpoint jsonb,
  p_ids integer[], p_hashes text[], p_stats jsonb)
returns table (owned boolean, changed integer[])
language plpgsql volatile set search_path = '' set lock_timeout = '5000ms' as $$
declare
  v_same integer[];
  v_changed integer[];
  v_done boolean;
begin
  select coalesce(array_agg(i.id) filter (where s.id is not null), '{}'),
         coalesce(array_agg(i.id) filter (where s.id is null), '{}')
    into v_same, v_changed
  from unnest(p_ids, p_hashes) as i(id, hash)
  left join lateral (
    select r.id from public.guest_reservations r
    where r.tenant_id = p_tenant_id and r.external_booking_id = i.id::text and r.content_hash = i.hash
      and r.removed_upstream_at is null
      and not exists (select 1 from public.sync_quarantine q
                      where q.tenant_id = p_tenant_id and q.entity = 'booking' and q.external_id = i.id::text
                        and q.resolved_at is null
                      offset 0)
    limit 1) s on i.hash is not null;
  v_done := cardinality(v_changed) = 0;
  if p_token is not null and not sync.fence_run(p_run_id, p_token,
       case when v_done then p_checkpoint end, case when v_done then p_stats end) then
    return query select false, null::integer[];
    return;
  end if;
  if v_done and cardinality(v_same) > 0 then
    perform sync.mark_seen(p_run_id, 'booking', v_same);
  end if;
  return query select true, v_changed;
end $$;
