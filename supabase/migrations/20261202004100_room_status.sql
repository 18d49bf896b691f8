-- Room status (contract §6, seed incident 3): a unit's status is DERIVED from stored dimensions
-- (its stays, its housekeeping condition, its blocks) by one rule, sync.derive_room_status, and is
-- recomputed in the same transaction as every write that changes a stay (statement triggers below),
-- by operator actions, and by a reconciliation every 5 minutes that records what it fixed.
--
-- Concurrency: every recomputation of a tenant's units first takes that tenant's transaction-level
-- advisory lock and only then reads (a new snapshot), so the last writer to commit always computed
-- from every stay committed before it: no committed unit status contradicts the committed stays.

-- The unit's stored dimensions and its derived status.
alter table hotels.accommodation_units
  add column room_status text not null default 'available'
    check (room_status in ('out_of_service', 'occupied', 'dirty', 'reserved', 'available')),
  add column room_status_reason text not null default 'Available: no guest in house, no arrival today, clean.',
  -- When the status was last computed from data that changed (or when it changed).
  add column room_status_at timestamptz not null default now(),
  add column housekeeping text not null default 'clean' check (housekeeping in ('clean', 'dirty', 'inspected')),
  -- When the condition was last set; a departure after it makes the unit dirty.
  add column housekeeping_at timestamptz not null default now();

-- A stay is one booked room. Check-in and check-out come from an operator or, failing that, from
-- the time rule; an undone check-in (check-out) holds the time rule off until an operator acts.
alter table public.reservation_accommodations
  add column stay_state text not null default 'expected'
    check (stay_state in ('expected', 'in_house', 'departed', 'cancelled')),
  add column checked_in_at timestamptz,
  add column checked_in_by text,
  add column checked_out_at timestamptz,
  add column checked_out_by text,
  add column hold_arrival boolean not null default false,
  add column hold_departure boolean not null default false,
  -- The booking's dates (MotoPress has one range per booking), so that the stays around a day are
  -- an index range per unit (or per tenant) that does not grow with a hotel's history: lookups
  -- through the reservations grew with the table during a first import (docs/BENCHMARKS.md, figure 9).
  add column check_in_date date,
  add column check_out_date date;

update public.reservation_accommodations ra set check_in_date = r.check_in_date, check_out_date = r.check_out_date
from public.guest_reservations r where r.id = ra.reservation_id;

create index reservation_accommodations_unit_dates_idx
  on public.reservation_accommodations (accommodation_unit_id, check_out_date, check_in_date);
create index reservation_accommodations_tenant_dates_idx
  on public.reservation_accommodations (tenant_id, check_out_date, check_in_date);
create index reservation_accommodations_held_idx
  on public.reservation_accommodations (accommodation_unit_id) where hold_departure;
-- In-house stays of a tenant, found without scanning its history.
create index reservation_accommodations_in_house_idx
  on public.reservation_accommodations (tenant_id) where stay_state = 'in_house' or hold_departure;

create table hotels.unit_blocks (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenant_registry (tenant_id) on delete cascade,
  accommodation_unit_id uuid not null,
  kind text not null check (kind in ('out_of_service', 'out_of_order')),
  starts_on date not null,
  ends_on date not null, -- exclusive
  reason text not null check (length(btrim(reason)) between 1 and 500),
  created_by text not null,
  created_at timestamptz not null default now(),
  -- Set when an operator forced the block over an in-house stay or today's arrival.
  forced boolean not null default false,
  ended_at timestamptz,
  ended_by text,
  check (ends_on > starts_on),
  foreign key (tenant_id, accommodation_unit_id) references hotels.accommodation_units (tenant_id, id) on delete cascade
);
create index unit_blocks_unit_idx on hotels.unit_blocks (accommodation_unit_id) where ended_at is null;
alter table hotels.unit_blocks enable row level security;

