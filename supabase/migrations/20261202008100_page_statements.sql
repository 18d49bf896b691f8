-- Issue 13: a bookings page in two statements (plus BEGIN/COMMIT), and an unchanged page in one.
--
-- 1. The run's compare-and-set operations (fence, finish, suspend) as functions beside
--    sync.claim_run, so a page's first statement can carry its fence.
-- 2. Each reservation keeps a hash of the upstream booking it was written from (with the version
--    of our mapping): the page's first statement fences, compares the page's hashes and records
--    the unchanged bookings as seen, so an unchanged page costs one light statement and the
--    function maps nothing.
-- 3. The changed bookings are written by one call (units, reservations, rooms, seen ids,
--    quarantine and the run's counters, in that order, each its own statement with a fresh
--    snapshot inside the function).

alter table public.guest_reservations add column content_hash text;

-- ---------------------------------------------------------------------------------------------
-- The compare-and-set on (id, fencing_token, status = 'running'). The fence locks the run's row
-- (a cancel or a reclaim commits before it, and it answers false, or waits for the page), heartbeats,
-- and records the checkpoint and stats. A new checkpoint is progress: it resets the run's count of
-- attempts that committed nothing, and its parent's (a chain progresses through its children); the
-- parent's row is written only when its count is not already 0, so concurrent children do not queue.
create function sync.fence_run(p_run_id uuid, p_token bigint, p_checkpoint jsonb, p_stats jsonb)
returns boolean
language plpgsql volatile set search_path = '' as $$
declare
  v_parent uuid;
begin
  update public.sync_runs
  set heartbeat_at = now(),
      checkpoint = coalesce(p_checkpoint, checkpoint),
      stats = coalesce(p_stats, stats),
      attempts_without_progress = case when p_checkpoint is null then attempts_without_progress else 0 end
  where id = p_run_id and fencing_token = p_token and status = 'running'
  returning parent_run_id into v_parent;
  if not found then
    return false;
  end if;
  if p_checkpoint is not null and v_parent is not null then
    update public.sync_runs p set attempts_without_progress = 0
    where p.id = v_parent and p.attempts_without_progress <> 0;
  end if;
  return true;
end $$;

-- To a terminal status; a cancelled or reclaimed run is left as it is (no row returned).
create function sync.finish_run(p_run_id uuid, p_token bigint, p_status text, p_stats jsonb,
  p_error_code text, p_error_message text)
returns setof public.sync_runs
language sql volatile set search_path = '' as $$
  update public.sync_runs
  set status = p_status, completed_at = now(), heartbeat_at = now(),
      stats = coalesce(p_stats, stats),
      error_code = case when p_status = 'failed' then coalesce(p_error_code, 'FAILED') end,
      error_message = case when p_status = 'failed' then p_error_message end
  where id = p_run_id and fencing_token = p_token and status = 'running'
  returning *
$$;

-- Checkpoint and hand over to a new invocation: `continuing` keeps the slot.
create function sync.suspend_run(p_run_id uuid, p_token bigint, p_checkpoint jsonb, p_stats jsonb,
  p_interruption text)
returns setof public.sync_runs
language sql volatile set search_path = '' as $$
  update public.sync_runs
  set status = 'continuing', heartbeat_at = now(),
      checkpoint = coalesce(p_checkpoint, checkpoint),
      stats = coalesce(p_stats, stats),
      last_interruption = coalesce(p_interruption, last_interruption)
  where id = p_run_id and fencing_token = p_token and status = 'running'
  returning *
$$;

-- The run's stats with `p_add`'s counts added to its counters under `p_prefix` (the page's own
-- counts, known only once its writes ran).
create function sync.add_counters(p_stats jsonb, p_prefix text, p_add jsonb)
returns jsonb
language sql immutable set search_path = '' as $$
  select jsonb_set(p_stats, '{counters}', coalesce(p_stats -> 'counters', '{}'::jsonb) || coalesce((
    select jsonb_object_agg(p_prefix || a.key,
             coalesce((p_stats -> 'counters' ->> (p_prefix || a.key))::numeric, 0) + a.value::numeric)
    from jsonb_each_text(p_add) a), '{}'::jsonb))
$$;

-- ---------------------------------------------------------------------------------------------
-- Reservations, now with the booking's content hash. A row is written when its values or its
-- hash differ; a hash-only difference (the first sync after this migration, or a field the
-- mapping does not read) keeps updated_at and is not counted as an update: the data did not change.
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
  -- Only changed bookings reach the insert: `on conflict do update` locks (and so writes) every row
  -- it meets, so unchanged rows must not meet it at all.
  changed as (
    select i.* from input i
    where not exists (
      select 1 from public.guest_reservations r
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
             i.children, i.total_price, i.currency, i.ical_prodid, i.ical_summary, i.ical_description, i.booked_at))
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

