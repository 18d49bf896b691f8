-- Issue 10: the all-tenants run spread over invocations (one tenant's chain per invocation, at most
-- SYNC_TENANT_CONCURRENCY at once, bounded here under the parent's row lock), children that belong
-- to their chain, lock waits that never hang behind a stalled page, and the room-type collision
-- between concurrent runs of one tenant made impossible.
--
-- Redefines sync.claim_run and sync.reap_and_resume_runs (issue 9's, from its
-- 20261202003100_resume_killed_runs.sql), sync.resolve_booked_units and sync.cancel_runs (issue
-- 10's), each from its latest text.

-- ---------------------------------------------------------------- the fan-out's queue

-- One row per tenant of an all-tenants run. A tenant is queued until a slot frees; it is then
-- started (chain_run_id set) or skipped (outcome set: its own chain was already active).
create table sync.fanout_tenants (
  parent_run_id uuid not null references public.sync_runs (id) on delete cascade,
  tenant_id uuid not null references public.tenant_registry (tenant_id) on delete cascade,
  position integer not null,
  chain_run_id uuid references public.sync_runs (id) on delete set null,
  skipped_code text,
  skipped_message text,
  primary key (parent_run_id, tenant_id)
);
create index fanout_tenants_queued on sync.fanout_tenants (parent_run_id, position)
  where chain_run_id is null and skipped_code is null;
revoke all on sync.fanout_tenants from public, anon, authenticated;
grant select, insert, update on sync.fanout_tenants to service_role;

-- A fan-out parent waits on its children in `continuing` (no isolate holds it); the last child's
-- end completes it there, in SQL.
insert into public.sync_run_transitions (from_status, to_status) values ('continuing', 'completed')
on conflict do nothing;

-- A child belongs to its chain while the chain is active: only the chain resumes it.
create function sync.parent_active(p_parent_run_id uuid) returns boolean
language sql stable set search_path = '' as $$
  select p_parent_run_id is not null and exists (
    select 1 from public.sync_runs p where p.id = p_parent_run_id and p.status in ('running', 'continuing'))
$$;

-- Records the tenants of an all-tenants run (every active tenant, by slug). Called in the parent's
-- fenced transaction, so a cancelled parent enqueues nothing. Returns how many.
create function sync.enqueue_fanout(p_parent_run_id uuid) returns integer
language sql set search_path = '' as $$
  with q as (
    insert into sync.fanout_tenants (parent_run_id, tenant_id, position)
    select p_parent_run_id, t.tenant_id, row_number() over (order by t.slug)
    from public.tenant_registry t where t.is_active
    on conflict do nothing
    returning 1
  )
  select count(*)::integer from q
$$;

-- Starts queued tenants while fewer than p_concurrency of the parent's chains are active, and
-- completes the parent when nothing is queued or active. Anyone may call it at any time (the
-- parent's invocation, a chain that just ended, the reaper): the parent's row lock serialises them,
-- so the bound holds whoever calls, and the last caller after the last chain's end finishes the
-- parent. A started chain is born `continuing`: its own invocation ({"runId"}) takes it over,
-- and if that call is lost the reaper re-invokes it after its lease.
-- Returns ('start', chain run id) per chain to invoke, and ('finished', parent id) when done.
create function sync.advance_fanout(p_parent_run_id uuid, p_concurrency integer)
returns table (action text, run_id uuid)
language plpgsql set search_path = '' set lock_timeout = '10s' as $$
declare
  v_parent public.sync_runs;
  v_active integer;
  v_run uuid;
  v_holder public.sync_runs;
  q record;
  v_tenants jsonb;
  v_failed integer;
  v_total integer;
  v_message text;
begin
  select * into v_parent from public.sync_runs p where p.id = p_parent_run_id for update;
  if not found or v_parent.status not in ('running', 'continuing') then
    return; -- cancelled or finished: a queued tenant never starts after that
  end if;
  select count(*)::integer into v_active from public.sync_runs c
  where c.parent_run_id = p_parent_run_id and c.status in ('running', 'continuing');

  for q in
    select f.tenant_id from sync.fanout_tenants f
    where f.parent_run_id = p_parent_run_id and f.chain_run_id is null and f.skipped_code is null
    order by f.position
  loop
    exit when v_active >= p_concurrency;
    v_run := null;
    insert into public.sync_runs (tenant_id, source, status, trigger, parent_run_id, lease_seconds)
    values (q.tenant_id, 'sync-command-center', 'continuing', 'parent', p_parent_run_id, v_parent.lease_seconds)
    on conflict (tenant_id, source) where status in ('running', 'continuing') do nothing
    returning id into v_run;
    if v_run is null then
      -- The tenant's own chain (a manual start) holds its slot: that tenant is not synced twice.
      select * into v_holder from public.sync_runs s
      where s.tenant_id = q.tenant_id and s.source = 'sync-command-center' and s.status in ('running', 'continuing');
      update sync.fanout_tenants f
      set skipped_code = 'RUN_IN_PROGRESS',
          skipped_message = format('another chain (%s, started %s) was active', v_holder.id,
                                   to_char(v_holder.started_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
      where f.parent_run_id = p_parent_run_id and f.tenant_id = q.tenant_id;
    else
      update sync.fanout_tenants f set chain_run_id = v_run
      where f.parent_run_id = p_parent_run_id and f.tenant_id = q.tenant_id;
      v_active := v_active + 1;
      return query select 'start'::text, v_run;
    end if;
  end loop;

  -- A sign of life and of progress: the parent's lease runs from the last time its fan-out moved,
  -- and a fan-out that moves is never given up as NO_PROGRESS however many times it is resumed.
  update public.sync_runs p set heartbeat_at = now(), attempts_without_progress = 0 where p.id = p_parent_run_id;

  if v_parent.status <> 'continuing' or v_active > 0 or exists (
    select 1 from sync.fanout_tenants f
    where f.parent_run_id = p_parent_run_id and f.chain_run_id is null and f.skipped_code is null) then
    return; -- the parent's own invocation finishes it when it suspends, or a later chain does
  end if;

  select coalesce(jsonb_agg(jsonb_build_object(
           'tenantId', f.tenant_id, 'slug', t.slug, 'runId', f.chain_run_id,
           'state', case when c.status = 'completed' then 'completed' else 'failed' end,
           'status', coalesce(c.status, 'skipped'),
           'error', case when c.status = 'completed' then null
                         else jsonb_build_object('code', coalesce(c.error_code, f.skipped_code, 'CHILD_LOST'),
                                                 'message', coalesce(c.error_message, f.skipped_message, 'no detail')) end,
           'startedAt', c.started_at, 'completedAt', c.completed_at,
           'durationMs', round(extract(epoch from (c.completed_at - c.started_at)) * 1000),
           'invocations', c.invocations) order by f.position), '[]'::jsonb),
         count(*) filter (where c.status is distinct from 'completed')::integer,
         count(*)::integer,
         left(string_agg(format('%s (%s)', t.slug, coalesce(c.error_message, f.skipped_message, 'no detail')), '; '
                         order by f.position) filter (where c.status is distinct from 'completed'), 4000)
    into v_tenants, v_failed, v_total, v_message
  from sync.fanout_tenants f
  join public.tenant_registry t on t.tenant_id = f.tenant_id
  left join public.sync_runs c on c.id = f.chain_run_id
  where f.parent_run_id = p_parent_run_id;

  update public.sync_runs p
  set status = case when v_failed = 0 then 'completed' else 'failed' end,
      completed_at = now(), heartbeat_at = now(),
      error_code = case when v_failed = 0 then null else 'TENANTS_FAILED' end,
      error_message = case when v_failed = 0 then null
                           else format('%s of %s tenants failed: %s', v_failed, v_total, v_message) end,
      stats = p.stats || jsonb_build_object('tenants', v_tenants, 'tenantCount', v_total,
                                            'completed', v_total - v_failed, 'failed', v_failed)
  where p.id = p_parent_run_id;
  return query select 'finished'::text, p_parent_run_id;
end $$;

-- ---------------------------------------------------------------- claims, reaping, cancel

-- From issue 9's text (20261202003100_resume_killed_runs.sql). New: a holder that is a chain's
-- child while the chain is active is never taken over by another claim (its lease
-- notwithstanding): the claim is `busy`, and the API's 409 names the chain. Lock waits are bounded
-- (a stalled page cannot hold a claim for long).
create or replace function sync.claim_run(
  p_tenant_id uuid, p_source text, p_trigger text, p_parent_run_id uuid, p_lease_seconds integer
) returns table (outcome text, reclaimed_run_id uuid, run public.sync_runs)
language plpgsql set search_path = '' set lock_timeout = '10s' as $$
declare
  v_run public.sync_runs;
  v_holder public.sync_runs;
  v_reclaimed uuid;
begin
  if p_parent_run_id is not null then
    perform 1 from public.sync_runs p where p.id = p_parent_run_id and p.status = 'running' for share;
    if not found then
      return query select 'parent_inactive'::text, null::uuid, null::public.sync_runs;
      return;
    end if;
  end if;
  for attempt in 1..20 loop
    insert into public.sync_runs (tenant_id, source, trigger, parent_run_id, lease_seconds)
    values (p_tenant_id, p_source, p_trigger, p_parent_run_id, p_lease_seconds)
    on conflict (tenant_id, source) where status in ('running', 'continuing') do nothing
    returning * into v_run;
    if found then
      return query select 'claimed'::text, v_reclaimed, v_run;
      return;
    end if;

    -- Lock the holder so that a concurrent claim, cancel or finish serialises behind us.
    select * into v_holder from public.sync_runs s
    where s.tenant_id is not distinct from p_tenant_id and s.source = p_source
      and s.status in ('running', 'continuing')
    for update;
    if not found then
      continue; -- the holder ended between our insert and our select: try again
    end if;

    if not sync.lease_expired(v_holder)
       or (v_holder.parent_run_id is distinct from p_parent_run_id and sync.parent_active(v_holder.parent_run_id)) then
      return query select 'busy'::text, null::uuid, v_holder;
      return;
    end if;

    v_run := sync.take_over_run(v_holder.id);
    if v_run.status = 'running' then
      return query select 'resumed'::text, null::uuid, v_run;
      return;
    end if;
    v_reclaimed := v_holder.id; -- failed (NO_PROGRESS): the slot is free for a new run
  end loop;
  raise exception 'claim_run: the slot for % / % kept changing; gave up', p_tenant_id, p_source;
end $$;

-- From issue 9's text (sync.reap_stale_runs, issue 9's, hands expired running runs over as
-- `continuing` and is not redefined here). New: a fan-out's chain is re-invoked on its own even
-- though its parent (the all-tenants run) is active, since its own invocations drive it; an expired
-- child of an active chain is resumed through that chain (re-invoked when the chain's own lease
-- expired too), never on its own function.
create or replace function sync.reap_and_resume_runs() returns jsonb
language plpgsql volatile set search_path = '' as $$
declare
  v_reaped jsonb;
  v_reinvoked jsonb := '[]'::jsonb;
  v_errors jsonb := '[]'::jsonb;
  r record;
begin
  select coalesce(jsonb_agg(x.run_id), '[]'::jsonb) into v_reaped from sync.reap_stale_runs() x;
  for r in
    with expired as (
      select s.* from public.sync_runs s where s.status = 'continuing' and sync.lease_expired(s)
    ),
    targets as (
      select e.id, e.source, e.heartbeat_at from expired e
      where e.source = 'sync-command-center' or not sync.parent_active(e.parent_run_id)
      union
      select p.id, p.source, p.heartbeat_at from expired e join public.sync_runs p on p.id = e.parent_run_id
      where e.source <> 'sync-command-center' and p.status in ('running', 'continuing') and sync.lease_expired(p)
    )
    select t.id, t.source from targets t
    order by t.heartbeat_at
    limit 100 -- pg_net handles ~200 requests/s; the next tick takes the rest
  loop
    begin
      perform sync.invoke_function(r.source, jsonb_build_object('runId', r.id));
      v_reinvoked := v_reinvoked || to_jsonb(r.id);
    exception when others then
      v_errors := v_errors || jsonb_build_object('runId', r.id, 'source', r.source, 'error', sqlerrm);
      raise warning 'reaper: could not re-invoke % for run %: %', r.source, r.id, sqlerrm;
    end;
  end loop;
  return jsonb_build_object('reaped', v_reaped, 'reinvoked', v_reinvoked, 'errors', v_errors);
end $$;

-- From main's text; unchanged but for a bounded lock wait (a page stalled on the run's row is cut
-- off by idle_in_transaction_session_timeout on the functions' connections long before).
create or replace function sync.cancel_runs(p_source text default null, p_tenant_id uuid default null, p_reason text default null)
returns table (run_id uuid, tenant_id uuid, source text)
language plpgsql set search_path = '' set lock_timeout = '15s' as $$
declare
  v_ids uuid[];
  v_next uuid[];
begin
  with c as (
    update public.sync_runs s
    set status = 'cancelled', completed_at = clock_timestamp(), error_code = 'CANCELLED',
        error_message = coalesce(p_reason, 'Cancelled by forceCancel.')
    where s.status in ('running', 'continuing')
      and (p_source is null or s.source = p_source)
      and (p_tenant_id is null or s.tenant_id = p_tenant_id)
    returning s.id
  )
  select coalesce(array_agg(c.id), '{}') into v_ids from c;
  v_next := v_ids;
  -- Each statement takes a new snapshot: a child claimed while the first update waited is seen here.
  while cardinality(v_next) > 0 loop
    with c as (
      update public.sync_runs s
      set status = 'cancelled', completed_at = clock_timestamp(), error_code = 'CANCELLED',
          error_message = 'Cancelled with its parent run.'
      where s.status in ('running', 'continuing') and s.parent_run_id = any (v_next)
      returning s.id
    )
    select coalesce(array_agg(c.id), '{}') into v_next from c;
    v_ids := v_ids || v_next;
  end loop;
  return query select s.id, s.tenant_id, s.source from public.sync_runs s where s.id = any (v_ids);
end $$;

-- ---------------------------------------------------------------- the type collision

-- From main's 20261122000300 text, now two statements. In one statement, a type that a concurrent
-- run of the same tenant inserted (its accommodations run, or another page) is waited for by the
-- insert's conflict check but invisible to the statement's snapshot, so the unit got a NULL type
-- and the page failed. The second statement takes a new snapshot and sees every type the first
-- one waited for: the collision cannot happen.
create or replace function sync.resolve_booked_units(p_tenant_id uuid, p_rooms jsonb)
returns table (types_created integer, units_created integer)
language plpgsql set search_path = '' as $$
declare
  v_types integer;
  v_units integer;
begin
  with wanted as (
    select distinct r.unit_id, coalesce(r.type_id, 0) as type_id
    from jsonb_to_recordset(p_rooms) as r(unit_id integer, type_id integer)
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
    returning 1
  )
  select count(*)::integer into v_types from new_types;

  with wanted as (
    select distinct on (r.unit_id) r.unit_id, coalesce(r.type_id, 0) as type_id
    from jsonb_to_recordset(p_rooms) as r(unit_id integer, type_id integer)
    order by r.unit_id
  ),
  new_units as (
    insert into hotels.accommodation_units (tenant_id, accommodation_type_id, motopress_unit_id, motopress_type_id, name, auto_created)
    select p_tenant_id, ty.id, w.unit_id, w.type_id, 'Accommodation #' || w.unit_id, true
    from wanted w join hotels.accommodation_types ty on ty.tenant_id = p_tenant_id and ty.motopress_type_id = w.type_id
    where not exists (select 1 from hotels.accommodation_units u
                      where u.tenant_id = p_tenant_id and u.motopress_unit_id = w.unit_id)
    on conflict (tenant_id, motopress_unit_id) do nothing
    returning 1
  )
  select count(*)::integer into v_units from new_units;
  return query select v_types, v_units;
end $$;

revoke all on function sync.parent_active(uuid), sync.enqueue_fanout(uuid), sync.advance_fanout(uuid, integer)
  from public, anon, authenticated;
grant execute on function sync.parent_active(uuid), sync.enqueue_fanout(uuid), sync.advance_fanout(uuid, integer)
  to service_role;
revoke all on function sync.resolve_booked_units(uuid, jsonb) from public, anon, authenticated;
grant execute on function sync.resolve_booked_units(uuid, jsonb) to service_role;