create table hotels.room_status_changes (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references public.tenant_registry (tenant_id) on delete cascade,
  accommodation_unit_id uuid not null,
  from_status text not null,
  to_status text not null,
  reason text not null,
  cause text not null check (cause in ('sync', 'schedule', 'operator', 'drift')),
  created_at timestamptz not null default now(),
  foreign key (tenant_id, accommodation_unit_id) references hotels.accommodation_units (tenant_id, id) on delete cascade
);
create index room_status_changes_tenant_idx on hotels.room_status_changes (tenant_id, created_at desc);
create index room_status_changes_unit_idx on hotels.room_status_changes (accommodation_unit_id, created_at desc);
alter table hotels.room_status_changes enable row level security;

-- Two active stays of different reservations on one unit whose nights overlap: shown, never
-- rejected (MotoPress is the truth about bookings). reservation_id < other_reservation_id.
create table hotels.booking_conflicts (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenant_registry (tenant_id) on delete cascade,
  accommodation_unit_id uuid not null,
  reservation_id uuid not null,
  other_reservation_id uuid not null,
  nights daterange not null,
  detected_at timestamptz not null default now(),
  resolved_at timestamptz,
  check (reservation_id < other_reservation_id),
  foreign key (tenant_id, accommodation_unit_id) references hotels.accommodation_units (tenant_id, id) on delete cascade,
  foreign key (tenant_id, reservation_id) references public.guest_reservations (tenant_id, id) on delete cascade,
  foreign key (tenant_id, other_reservation_id) references public.guest_reservations (tenant_id, id) on delete cascade
);
create unique index booking_conflicts_open_idx on hotels.booking_conflicts (accommodation_unit_id, reservation_id, other_reservation_id)
  where resolved_at is null;
create index booking_conflicts_tenant_idx on hotels.booking_conflicts (tenant_id) where resolved_at is null;
create index booking_conflicts_other_idx on hotels.booking_conflicts (tenant_id, other_reservation_id);
alter table hotels.booking_conflicts enable row level security;

-- Every operator action, with who did it and when (refused ones are not written: nothing is).
create table hotels.room_status_actions (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references public.tenant_registry (tenant_id) on delete cascade,
  action text not null,
  accommodation_unit_id uuid,
  reservation_id uuid,
  block_id uuid,
  details jsonb not null default '{}',
  forced boolean not null default false,
  actor text not null,
  created_at timestamptz not null default now()
);
create index room_status_actions_tenant_idx on hotels.room_status_actions (tenant_id, created_at desc);
alter table hotels.room_status_actions enable row level security;

-- THE RULE. Each argument is a dimension: NULL when absent, else a phrase saying why it holds.
-- Precedence: out_of_service > occupied > dirty > reserved > available. The TypeScript statement of
-- the same table (supabase/functions/_shared/rooms/rule.ts) is tested against it row by row.
create type sync.room_status_result as (status text, reason text);

create function sync.derive_room_status(p_block text, p_in_house text, p_dirty text, p_arrival text)
returns sync.room_status_result
language sql immutable parallel safe set search_path = '' as $$
  select case when p_block is not null then 'out_of_service' when p_in_house is not null then 'occupied'
              when p_dirty is not null then 'dirty' when p_arrival is not null then 'reserved' else 'available' end,
         case when p_block is not null then 'Out of service: ' || p_block
              when p_in_house is not null then 'Occupied: ' || p_in_house
              when p_dirty is not null then 'Dirty: ' || p_dirty
              when p_arrival is not null then 'Reserved: ' || p_arrival
              else 'Available: no guest in house, no arrival today, clean.' end
$$;

-- A local date and wall-clock time in an IANA zone, as an instant (DST-aware: 15:00 is 15:00 local
-- on both sides of a change).
create function sync.local_moment(p_date date, p_time time, p_tz text)
returns timestamptz
language sql stable parallel safe set search_path = '' as $$
  select (p_date + p_time) at time zone p_tz
$$;

