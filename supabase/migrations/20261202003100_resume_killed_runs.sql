-- A killed run resumes from its last committed page, whatever killed it (issue 9).
--
-- Before: an expired `running` holder was failed as STALE and the next claim started over from
-- page 1, so a hotel whose every invocation died at the platform's CPU limit never finished. Now
-- the next claim, a continuation ({runId}) and the reaper all take over an expired `running` or
-- `continuing` run from its checkpoint with a new fencing token (the dead worker is shut out).
--
-- A poison page (one that kills every worker that tries it) must not loop forever: every takeover
-- counts one attempt, every committed page resets the count, and a takeover beyond
-- max_attempts_without_progress fails the run with NO_PROGRESS, naming the page and the last
-- known cause. Counters stay exact: a page's counters commit in its own transaction.

alter table public.sync_runs
  add column attempts_without_progress integer not null default 0,
  add column max_attempts_without_progress integer not null default 5
    check (max_attempts_without_progress between 1 and 100),
  -- Best effort, written by the worker when the runtime says it is about to stop it
  -- (beforeunload) or when a hop ended at its deadline without committing a page.
  add column last_interruption text;

-- Where a run stands, for an operator: "bookings page 7" (the next page of its checkpoint).
create function sync.run_position(r public.sync_runs) returns text
language sql immutable set search_path = '' as $$
  select case
    when r.checkpoint ? 'removal' then
      format('the removal check of %s (after id %s)', r.checkpoint->'removal'->>'entity', r.checkpoint->'removal'->>'after')
    when r.checkpoint ? 'page' then
      format('%s page %s', coalesce(r.stats->'progress'->>'stage', 'phase ' || (r.checkpoint->>'phase')), r.checkpoint->>'page')
    when r.checkpoint is not null then 'its checkpoint'
    else 'its first page'
  end
$$;

-- Takes over an expired or continuing run (the caller holds its row lock): resumed with a new
-- fencing token, or failed with NO_PROGRESS when it used up its attempts. Returns the new row.
create function sync.take_over_run(p_run_id uuid) returns public.sync_runs
language plpgsql set search_path = '' as $$
declare
  v_run public.sync_runs;
begin
  update public.sync_runs s
  set status = 'running', fencing_token = s.fencing_token + 1, heartbeat_at = now(),
      invocations = s.invocations + 1, attempts_without_progress = s.attempts_without_progress + 1
  where s.id = p_run_id and s.attempts_without_progress < s.max_attempts_without_progress
  returning * into v_run;
  if found then
    return v_run;
  end if;
  update public.sync_runs s
  set status = 'failed', completed_at = now(), error_code = 'NO_PROGRESS',
      error_message = format(
        'Gave up after %s attempts in a row that committed nothing: every worker stopped at %s. Last known cause: %s.',
        s.attempts_without_progress, sync.run_position(s),
        coalesce(s.last_interruption,
          'none reported (a platform limit - CPU, wall clock, memory -, a deploy, a crash or a lost connection)'))
  where s.id = p_run_id
  returning * into v_run;
  return v_run;
end $$;

-- Claim the (tenant, source) slot. Outcomes:
--   claimed  a new run was inserted (reclaimed_run_id names a holder that had used up its
--            attempts and was failed with NO_PROGRESS);
--   resumed  the holder's lease expired (`running`: its worker died; `continuing`: its
--            continuation was lost): it is taken over from its checkpoint;
--   busy     a live run holds the slot; its row is returned;
--   parent_inactive  p_parent_run_id is no longer running (cancelled, say): nothing is claimed.
-- A child claim holds its parent's row (FOR SHARE) until it commits, so a cancel of the parent
-- either sees the child (and cascades to it) or comes first (and the claim is refused).
create or replace function sync.claim_run(
  p_tenant_id uuid, p_source text, p_trigger text, p_parent_run_id uuid, p_lease_seconds integer
) returns table (outcome text, reclaimed_run_id uuid, run public.sync_runs)
language plpgsql set search_path = '' as $$
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

    if not sync.lease_expired(v_holder) then
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

-- Take over a run to continue it: its own continuation (status continuing), or a run whose worker
-- died (status running, lease expired). Nothing when the run is live or ended, or when this
-- takeover used up its attempts (the run is then failed with NO_PROGRESS).
create or replace function sync.resume_run(p_run_id uuid) returns setof public.sync_runs
language plpgsql set search_path = '' as $$
declare
  v_run public.sync_runs;
begin
  select * into v_run from public.sync_runs s
  where s.id = p_run_id
    and (s.status = 'continuing' or (s.status = 'running' and sync.lease_expired(s)))
  for update;
  if not found then
    return;
  end if;
  v_run := sync.take_over_run(p_run_id);
  if v_run.status = 'running' then
    return next v_run;
  end if;