-- A page's first statement: the fence (unless p_token is null: the caller fenced already), then the
-- page's bookings whose hash equals their reservation's, which are recorded as seen. A booking is
-- unchanged only when its reservation is live and it has no open quarantine (one that was
-- quarantined and is valid again must be processed to resolve it). With p_stats, an unchanged page
-- also records the run's stats here. Returns whether the run is still ours and the ids to process.
create function sync.bookings_page_unchanged(p_tenant_id uuid, p_run_id uuid, p_token bigint, p_checkpoint jsonb,
  p_ids integer[], p_hashes text[], p_stats jsonb)
returns table (owned boolean, changed integer[])
language plpgsql volatile set search_path = '' as $$
declare
  v_same integer[];
  v_changed integer[];
begin
  if p_token is not null and not sync.fence_run(p_run_id, p_token, p_checkpoint, null) then
    return query select false, null::integer[];
    return;
  end if;
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
                        and q.resolved_at is null)
    limit 1) s on i.hash is not null;
  if cardinality(v_same) > 0 then
    perform sync.mark_seen(p_run_id, 'booking', v_same);
  end if;
  if cardinality(v_changed) = 0 and p_stats is not null then
    update public.sync_runs set stats = p_stats where id = p_run_id;
  end if;
  return query select true, v_changed;
end $$;

-- The changed bookings of a page: units they name, reservations, rooms (whose triggers keep the
-- room status), the seen ids, quarantine, and, with p_stats, the run's counters with this page's
-- counts added (under `booking.`). Each step is its own statement, so each sees the rows the one
-- before it wrote (a reservation needs its unit, a room its reservation).
create function sync.write_bookings_page(p_tenant_id uuid, p_run_id uuid, p_reservations jsonb, p_rooms jsonb,
  p_seen integer[], p_valid text[], p_quarantine jsonb, p_stats jsonb)
returns table (types_created integer, units_created integer, inserted integer, updated integer,
  rooms_written integer, rooms_removed integer, quarantined integer, resolved integer)
language plpgsql volatile set search_path = '' as $$
begin
  types_created := 0; units_created := 0; inserted := 0; updated := 0; rooms_written := 0; rooms_removed := 0;
  if jsonb_array_length(p_reservations) > 0 then
    select u.types_created, u.units_created into types_created, units_created
    from sync.resolve_booked_units(p_tenant_id, p_rooms) u;
    select r.inserted, r.updated into inserted, updated from sync.upsert_reservations(p_tenant_id, p_reservations) r;
    select j.written, j.removed into rooms_written, rooms_removed from sync.upsert_reservation_rooms(p_tenant_id, p_rooms) j;
  end if;
  perform sync.mark_seen(p_run_id, 'booking', p_seen);
  select q.quarantined, q.resolved into quarantined, resolved
  from sync.quarantine(p_tenant_id, p_run_id, 'booking', p_quarantine, p_valid) q;
  if p_stats is not null then
    update public.sync_runs set stats = sync.add_counters(p_stats, 'booking.', jsonb_build_object(
      'typesAutoCreated', types_created, 'unitsAutoCreated', units_created, 'inserted', inserted,
      'updated', updated, 'roomsWritten', rooms_written, 'roomsRemoved', rooms_removed,
      'quarantined', quarantined, 'quarantineResolved', resolved))
    where id = p_run_id;
  end if;
  return next;
end $$;

revoke all on function sync.fence_run(uuid, bigint, jsonb, jsonb),
  sync.finish_run(uuid, bigint, text, jsonb, text, text), sync.suspend_run(uuid, bigint, jsonb, jsonb, text),
  sync.add_counters(jsonb, text, jsonb), sync.upsert_reservations(uuid, jsonb),
  sync.bookings_page_unchanged(uuid, uuid, bigint, jsonb, integer[], text[], jsonb),
  sync.write_bookings_page(uuid, uuid, jsonb, jsonb, integer[], text[], jsonb, jsonb)
  from public, anon, authenticated;
grant execute on function sync.fence_run(uuid, bigint, jsonb, jsonb),
  sync.finish_run(uuid, bigint, text, jsonb, text, text), sync.suspend_run(uuid, bigint, jsonb, jsonb, text),
  sync.add_counters(jsonb, text, jsonb), sync.upsert_reservations(uuid, jsonb),
  sync.bookings_page_unchanged(uuid, uuid, bigint, jsonb, integer[], text[], jsonb),
  sync.write_bookings_page(uuid, uuid, jsonb, jsonb, integer[], text[], jsonb, jsonb)
  to service_role;