-- A stay's state. Active bookings (confirmed and the pending statuses, which lock the room in
-- MotoPress) are expected, then in house from check-in (operator, or the arrival moment unless an
-- undo holds it), then departed from check-out (operator, or the departure moment unless held).
create function sync.stay_state(p_status text, p_removed boolean, p_arrival_at timestamptz, p_departure_at timestamptz,
  p_checked_in_at timestamptz, p_checked_out_at timestamptz, p_hold_arrival boolean, p_hold_departure boolean,
  p_now timestamptz)
returns text
language sql immutable parallel safe set search_path = '' as $$
  select case
    when p_removed or p_status is null or p_status not in ('confirmed', 'pending', 'pending-user', 'pending-payment')
      then 'cancelled'
    when p_checked_in_at is null and (p_hold_arrival or p_now < p_arrival_at) then 'expected'
    when p_checked_out_at is not null or (not p_hold_departure and p_now >= p_departure_at) then 'departed'
    else 'in_house'
  end
$$;

-- The hotel's defaults when a booking carries no check-in/out time.
create function sync.default_check_in_time() returns time language sql immutable set search_path = '' as $$ select time '15:00' $$;
create function sync.default_check_out_time() returns time language sql immutable set search_path = '' as $$ select time '11:00' $$;

-- The tenant's zone; an unknown zone name falls back to UTC rather than failing a sync page.
create function sync.tenant_zone(p_tenant_id uuid)
returns text
language plpgsql stable set search_path = '' as $$
declare
  v_tz text;
begin
  select t.timezone into v_tz from public.tenant_registry t where t.tenant_id = p_tenant_id;
  begin
    perform now() at time zone v_tz;
  exception when others then
    v_tz := 'UTC';
  end;
  return coalesce(v_tz, 'UTC');
end $$;

