-- Grants that do not rely on defaults. Since the 2026 Data API change a hosted project grants
-- nothing on new tables to `anon`, `authenticated` or `service_role` (reference A11), and the
-- earlier migrations only revoked: a reader going through supabase-js with the service-role key
-- (the guest chat, a dashboard) got `permission denied`. Every object the product creates is
-- granted here, explicitly, to `service_role`, for reading; the API roles anon/authenticated get
-- nothing (the functions themselves connect as `postgres`, the owner, and need no grant).
--
-- A later migration that creates a table or view must grant it the same way; the test
-- tests/integration/grants.test.ts sweeps every relation in public and hotels.

-- Schemas: usage only where a reader needs it. `private` (credentials) and `sync` (internals) are
-- for the owner; service_role keeps usage of sync for the functions it may execute.
grant usage on schema public, hotels to service_role;
revoke all on schema hotels, sync, private from public, anon, authenticated;

-- The contract's reader tables (§5) and the health report's own tables: read access.
grant select on
  public.tenant_registry,
  public.guest_reservations,
  public.reservation_accommodations,
  public.sync_runs,
  public.sync_quarantine,
  public.sync_run_transitions
to service_role;
grant select on all tables in schema hotels to service_role;

-- Nothing for the public API roles, whatever defaults a project had when the tables were made.
revoke all on
  public.tenant_registry,
  public.guest_reservations,
  public.reservation_accommodations,
  public.sync_runs,
  public.sync_quarantine,
  public.sync_run_transitions
from public, anon, authenticated;
revoke all on all tables in schema hotels from public, anon, authenticated;
revoke all on all tables in schema sync from public, anon, authenticated;
revoke all on all tables in schema private from public, anon, authenticated;
-- Writes go through the functions (as the owner), never through the Data API: the old default
-- "all to service_role" on hotels is narrowed to reading.
revoke insert, update, delete, truncate, references, trigger on all tables in schema hotels from service_role;

-- Functions: PostgreSQL grants EXECUTE to PUBLIC on every new function; the earlier migrations
-- revoked it per function. Again here for all of them, so nothing relies on that having been done.
revoke all on all functions in schema sync from public, anon, authenticated;

-- ---------------------------------------------------------------------------------------------
-- Hygiene: a run's "seen" ids are scratch space for its end-of-pass deletion check. They are
-- dropped when the run ends, whatever the end (completed runs did it already; failed and
-- cancelled ones kept theirs forever).
create or replace function sync.clear_run_seen() returns trigger
language plpgsql set search_path = '' as $$
begin
  delete from sync.run_seen where run_id = new.id;
  return null;
end $$;
revoke all on function sync.clear_run_seen() from public, anon, authenticated, service_role;

drop trigger if exists sync_runs_clear_seen on public.sync_runs;
create trigger sync_runs_clear_seen
  after update of status on public.sync_runs
  for each row
  when (new.status in ('completed', 'failed', 'cancelled') and old.status is distinct from new.status)
  execute function sync.clear_run_seen();

-- Leftovers of runs that ended before the trigger existed.
delete from sync.run_seen s using public.sync_runs r
where r.id = s.run_id and r.status in ('completed', 'failed', 'cancelled');

-- The retention age is a setting like the schedule's (Vault secret or private.sync_settings).
alter table private.sync_settings drop constraint if exists sync_settings_key_check;
alter table private.sync_settings add constraint sync_settings_key_check
  check (key in ('project_url', 'sync_admin_key', 'retention_days'));

-- Deletes history older than the retention age (argument, else setting `retention_days`, else 30
-- days): finished runs (never a tenant's latest completed run of a source, which the health
-- report shows as "last successful sync"), scratch rows of finished runs, and resolved quarantine
-- rows. Active runs and open quarantine rows are never touched. Returns what it deleted.
create or replace function sync.prune_history(p_older_than interval default null) returns jsonb
language plpgsql volatile set search_path = '' as $$
declare
  v_setting text := sync.setting('retention_days');
  v_age interval;
  v_cutoff timestamptz;
  v_runs int;
  v_seen int;
  v_quarantine int;