end $$;

-- Stale cleanup: a `running` run whose lease expired (its worker is dead) is handed over to be
-- resumed: it becomes `continuing` (which shuts its dead worker out: every write needs
-- status = 'running') and keeps its checkpoint, to be taken over by the next claim, its parent's
-- continuation or the scheduled resumer. One statement, on the database clock. A run that
-- heartbeats is never touched however long it runs.
create or replace function sync.reap_stale_runs(p_source text default null)
returns table (run_id uuid, tenant_id uuid, source text, last_heartbeat_at timestamptz)
language sql set search_path = '' as $$
  update public.sync_runs s
  set status = 'continuing',
      last_interruption = coalesce(s.last_interruption,
        format('no heartbeat since %s (lease %s s): the worker died',
               to_char(s.heartbeat_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), s.lease_seconds))
  where s.status = 'running'
    and (p_source is null or s.source = p_source)
    and sync.lease_expired(s)
  returning s.id, s.tenant_id, s.source, s.heartbeat_at
$$;

-- What the reaper job runs: expired `running` runs are handed over (sync.reap_stale_runs), then
-- every expired `continuing` run is re-invoked on its own function with {"runId": ...}, unless its
-- parent chain is still active (the chain's continuation drives its children). The function's
-- resume is a compare-and-set, so a duplicate call is harmless (it answers 409). A failed
-- re-invocation is a WARNING, not an error, so that the reaping above is never rolled back; the run
-- stays `continuing` and the next tick tries again. Returns a summary for operators.
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
    select s.id, s.source from public.sync_runs s
    where s.status = 'continuing' and sync.lease_expired(s)
      and not exists (select 1 from public.sync_runs p
                      where p.id = s.parent_run_id and p.status in ('running', 'continuing'))
    order by s.heartbeat_at
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

-- Removal checking in steps that survive continuations: candidates in a stable order after a
-- position, so a continuation starts where the last one stopped; confirmed-gone rows are marked as
-- they are learned (each is then no longer a candidate), and what the pass saw is forgotten only
-- once the whole check is done.
create function sync.removal_candidates(p_tenant_id uuid, p_run_id uuid, p_entity text, p_after text, p_limit integer)
returns table (external_id text)
language sql stable set search_path = '' as $$
  select * from (
    select r.external_booking_id as external_id from public.guest_reservations r
    where p_entity = 'booking' and r.tenant_id = p_tenant_id and r.removed_upstream_at is null
      and r.external_booking_id collate "C" > coalesce(p_after, '') collate "C"
      and not exists (select 1 from sync.run_seen s
                      where s.run_id = p_run_id and s.entity = 'booking' and s.external_id = r.external_booking_id)
    union all
    select u.motopress_unit_id::text from hotels.accommodation_units u
    where p_entity = 'accommodation' and u.tenant_id = p_tenant_id and u.removed_upstream_at is null and not u.auto_created
      and u.motopress_unit_id::text collate "C" > coalesce(p_after, '') collate "C"
      and not exists (select 1 from sync.run_seen s
                      where s.run_id = p_run_id and s.entity = 'accommodation' and s.external_id = u.motopress_unit_id::text)
    union all
    select t.motopress_type_id::text from hotels.accommodation_types t
    where p_entity = 'accommodation_type' and t.tenant_id = p_tenant_id and t.removed_upstream_at is null
      and not t.auto_created and t.motopress_type_id::text collate "C" > coalesce(p_after, '') collate "C"
      and not exists (select 1 from sync.run_seen s
                      where s.run_id = p_run_id and s.entity = 'accommodation_type' and s.external_id = t.motopress_type_id::text)
  ) c
  order by c.external_id collate "C"
  limit p_limit
$$;

-- Marks the rows confirmed gone (a 404 by id); with p_forget_seen, also forgets what the pass saw
-- (the end of the check).
create function sync.mark_removed_upstream(p_tenant_id uuid, p_run_id uuid, p_entity text, p_gone text[],
  p_forget_seen boolean)
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
  if p_forget_seen then
    delete from sync.run_seen where run_id = p_run_id and entity = p_entity;
  end if;
  return v_count;
end $$;

revoke all on function sync.run_position(public.sync_runs), sync.take_over_run(uuid),
  sync.removal_candidates(uuid, uuid, text, text, integer),
  sync.mark_removed_upstream(uuid, uuid, text, text[], boolean) from public, anon, authenticated;
grant execute on function sync.run_position(public.sync_runs), sync.take_over_run(uuid),
  sync.removal_candidates(uuid, uuid, text, text, integer),
  sync.mark_removed_upstream(uuid, uuid, text, text[], boolean) to service_role;
revoke all on function sync.reap_and_resume_runs() from public, anon, authenticated, service_role;