-- The four dimensions of one unit at p_now, from the stays that can matter then (arriving, in house
-- or departed around that day, or held in house by an undone check-out).
create function sync.unit_dimensions(p_unit_id uuid, p_tz text, p_now timestamptz, p_housekeeping text,
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
    where ra.id in (
      -- Around that day, by the stay's own dates (an index range that does not grow with history),
      -- and stays held in house by an undone check-out.
      select s.id from public.reservation_accommodations s
      where s.accommodation_unit_id = p_unit_id and s.check_out_date >= day.today - 1 and s.check_in_date <= day.today + 1
      union all
      select s.id from public.reservation_accommodations s
      where s.accommodation_unit_id = p_unit_id and s.hold_departure
        and not (s.check_out_date >= day.today - 1 and s.check_in_date <= day.today + 1))
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

-- The clock and the cause the statement triggers use: the transaction's time and `sync`, unless the
-- transaction set `sync.room_status_now` (tests inject time) or `sync.room_status_cause` (operator).
create function sync.room_status_now() returns timestamptz
language sql stable set search_path = '' as $$
  select coalesce(nullif(current_setting('sync.room_status_now', true), '')::timestamptz, now())
$$;
create function sync.room_status_cause() returns text
language sql stable set search_path = '' as $$
  select coalesce(nullif(current_setting('sync.room_status_cause', true), ''), 'sync')
$$;

-- Serializes every recomputation of one tenant's room status (released at commit).
create function sync.lock_room_status(p_tenant_id uuid) returns void
language sql volatile set search_path = '' as $$
  select pg_advisory_xact_lock(1919246707, hashtext(p_tenant_id::text))
$$;

-- Recomputes stays, conflicts and unit statuses of one tenant: the units p_unit_ids (all when NULL)
-- and the stays of p_reservation_ids. With p_cause (a writer: sync, operator) every unit in scope
-- is stamped; without (the reconciler) only units whose stored status differs are written, each
-- change classified: `drift` when the stored status was never what the data gave at the time it
-- was computed (a manual edit, a bug), `schedule` when only time passing changed it.
-- Returns the status changes.
create function sync.refresh_room_status(p_tenant_id uuid, p_unit_ids uuid[], p_reservation_ids uuid[],
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
    -- Stays around today, by the stays' own dates (index ranges that do not grow with history).
    select ra.id from public.reservation_accommodations ra
    where p_unit_ids is not null and ra.accommodation_unit_id = any (p_unit_ids)
      and ra.check_out_date >= v_today - 1 and ra.check_in_date <= v_today + 1
    union
    select ra.id from public.reservation_accommodations ra
    where p_unit_ids is null and ra.tenant_id = p_tenant_id
      and ra.check_out_date >= v_today - 1 and ra.check_in_date <= v_today + 1
    union
    select ra.id from public.reservation_accommodations ra
    where ra.tenant_id = p_tenant_id and (ra.stay_state = 'in_house' or ra.hold_departure)
      and (p_unit_ids is null or ra.accommodation_unit_id = any (p_unit_ids))
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
    where x.tenant_id = p_tenant_id and (p_unit_ids is null or x.id = any (p_unit_ids))
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

-- The statement triggers: every write that changes a stay (a sync page, a repair, a removal, an
-- operator action) recomputes the affected units inside the writing statement, once per statement.
-- A transition table exists only for its event, so each event has its own function.
create function sync.room_status_after_stay_insert() returns trigger
language plpgsql set search_path = '' as $$
declare
  t record;
begin
  for t in
    select n.tenant_id, array_agg(distinct n.accommodation_unit_id) as units, array_agg(distinct n.reservation_id) as reservations
    from new_rows n group by n.tenant_id order by n.tenant_id
  loop
    perform sync.refresh_room_status(t.tenant_id, t.units, t.reservations, sync.room_status_now(), sync.room_status_cause());
  end loop;
  return null;
end $$;

create function sync.room_status_after_stay_delete() returns trigger
language plpgsql set search_path = '' as $$
declare
  t record;
begin
  for t in
    select o.tenant_id, array_agg(distinct o.accommodation_unit_id) as units
    from old_rows o group by o.tenant_id order by o.tenant_id
  loop
    perform sync.refresh_room_status(t.tenant_id, t.units, null, sync.room_status_now(), sync.room_status_cause());
  end loop;
  return null;
end $$;

create function sync.room_status_after_stay_update() returns trigger
language plpgsql set search_path = '' as $$
declare
  t record;
begin
  if current_setting('sync.room_status_refreshing', true) = 'on' then
    return null; -- the refresh's own stay_state writes
  end if;
  for t in
    with changed as (
      select n.tenant_id, n.accommodation_unit_id, n.reservation_id from new_rows n
      union all
      select o.tenant_id, o.accommodation_unit_id, o.reservation_id from old_rows o
    )
    select c.tenant_id, array_agg(distinct c.accommodation_unit_id) as units, array_agg(distinct c.reservation_id) as reservations
    from changed c group by c.tenant_id order by c.tenant_id
  loop
    perform sync.refresh_room_status(t.tenant_id, t.units, t.reservations, sync.room_status_now(), sync.room_status_cause());
  end loop;
  return null;
end $$;

-- A reservation whose status, dates, times, removal or guest changed: its stays' units.
create function sync.room_status_after_reservation_update() returns trigger
language plpgsql set search_path = '' as $$
declare
  t record;
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
    select n.tenant_id, array_agg(distinct ra.accommodation_unit_id) as units, array_agg(distinct n.id) as reservations
    from new_rows n
    join old_rows o on o.id = n.id
    join public.reservation_accommodations ra on ra.reservation_id = n.id
    where (n.status, n.check_in_date, n.check_out_date, n.check_in_time, n.check_out_time, n.removed_upstream_at, n.guest_name)
          is distinct from
          (o.status, o.check_in_date, o.check_out_date, o.check_in_time, o.check_out_time, o.removed_upstream_at, o.guest_name)
    group by n.tenant_id order by n.tenant_id
  loop
    perform sync.refresh_room_status(t.tenant_id, t.units, t.reservations, sync.room_status_now(), sync.room_status_cause());
  end loop;
  return null;
end $$;

-- A new stay takes its booking's dates (the reservation is written first, in the same page).
create function sync.stay_dates_from_reservation() returns trigger
language plpgsql set search_path = '' as $$
begin
  select r.check_in_date, r.check_out_date into new.check_in_date, new.check_out_date
  from public.guest_reservations r where r.id = new.reservation_id;
  return new;
end $$;
create trigger stay_dates before insert on public.reservation_accommodations
  for each row execute function sync.stay_dates_from_reservation();

create trigger room_status_stays_insert after insert on public.reservation_accommodations
  referencing new table as new_rows for each statement execute function sync.room_status_after_stay_insert();
create trigger room_status_stays_update after update on public.reservation_accommodations
  referencing old table as old_rows new table as new_rows for each statement execute function sync.room_status_after_stay_update();
create trigger room_status_stays_delete after delete on public.reservation_accommodations
  referencing old table as old_rows for each statement execute function sync.room_status_after_stay_delete();
create trigger room_status_reservations_update after update on public.guest_reservations
  referencing old table as old_rows new table as new_rows for each statement execute function sync.room_status_after_reservation_update();

-- The reconciliation: every unit of one tenant, or of every active tenant, at p_now. Writes only
-- units whose stored status differs and records each change. A tenant with no units is a no-op.
create function sync.reconcile_room_status(p_tenant_id uuid default null, p_now timestamptz default now())
returns jsonb
language plpgsql volatile set search_path = '' as $$
declare
  v_checked integer := 0;
  v_changes jsonb := '[]'::jsonb;
  t record;
begin
  for t in
    select x.tenant_id from public.tenant_registry x
    where (p_tenant_id is null and x.is_active) or x.tenant_id = p_tenant_id
    order by x.tenant_id
  loop
    select v_checked + count(*) into v_checked from hotels.accommodation_units u where u.tenant_id = t.tenant_id;
    select v_changes || coalesce(jsonb_agg(jsonb_build_object('tenantId', t.tenant_id, 'unitId', c.unit_id,
             'from', c.from_status, 'to', c.to_status, 'reason', c.reason, 'cause', c.cause)), '[]'::jsonb)
      into v_changes
    from sync.refresh_room_status(t.tenant_id, null, null, p_now, null) c;
  end loop;
  return jsonb_build_object('checked', v_checked, 'changed', jsonb_array_length(v_changes), 'changes', v_changes);
end $$;

-- Units whose stored status is not what the rule gives from the stored data at the time it was
-- computed: must be empty in every snapshot (tests and the health report read it).
create function sync.room_status_unexplained(p_tenant_id uuid)
returns table (unit_id uuid, stored text, derived text)
language sql stable set search_path = '' as $$
  select u.id, u.room_status, r.status
  from hotels.accommodation_units u
  cross join lateral sync.unit_dimensions(u.id, sync.tenant_zone(u.tenant_id), u.room_status_at, u.housekeeping,
                                          u.housekeeping_at) d
  cross join lateral sync.derive_room_status(d.block, d.in_house, d.dirty, d.arrival) r
  where u.tenant_id = p_tenant_id and (r.status is distinct from u.room_status or r.reason is distinct from u.room_status_reason)
$$;

-- The guest chat's read: per reservation and booked unit, the stay, the unit's status and whether
-- the room is ready for this guest now (in house already, or expected and the room is free and
-- clean: available or reserved).
create view public.reservation_room_status with (security_invoker = true) as
  select r.tenant_id, r.id as reservation_id, r.external_booking_id, ra.position, ra.accommodation_unit_id,
    u.name as unit_name, ra.stay_state, u.room_status, u.room_status_reason, u.housekeeping,
    (ra.stay_state = 'in_house' or (ra.stay_state = 'expected' and u.room_status in ('available', 'reserved'))) as ready
  from public.guest_reservations r
  join public.reservation_accommodations ra on ra.reservation_id = r.id
  join hotels.accommodation_units u on u.id = ra.accommodation_unit_id;

-- Grants, as 20261202001000_hosted_grants.sql sets them for every product table: service_role
-- reads (the guest chat, the console's readers); writes go through the functions, which connect as
-- the owner. Nothing for anon/authenticated.
revoke all on hotels.unit_blocks, hotels.room_status_changes, hotels.booking_conflicts, hotels.room_status_actions,
  public.reservation_room_status from public, anon, authenticated;
revoke insert, update, delete, truncate, references, trigger
  on hotels.unit_blocks, hotels.room_status_changes, hotels.booking_conflicts, hotels.room_status_actions
  from service_role;
grant select on hotels.unit_blocks, hotels.room_status_changes, hotels.booking_conflicts, hotels.room_status_actions,
  public.reservation_room_status to service_role;
revoke all on function sync.derive_room_status(text, text, text, text), sync.local_moment(date, time, text),
  sync.stay_state(text, boolean, timestamptz, timestamptz, timestamptz, timestamptz, boolean, boolean, timestamptz),
  sync.default_check_in_time(), sync.default_check_out_time(), sync.tenant_zone(uuid),
  sync.unit_dimensions(uuid, text, timestamptz, text, timestamptz), sync.room_status_now(), sync.room_status_cause(),
  sync.lock_room_status(uuid), sync.refresh_room_status(uuid, uuid[], uuid[], timestamptz, text),
  sync.room_status_after_stay_insert(), sync.room_status_after_stay_update(), sync.room_status_after_stay_delete(),
  sync.room_status_after_reservation_update(), sync.reconcile_room_status(uuid, timestamptz),
  sync.room_status_unexplained(uuid), sync.stay_dates_from_reservation()
  from public, anon, authenticated;
grant execute on function sync.derive_room_status(text, text, text, text), sync.local_moment(date, time, text),
  sync.stay_state(text, boolean, timestamptz, timestamptz, timestamptz, timestamptz, boolean, boolean, timestamptz),
  sync.default_check_in_time(), sync.default_check_out_time(), sync.tenant_zone(uuid),
  sync.unit_dimensions(uuid, text, timestamptz, text, timestamptz), sync.room_status_now(), sync.room_status_cause(),
  sync.lock_room_status(uuid), sync.refresh_room_status(uuid, uuid[], uuid[], timestamptz, text),
  sync.room_status_after_stay_insert(), sync.room_status_after_stay_update(), sync.room_status_after_stay_delete(),
  sync.room_status_after_reservation_update(), sync.reconcile_room_status(uuid, timestamptz),
  sync.room_status_unexplained(uuid), sync.stay_dates_from_reservation()
  to service_role;
grant usage on type sync.room_status_result to service_role;

-- Existing data: stays and statuses computed once (recorded as `sync`).
do $fill$
declare
  t record;
begin
  for t in select tenant_id from public.tenant_registry order by tenant_id loop
    perform sync.refresh_room_status(t.tenant_id, null,
      array(select ra.reservation_id from public.reservation_accommodations ra where ra.tenant_id = t.tenant_id),
      now(), 'sync');
  end loop;
end
$fill$;

-- The 5-minute reconciliation, only where pg_cron can run it (as the schedule migration decides:
-- pg_cron present means it was enabled there). Plain SQL: no HTTP, no secret needed.
do $schedule$
begin
  if not exists (select 1 from pg_extension where extname = 'pg_cron') then
    raise notice 'room status: pg_cron is not available - the 5-minute reconciliation is not scheduled; sync.reconcile_room_status() runs at the start of every sync and from the room-status function.';
    return;
  end if;
  perform cron.unschedule(j.jobid) from cron.job j where j.jobname = 'motopress-room-status-reconcile';
  perform cron.schedule('motopress-room-status-reconcile', '*/5 * * * *', $cmd$select sync.reconcile_room_status()$cmd$);
  raise notice 'room status: motopress-room-status-reconcile (*/5 * * * *) scheduled.';
end
$schedule$;