begin
  if p_older_than is not null then
    v_age := p_older_than;
  elsif v_setting ~ '^\s*\d{1,5}\s*$' then
    v_age := make_interval(days => v_setting::int);
  elsif v_setting is null then
    v_age := interval '30 days';
  else
    raise exception 'sync.prune_history: setting retention_days must be a whole number of days (got %)', quote_literal(v_setting)
      using errcode = 'invalid_parameter_value';
  end if;
  if v_age < interval '1 day' then
    raise exception 'sync.prune_history: the retention age must be at least one day (got %)', v_age
      using errcode = 'invalid_parameter_value';
  end if;
  v_cutoff := now() - v_age;

  delete from sync.run_seen s using public.sync_runs r
  where r.id = s.run_id and r.status in ('completed', 'failed', 'cancelled');
  get diagnostics v_seen = row_count;

  with latest as (
    select distinct on (tenant_id, source) id from public.sync_runs
    where status = 'completed'
    order by tenant_id, source, completed_at desc
  )
  delete from public.sync_runs r
  where r.status in ('completed', 'failed', 'cancelled')
    and r.completed_at < v_cutoff
    and r.id not in (select id from latest);
  get diagnostics v_runs = row_count;

  delete from public.sync_quarantine q where q.resolved_at is not null and q.resolved_at < v_cutoff;
  get diagnostics v_quarantine = row_count;

  return jsonb_build_object('olderThan', v_cutoff, 'runs', v_runs, 'runSeen', v_seen, 'quarantine', v_quarantine);
end $$;
revoke all on function sync.prune_history(interval) from public, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- pg_net calls: API keys belong in `apikey`; the platform accepts `Authorization: Bearer` only
-- when it carries the same value (reference A3). Both are sent, as every other call the product
-- makes does (_shared/invoke.ts).
create or replace function sync.invoke_function(p_function text, p_body jsonb default '{}'::jsonb)
returns bigint
language plpgsql volatile set search_path = '' as $$
declare
  v_url text;
  v_key text;
  v_request_id bigint;
begin
  if p_function is null or p_function !~ '^[a-z0-9][a-z0-9_-]{0,62}$' then
    raise exception 'sync.invoke_function: % is not a function name', coalesce(quote_literal(p_function), 'NULL')
      using errcode = 'invalid_parameter_value';
  end if;
  v_url := sync.setting('project_url');
  v_key := sync.setting('sync_admin_key');
  if v_url is null or v_key is null then
    raise exception 'sync.invoke_function: cannot invoke %: not configured: %', p_function,
      concat_ws(', ', case when v_url is null then 'the project URL (secret project_url)' end,
                      case when v_key is null then 'the admin key (secret sync_admin_key)' end)
      using errcode = 'object_not_in_prerequisite_state',
            hint = 'Hosted: select vault.create_secret(''https://<ref>.supabase.co'', ''project_url''); '
                || 'select vault.create_secret(''<SYNC_ADMIN_KEY>'', ''sync_admin_key''); '
                || 'or declare both under [db.vault] in supabase/config.toml; '
                || 'without Vault: insert into private.sync_settings (key, value) values (''project_url'', ''http://127.0.0.1:54321''), (''sync_admin_key'', ''<key>'').';
  end if;
  if to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null then
    raise exception 'sync.invoke_function: pg_net (net.http_post) is not installed in this database'
      using errcode = 'undefined_function',
            hint = 'Hosted: create extension pg_net with schema extensions; locally: apply scripts/lib/pg-net-standin.sql and run the pg-net worker.';
  end if;
  select net.http_post(
    url := rtrim(v_url, '/') || '/functions/v1/' || p_function,
    body := coalesce(p_body, '{}'::jsonb),
    params := '{}'::jsonb,
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'apikey', v_key,
      'Authorization', 'Bearer ' || v_key),
    -- The functions answer 202 at once and work in the background; the dashboard's 5 s default
    -- has been too short for a cold start.
    timeout_milliseconds := 30000
  ) into v_request_id;
  return v_request_id;
end $$;
revoke all on function sync.invoke_function(text, jsonb) from public, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- pg_cron where the platform puts it. The schedule migration ran `create extension pg_cron` with
-- the default schema, so on a database where pg_cron was available but not enabled it landed in
-- `public` (advisor `extension_in_public`). Supabase enables it in pg_catalog. pg_cron is not
-- relocatable: the extension is re-created there, and every job that is not one of ours is
-- scheduled again (ours are re-created by sync.schedule_jobs below). Their run history is lost.
do $relocate$
declare
  v_jobs jsonb;
  j jsonb;
