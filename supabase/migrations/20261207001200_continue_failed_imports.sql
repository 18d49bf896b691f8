-- A sync that failed part way is continued by the next run of its slot, not started over: a new
-- run of a MotoPress source starts from the last committed page of the slot's last run when that
-- run failed with a checkpoint, and takes over what it saw (sync.run_seen), so the removal check
-- still waits for a pass that is complete across both runs. A completed or cancelled run leaves
-- nothing to continue; neither does a failure older than three days (the next run starts over).

alter table public.sync_runs add column continued_from_run_id uuid
  references public.sync_runs (id) on delete set null;

-- What a run saw is kept when it failed part way through a MotoPress source (the next run may
-- continue it), and dropped at any other end.
create or replace function sync.clear_run_seen() returns trigger
language plpgsql set search_path = '' as $$
begin
  if new.status = 'failed' and new.checkpoint is not null
     and new.source in ('motopress-bookings', 'motopress-accommodations') then
    return null;
  end if;
  delete from sync.run_seen where run_id = new.id;
  return null;
end $$;
revoke all on function sync.clear_run_seen() from public, anon, authenticated, service_role;

-- The continuation a new run of a slot takes on (called in the claim's transaction): the last
-- ended run of the slot, when it failed part way less than three days ago; its checkpoint and its
-- seen ids move to the new run. Seen ids of the slot's other failed runs are dropped.
create function sync.continue_failed_run(p_run public.sync_runs) returns public.sync_runs
language plpgsql volatile set search_path = '' as $$
declare
  v_prev public.sync_runs;
  v_run public.sync_runs := p_run;
begin
  if p_run.source not in ('motopress-bookings', 'motopress-accommodations') then
    return p_run;
  end if;
  select * into v_prev from public.sync_runs s
  where s.tenant_id = p_run.tenant_id and s.source = p_run.source and s.id <> p_run.id
    and s.status in ('completed', 'failed', 'cancelled')
  order by s.started_at desc limit 1;
  if found and v_prev.status = 'failed' and v_prev.checkpoint is not null
     and v_prev.completed_at > now() - interval '3 days' then
    update public.sync_runs set checkpoint = v_prev.checkpoint, continued_from_run_id = v_prev.id
    where id = p_run.id returning * into v_run;
    update sync.run_seen set run_id = p_run.id where run_id = v_prev.id;
  end if;
  delete from sync.run_seen s using public.sync_runs r
  where r.tenant_id = p_run.tenant_id and r.source = p_run.source and r.status = 'failed' and s.run_id = r.id;
  return v_run;
end $$;
revoke all on function sync.continue_failed_run(public.sync_runs) from public, anon, authenticated;
grant execute on function sync.continue_failed_run(public.sync_runs) to service_role;

-- From 20261202005100's text; a new run continues its slot's failed one (sync.continue_failed_run).
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
      return query select 'claimed'::text, v_reclaimed, sync.continue_failed_run(v_run);
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
