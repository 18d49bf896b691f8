-- Cancel one run by id (the operator console's "cancel" on a run row), with the same cascade to
-- child runs as sync.cancel_runs. The update is a compare-and-set on the run's status, so a run
-- that finished meanwhile is left alone, and a later run of the same slot is never touched.
create function sync.cancel_run(p_run_id uuid, p_reason text default null)
returns table (run_id uuid, tenant_id uuid, source text)
language plpgsql set search_path = '' as $$
declare
  v_ids uuid[];
  v_next uuid[];
begin
  with c as (
    update public.sync_runs s
    set status = 'cancelled', completed_at = clock_timestamp(), error_code = 'CANCELLED',
        error_message = coalesce(p_reason, 'Cancelled by an operator.')
    where s.id = p_run_id and s.status in ('running', 'continuing')
    returning s.id
  )
  select coalesce(array_agg(c.id), '{}') into v_ids from c;
  v_next := v_ids;
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

revoke all on function sync.cancel_run(uuid, text) from public, anon, authenticated;
grant execute on function sync.cancel_run(uuid, text) to service_role;
