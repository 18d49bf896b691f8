-- A chain the fan-out starts is stamped with the moment it took its slot (clock_timestamp() under
-- the parent's lock), not with the start of the transaction that waited for that lock: a chain's
-- started_at then never precedes the end of the chain whose slot it took, so its run record shows
-- the bound the fan-out keeps. The function is 20261202005100's with only that insert changed.
create or replace function sync.advance_fanout(p_parent_run_id uuid, p_concurrency integer)
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
    insert into public.sync_runs (tenant_id, source, status, trigger, parent_run_id, lease_seconds, started_at)
    values (q.tenant_id, 'sync-command-center', 'continuing', 'parent', p_parent_run_id, v_parent.lease_seconds,
            clock_timestamp())
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

