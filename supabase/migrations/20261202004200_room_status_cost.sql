-- Room status, cheaper per sync page (bench figure 8 measured the first version growing with the
-- table): a by-unit index for the per-unit lookups, primary-key lookups the generic plans cannot
-- turn into hashes of every reservation, and overlap detection that starts from the written stays
-- instead of pairing every future stay of every unit in scope.
create index if not exists reservation_accommodations_by_unit_idx
  on public.reservation_accommodations (accommodation_unit_id);

create or replace function sync.unit_dimensions(p_unit_id uuid, p_tz text, p_now timestamptz, p_housekeeping text,
  p_housekeeping_at timestamptz)
returns table (block text, in_house text, dirty text, dirty_at timestamptz, arrival text)
language sql stable set search_path = '' as $$
  with day as (select (p_now at time zone p_tz)::date as today),
  stays as (
    select r.external_booking_id, r.guest_name, r.check_in_date, r.check_out_date,
      sync.stay_state(r.status, r.removed_upstream_at is not null,
        sync.local_moment(r.check_in_date, coalesce(r.check_in_time, sync.default_check_in_time()), p_tz),
        sync.local_moment(r.check_out_date, coalesce(r.check_out_time, sync.default_check_out_time()), p_tz),
        ra.checked_in_at, ra.checked_out_at, ra.hold_arrival, ra.hold_departure, p_now) as state,
      coalesce(ra.checked_out_at,
        sync.local_moment(r.check_out_date, coalesce(r.check_out_time, sync.default_check_out_time()), p_tz)) as departed_at
    from day, public.reservation_accommodations ra
    -- OFFSET 0 keeps this a per-stay primary-key lookup: the function's generic plan otherwise
    -- hashes every reservation of every tenant once per unit.
    cross join lateral (select g.* from public.guest_reservations g where g.id = ra.reservation_id offset 0) r
    where ra.accommodation_unit_id = p_unit_id
      and ((r.check_in_date <= day.today + 1 and r.check_out_date >= day.today - 1) or ra.hold_departure)
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

-- Same contract as in 20261202004100_room_status.sql; step 2 (overbookings) starts from the written stays.
create or replace function sync.refresh_room_status(p_tenant_id uuid, p_unit_ids uuid[], p_reservation_ids uuid[],
  p_now timestamptz, p_cause text)
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
    select ra.id from public.reservation_accommodations ra
    join public.guest_reservations r on r.id = ra.reservation_id
    where ra.tenant_id = p_tenant_id and (p_unit_ids is null or ra.accommodation_unit_id = any (p_unit_ids))
      and ((r.check_in_date <= v_today + 1 and r.check_out_date >= v_today - 1) or ra.hold_departure
           or ra.stay_state = 'in_house')
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
      select ra.reservation_id, daterange(g.check_in_date, g.check_out_date) as nights
      from public.reservation_accommodations ra
      cross join lateral (select x.check_in_date, x.check_out_date from public.guest_reservations x
                          where x.id = ra.reservation_id offset 0) g
      where ra.accommodation_unit_id = m.unit_id and ra.reservation_id <> m.reservation_id
        and ra.stay_state <> 'cancelled' and g.check_out_date > g.check_in_date
        and daterange(g.check_in_date, g.check_out_date) && m.nights
    ) o
  ),
  pairs as (
    select distinct on (unit_id, reservation_id, other_id) * from hits order by unit_id, reservation_id, other_id
  ),
  resolved as (
    update hotels.booking_conflicts c set resolved_at = now()
    where c.tenant_id = p_tenant_id and c.resolved_at is null and c.accommodation_unit_id in (select id from units)
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
    where x.tenant_id = p_tenant_id and (p_unit_ids is null or x.id = any (p_unit_ids))
  ),
  d as materialized (
    select u.*, r.status as new_status, r.reason as new_reason,
      case when dim.dirty_at is not null then 'dirty' else u.housekeeping end as new_housekeeping,
      coalesce(dim.dirty_at, u.housekeeping_at) as new_housekeeping_at,
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
