-- Issue 13: the room-status upkeep of a sync page recomputes the status of the units whose status
-- the page's stays can change, not of every unit they are on. A first import writes mostly stays
-- far from today, which no unit's status depends on: a unit's status reads only the stays around
-- its day (sync.unit_dimensions: one day either side) and the ones held in house. So a stay counts
-- for its unit's status when its nights come within two days (the tenant's zone against UTC) of
-- now or of the moment the unit's status was last computed (what sync.room_status_unexplained
-- checks it against), or when it is or was in house or held there. Conflicts and the written
-- stays' own states are kept as before, for every stay written.

-- The status scope is a parameter of its own; conflicts keep the units of every written stay.
-- The body is 20261202004100's with the unit-status steps on p_status_unit_ids.
create function sync.refresh_room_status(p_tenant_id uuid, p_unit_ids uuid[], p_reservation_ids uuid[],
  p_now timestamptz, p_cause text, p_status_unit_ids uuid[])
returns table (unit_id uuid, from_status text, to_status text, reason text, cause text)
language plpgsql volatile set search_path = '' as $$
declare
  v_tz text;
  v_today date;
begin
  perform sync.lock_room_status(p_tenant_id);
  -- Statements below take fresh snapshots: they see everything committed before the lock.
  v_tz := sync.tenant_zone(p_tenant_id);
  v_today := (p_now at time zone v_tz)::date;
  -- Our own stay_state writes must not re-enter the statement triggers.
  perform set_config('sync.room_status_refreshing', 'on', true);

  -- 1. Stay states: the changed reservations' stays, and the stays around today on the units.
  with candidates as (
    select ra.id from public.reservation_accommodations ra
    where p_reservation_ids is not null and ra.reservation_id = any (p_reservation_ids) and ra.tenant_id = p_tenant_id
    union
    -- Stays around today, by the stays' own dates (index ranges that do not grow with history).
    select ra.id from public.reservation_accommodations ra
    where p_status_unit_ids is not null and ra.accommodation_unit_id = any (p_status_unit_ids)
      and ra.check_out_date >= v_today - 1 and ra.check_in_date <= v_today + 1
    union
    select ra.id from public.reservation_accommodations ra
    where p_status_unit_ids is null and ra.tenant_id = p_tenant_id
      and ra.check_out_date >= v_today - 1 and ra.check_in_date <= v_today + 1
    union
    select ra.id from public.reservation_accommodations ra
    where ra.tenant_id = p_tenant_id and (ra.stay_state = 'in_house' or ra.hold_departure)
      and (p_status_unit_ids is null or ra.accommodation_unit_id = any (p_status_unit_ids))
  ),
  computed as (
    select ra.id, sync.stay_state(r.status, r.removed_upstream_at is not null,
        sync.local_moment(r.check_in_date, coalesce(r.check_in_time, sync.default_check_in_time()), v_tz),
        sync.local_moment(r.check_out_date, coalesce(r.check_out_time, sync.default_check_out_time()), v_tz),
        ra.checked_in_at, ra.checked_out_at, ra.hold_arrival, ra.hold_departure, p_now) as state
    from candidates c
    join public.reservation_accommodations ra on ra.id = c.id
    join public.guest_reservations r on r.id = ra.reservation_id
  )
  update public.reservation_accommodations ra set stay_state = c.state
  from computed c where ra.id = c.id and ra.stay_state is distinct from c.state;

  perform set_config('sync.room_status_refreshing', 'off', true);

  -- 2. Overbookings: open conflicts on the units that no longer hold are resolved; the changed
  -- reservations' current or future active stays are checked against the other active stays on
  -- their units (back-to-back stays do not overlap: nights are [in, out)). Only a written stay can
  -- start an overlap, so the reconciler (no reservations) only resolves.
  with units as (
    select u.id from hotels.accommodation_units u
    where u.tenant_id = p_tenant_id and (p_unit_ids is null or u.id = any (p_unit_ids))
  ),
  mine as (
    select ra.accommodation_unit_id as unit_id, ra.reservation_id, daterange(r.check_in_date, r.check_out_date) as nights
    from public.reservation_accommodations ra
    join public.guest_reservations r on r.id = ra.reservation_id
    where p_reservation_ids is not null and ra.reservation_id = any (p_reservation_ids) and ra.tenant_id = p_tenant_id
      and ra.stay_state <> 'cancelled' and r.check_out_date >= v_today and r.check_out_date > r.check_in_date
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
    ) o
  ),
  pairs as (
    select distinct on (unit_id, reservation_id, other_id) * from hits order by unit_id, reservation_id, other_id
  ),
  resolved as (
    update hotels.booking_conflicts c set resolved_at = now()
    where c.tenant_id = p_tenant_id and c.resolved_at is null and c.accommodation_unit_id in (select id from units)
      -- A conflict ends only when one of its stays changed: a writer checks the conflicts of what it wrote.
      and (p_reservation_ids is null or c.reservation_id = any (p_reservation_ids)
           or c.other_reservation_id = any (p_reservation_ids))
      and not exists (
        select 1
        from public.reservation_accommodations a1 join public.guest_reservations r1 on r1.id = a1.reservation_id,
             public.reservation_accommodations a2 join public.guest_reservations r2 on r2.id = a2.reservation_id
        where a1.reservation_id = c.reservation_id and a1.accommodation_unit_id = c.accommodation_unit_id
          and a2.reservation_id = c.other_reservation_id and a2.accommodation_unit_id = c.accommodation_unit_id
          and a1.stay_state <> 'cancelled' and a2.stay_state <> 'cancelled'
          and daterange(r1.check_in_date, r1.check_out_date) && daterange(r2.check_in_date, r2.check_out_date))
    returning c.id
  ),
  moved as (
    update hotels.booking_conflicts c set nights = p.nights
    from pairs p
    where c.resolved_at is null and c.accommodation_unit_id = p.unit_id and c.reservation_id = p.reservation_id
      and c.other_reservation_id = p.other_id and c.nights <> p.nights
    returning c.id
  )
  insert into hotels.booking_conflicts (tenant_id, accommodation_unit_id, reservation_id, other_reservation_id, nights)
  select p_tenant_id, p.unit_id, p.reservation_id, p.other_id, p.nights from pairs p
  where not exists (select 1 from hotels.booking_conflicts c
                    where c.accommodation_unit_id = p.unit_id and c.reservation_id = p.reservation_id
                      and c.other_reservation_id = p.other_id and c.resolved_at is null)
  on conflict do nothing;

  -- 3. Unit statuses by the rule; the changes are recorded and returned.
  return query
  with u as (
    select x.id, x.room_status, x.room_status_reason, x.room_status_at, x.housekeeping, x.housekeeping_at
    from hotels.accommodation_units x
    where x.tenant_id = p_tenant_id and (p_status_unit_ids is null or x.id = any (p_status_unit_ids))
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


-- The five-argument form (operator actions, the reconciler): the statuses of the same units.
create or replace function sync.refresh_room_status(p_tenant_id uuid, p_unit_ids uuid[], p_reservation_ids uuid[],
  p_now timestamptz, p_cause text)
returns table (unit_id uuid, from_status text, to_status text, reason text, cause text)
language sql volatile set search_path = '' as $$
  select * from sync.refresh_room_status(p_tenant_id, p_unit_ids, p_reservation_ids, p_now, p_cause, p_unit_ids)
$$;

-- Whether a stay on a unit can change that unit's status now or at the unit's last computation.
create function sync.stay_moves_status(p_check_in date, p_check_out date, p_state text, p_hold_departure boolean,
  p_now timestamptz, p_status_at timestamptz)
returns boolean
language sql immutable set search_path = '' as $$
  select p_state = 'in_house' or p_hold_departure
    or (p_check_out >= (least(p_now, p_status_at) at time zone 'UTC')::date - 2
        and p_check_in <= (greatest(p_now, p_status_at) at time zone 'UTC')::date + 2)
$$;

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
    from new_rows n join hotels.accommodation_units u on u.id = n.accommodation_unit_id
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
    from old_rows o join hotels.accommodation_units u on u.id = o.accommodation_unit_id
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
    from changed c join hotels.accommodation_units u on u.id = c.accommodation_unit_id
    group by c.tenant_id order by c.tenant_id
  loop
    perform sync.refresh_room_status(t.tenant_id, t.units, t.reservations, v_now, sync.room_status_cause(), t.status_units);
  end loop;
  return null;
end $$;

-- A reservation whose status, dates, times, removal or guest changed: its stays' units, for their
-- status when the old or the new dates reach the status window.
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
  update public.reservation_accommodations ra set check_in_date = n.check_in_date, check_out_date = n.check_out_date
  from new_rows n
  where ra.reservation_id = n.id and (ra.check_in_date, ra.check_out_date) is distinct from (n.check_in_date, n.check_out_date);
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
    join public.reservation_accommodations ra on ra.reservation_id = n.id
    join hotels.accommodation_units u on u.id = ra.accommodation_unit_id
    where (n.status, n.check_in_date, n.check_out_date, n.check_in_time, n.check_out_time, n.removed_upstream_at, n.guest_name)
          is distinct from
          (o.status, o.check_in_date, o.check_out_date, o.check_in_time, o.check_out_time, o.removed_upstream_at, o.guest_name)
    group by n.tenant_id order by n.tenant_id
  loop
    perform sync.refresh_room_status(t.tenant_id, t.units, t.reservations, v_now, sync.room_status_cause(), t.status_units);
  end loop;
  return null;
end $$;

revoke all on function sync.refresh_room_status(uuid, uuid[], uuid[], timestamptz, text, uuid[]),
  sync.stay_moves_status(date, date, text, boolean, timestamptz, timestamptz)
  from public, anon, authenticated;
grant execute on function sync.refresh_room_status(uuid, uuid[], uuid[], timestamptz, text, uuid[]),
  sync.stay_moves_status(date, date, text, boolean, timestamptz, timestamptz)
  to service_role;