begin
  if not exists (select 1 from pg_extension e join pg_namespace n on n.oid = e.extnamespace
                 where e.extname = 'pg_cron' and n.nspname = 'public') then
    return;
  end if;
  execute $q$select coalesce(jsonb_agg(to_jsonb(j)), '[]'::jsonb) from cron.job j
             where j.jobname is null or j.jobname not in
               ('motopress-nightly-sync', 'motopress-reap-stale-runs', 'motopress-prune-history')$q$
    into v_jobs;
  drop extension pg_cron;
  create extension pg_cron with schema pg_catalog;
  for j in select * from jsonb_array_elements(v_jobs) loop
    if j->>'jobname' is null then
      perform cron.schedule(j->>'schedule', j->>'command');
    else
      perform cron.schedule_in_database(j->>'jobname', j->>'schedule', j->>'command', j->>'database',
                                        j->>'username', (j->>'active')::boolean);
    end if;
  end loop;
  raise notice 'schedule: pg_cron moved from schema public to pg_catalog (% other job(s) re-scheduled)', jsonb_array_length(v_jobs);
end
$relocate$;

-- Schedules the product's jobs where they can run, and says what it did. Called by this migration
-- and again by an operator after adding the settings (`select sync.schedule_jobs();`).
--   * motopress-prune-history (daily): needs only pg_cron.
--   * motopress-nightly-sync and motopress-reap-stale-runs call the functions: they need pg_net,
--     the project URL and the admin key. Without them (a preview branch, whose Vault secrets are
--     not copied; a project whose secrets are not set yet) they are unscheduled, not left to fail
--     every night or, with secrets copied by hand, to call production from a branch.
-- Idempotent: jobs of these names are replaced.
create or replace function sync.schedule_jobs() returns text
language plpgsql volatile set search_path = '' as $$
declare
  v_missing text;
  v_done text[] := '{}';
begin
  if not exists (select 1 from pg_extension where extname = 'pg_cron') then
    if exists (select 1 from pg_available_extensions where name = 'pg_cron') then
      begin
        -- Fails unless pg_cron is in shared_preload_libraries and this is cron.database_name.
        create extension if not exists pg_cron with schema pg_catalog;
      exception when others then
        return format('pg_cron is installed on this server but cannot be enabled in database %s (%s): nothing scheduled',
                      current_database(), sqlerrm);
      end;
    else
      return 'pg_cron is not available on this server: nothing scheduled (start syncs by hand: npm run sync)';
    end if;
  end if;

  perform cron.unschedule(j.jobid) from cron.job j
  where j.jobname in ('motopress-nightly-sync', 'motopress-reap-stale-runs', 'motopress-prune-history');

  -- 04:30 UTC daily, after the nightly sync.
  perform cron.schedule('motopress-prune-history', '30 4 * * *', $cmd$select sync.prune_history()$cmd$);
  v_done := v_done || 'motopress-prune-history (30 4 * * *)'::text;

  if to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null
     and exists (select 1 from pg_available_extensions where name = 'pg_net') then
    begin
      create extension if not exists pg_net with schema extensions;
    exception when others then
      raise notice 'schedule: create extension pg_net failed: %', sqlerrm;
    end;
  end if;
  v_missing := concat_ws(', ',
    case when to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null then 'pg_net (net.http_post)' end,
    case when sync.setting('project_url') is null then 'the project URL (secret project_url)' end,
    case when sync.setting('sync_admin_key') is null then 'the admin key (secret sync_admin_key)' end);
  if v_missing <> '' then
    return format('scheduled %s; NOT scheduled motopress-nightly-sync and motopress-reap-stale-runs: missing %s '
                  '(a preview branch has no Vault secrets; on the project, add them and run select sync.schedule_jobs())',
                  array_to_string(v_done, ', '), v_missing);
  end if;

  -- 03:00 UTC every day (pg_cron runs in UTC).
  perform cron.schedule('motopress-nightly-sync', '0 3 * * *',
    $cmd$select sync.invoke_function('sync-command-center', '{"trigger":"cron"}'::jsonb)$cmd$);
  -- Every 5 minutes: a dead worker's run is failed or resumed within a lease plus 5 minutes.
  perform cron.schedule('motopress-reap-stale-runs', '*/5 * * * *', $cmd$select sync.reap_and_resume_runs()$cmd$);
  v_done := v_done || array['motopress-nightly-sync (0 3 * * *)', 'motopress-reap-stale-runs (*/5 * * * *)'];
  return 'scheduled ' || array_to_string(v_done, ', ') || ' (UTC)';
end $$;
revoke all on function sync.schedule_jobs() from public, anon, authenticated, service_role;

do $schedule$
begin
  raise notice 'schedule: %', sync.schedule_jobs();
end
$schedule$;
