-- Run coordination. Every guarantee lives here, on the database clock:
--   * one active run per (tenant, source): a partial unique index, not a check-then-insert;
--   * liveness by heartbeat lease: a crashed run is stale one lease after its last heartbeat;
--   * fencing: each claim or resume bumps fencing_token, and every write of a worker is a
--     compare-and-set on (id, fencing_token, status = 'running');
--   * status changes follow public.sync_run_transitions, enforced by a trigger.

create schema if not exists sync;
revoke all on schema sync from public, anon, authenticated;
grant usage on schema sync to service_role;

create table public.sync_runs (
  id uuid primary key default gen_random_uuid(),
  -- NULL for a command-center run over every tenant.
  tenant_id uuid references public.tenant_registry (tenant_id) on delete cascade,
  source text not null check (source in ('motopress-accommodations', 'motopress-bookings', 'sync-command-center')),
  status text not null default 'running',
  trigger text not null default 'manual' check (trigger in ('manual', 'cron', 'parent', 'repair')),
  parent_run_id uuid references public.sync_runs (id) on delete set null,
  fencing_token bigint not null default 1,
  lease_seconds integer not null default 60 check (lease_seconds between 1 and 3600),
  invocations integer not null default 1,
  started_at timestamptz not null default now(),
  heartbeat_at timestamptz not null default now(),
  completed_at timestamptz,
  error_code text,
  error_message text,
  stats jsonb not null default '{}',
  checkpoint jsonb,
  constraint sync_runs_status_check check (status in ('running', 'continuing', 'completed', 'failed', 'cancelled')),
  constraint sync_runs_terminal_has_completed_at check ((status in ('completed', 'failed', 'cancelled')) = (completed_at is not null)),
  constraint sync_runs_failure_has_code check (status not in ('failed', 'cancelled') or error_code is not null),
  constraint sync_runs_success_has_no_error check (status <> 'completed' or error_code is null)
);

-- One active run per tenant and source; NULLS NOT DISTINCT makes the all-tenants run unique too.
create unique index sync_runs_one_active on public.sync_runs (tenant_id, source) nulls not distinct
  where status in ('running', 'continuing');
create index sync_runs_tenant_recent on public.sync_runs (tenant_id, source, started_at desc);
create index sync_runs_parent on public.sync_runs (parent_run_id) where parent_run_id is not null;
create index sync_runs_active_heartbeat on public.sync_runs (heartbeat_at) where status in ('running', 'continuing');
alter table public.sync_runs enable row level security;
revoke all on public.sync_runs from anon, authenticated;

-- The state machine as data; the TypeScript copy (_shared/runs/state-machine.ts) is tested equal.
create table public.sync_run_transitions (
  from_status text not null,
  to_status text not null,
  primary key (from_status, to_status)
);
alter table public.sync_run_transitions enable row level security;
revoke all on public.sync_run_transitions from anon, authenticated;
insert into public.sync_run_transitions (from_status, to_status) values
  ('running', 'continuing'),   -- checkpoint: the invocation's budget is spent
  ('running', 'completed'),
  ('running', 'failed'),       -- error, or stale (lease expired)
  ('running', 'cancelled'),
  ('running', 'running'),      -- resume of a crashed run: same status, new fencing token
  ('continuing', 'running'),   -- the continuation (or a resume after its lease expired)
  ('continuing', 'failed'),
  ('continuing', 'cancelled');

create function sync.enforce_run_transition() returns trigger
language plpgsql set search_path = '' as $$
begin
  if new.status is distinct from old.status or new.fencing_token <> old.fencing_token then
    if not exists (select 1 from public.sync_run_transitions t
                   where t.from_status = old.status and t.to_status = new.status) then
      raise exception 'sync run %: transition % -> % is not allowed', old.id, old.status, new.status
        using errcode = 'check_violation';
    end if;
  end if;
  return new;
end $$;

create trigger sync_runs_transition before update on public.sync_runs
  for each row execute function sync.enforce_run_transition();

-- A run's lease ends one lease after its last heartbeat.
create function sync.lease_expired(r public.sync_runs) returns boolean
language sql stable set search_path = '' as $$
  select r.heartbeat_at + make_interval(secs => r.lease_seconds) < now()
$$;

-- Claim the (tenant, source) slot. Outcomes:
--   claimed  a new run was inserted (reclaimed_run_id names a stale holder it replaced);
--   resumed  the holder was a `continuing` run whose lease expired: it is taken over as is, so
--            its checkpoint is not lost;
--   busy     a live run holds the slot; its row is returned;
--   parent_inactive  p_parent_run_id is no longer running (cancelled, say): nothing is claimed.
-- A child claim holds its parent's row (FOR SHARE) until it commits, so a cancel of the parent
-- either sees the child (and cascades to it) or comes first (and the claim is refused).
create function sync.claim_run(
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

    if v_holder.status = 'continuing' then
      update public.sync_runs s
      set status = 'running', fencing_token = s.fencing_token + 1, heartbeat_at = now(),
          invocations = s.invocations + 1
      where s.id = v_holder.id
      returning * into v_run;
      return query select 'resumed'::text, null::uuid, v_run;
      return;
    end if;

    update public.sync_runs s
    set status = 'failed', completed_at = now(), error_code = 'STALE',
        error_message = format('No heartbeat since %s (lease %s s); reclaimed by a new claim.',
                               to_char(s.heartbeat_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), s.lease_seconds)
    where s.id = v_holder.id;
    v_reclaimed := v_holder.id;
  end loop;
  raise exception 'claim_run: the slot for % / % kept changing; gave up', p_tenant_id, p_source;
end $$;

-- Take over a run to continue it: its own continuation (status continuing), or a crashed run
-- (status running, lease expired). The new fencing token shuts out any older worker.
create function sync.resume_run(p_run_id uuid) returns setof public.sync_runs
language sql set search_path = '' as $$
  update public.sync_runs s
  set status = 'running', fencing_token = s.fencing_token + 1, heartbeat_at = now(),
      invocations = s.invocations + 1
  where s.id = p_run_id
    and (s.status = 'continuing' or (s.status = 'running' and sync.lease_expired(s)))
  returning *
$$;

-- Stale cleanup: one statement, on the database clock, recording why. A run that heartbeats is
-- never reaped however long it runs. `continuing` runs are left to be resumed (by their
-- continuation, the next claim, or the scheduled resumer), never silently failed.
create function sync.reap_stale_runs(p_source text default null)
returns table (run_id uuid, tenant_id uuid, source text, last_heartbeat_at timestamptz)
language sql set search_path = '' as $$
  update public.sync_runs s
  set status = 'failed', completed_at = now(), error_code = 'STALE',
      error_message = format('No heartbeat since %s (lease %s s); the worker is presumed dead.',
                             to_char(s.heartbeat_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), s.lease_seconds)
  where s.status = 'running'
    and (p_source is null or s.source = p_source)
    and sync.lease_expired(s)
  returning s.id, s.tenant_id, s.source, s.heartbeat_at
$$;

-- forceCancel: every active run matching the filters (NULL = any) is cancelled and its slot freed
-- at once, and so are the active runs started under a cancelled run (a chain's children).
-- Workers find out at their next fenced write or heartbeat. completed_at is the moment the run's
-- row was taken (clock_timestamp, after any page transaction holding it committed), so every data
-- row stamped later was written after the cancel.
create function sync.cancel_runs(p_source text default null, p_tenant_id uuid default null, p_reason text default null)
returns table (run_id uuid, tenant_id uuid, source text)
language plpgsql set search_path = '' as $$
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

revoke all on function sync.enforce_run_transition(), sync.lease_expired(public.sync_runs),
  sync.claim_run(uuid, text, text, uuid, integer), sync.resume_run(uuid),
  sync.reap_stale_runs(text), sync.cancel_runs(text, uuid, text) from public, anon, authenticated;
grant execute on function sync.lease_expired(public.sync_runs), sync.claim_run(uuid, text, text, uuid, integer),
  sync.resume_run(uuid), sync.reap_stale_runs(text), sync.cancel_runs(text, uuid, text) to service_role;
