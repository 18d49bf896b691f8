-- The nightly schedule: pg_cron calls the command center over HTTP through pg_net, and a reaper
-- job cleans up after dead workers. See docs/scheduling.md.
--
-- Works on every target:
--   * hosted Supabase (pg_cron, pg_net, Vault): enables pg_cron / pg_net if needed and schedules;
--   * a PostgreSQL without pg_cron (the embedded one most tests use): defines the functions,
--     schedules nothing and says so with a NOTICE;
--   * a PostgreSQL with pg_cron preloaded (cron.database_name = this database) and pg_net, or the
--     local stand-in (scripts/lib/pg-net-standin.sql) applied before the migrations: schedules.
--
-- TIME ZONE: pg_cron interprets schedules in UTC (GMT). '0 3 * * *' is 03:00 UTC every day, i.e.
-- 04:00/05:00 in Madrid depending on DST. (pg_cron 1.6+ has a `cron.timezone` setting, default
-- GMT; this assumes the default.) Change the time with cron.alter_job (docs/scheduling.md).
--
-- pg_cron's "one instance of a job at a time" covers only the SQL command, which ends as soon as
-- pg_net has queued the request: it gives no protection against overlapping syncs. That comes from
-- public.sync_runs (one active run per tenant and source).

-- Where a database without Vault keeps the project URL and the admin key (local stacks, the cron
-- test). Never exposed: not in `public`, no grant to any API role.
create table if not exists private.sync_settings (
  key text primary key check (key in ('project_url', 'sync_admin_key')),
  value text not null check (length(value) > 0),
  updated_at timestamptz not null default now()
);
alter table private.sync_settings enable row level security;
revoke all on private.sync_settings from public, anon, authenticated, service_role;

-- One setting: Vault's decrypted secret of that name when Vault exists and holds it, otherwise the
-- private.sync_settings row. NULL when neither has it.
create or replace function sync.setting(p_name text) returns text
language plpgsql stable set search_path = '' as $$
declare
  v_value text;
begin
  if to_regclass('vault.decrypted_secrets') is not null then
    -- Dynamic: the function must compile where Vault does not exist.
    execute 'select decrypted_secret from vault.decrypted_secrets where name = $1 limit 1'
      into v_value using p_name;
  end if;
  if v_value is null or v_value = '' then
    select s.value into v_value from private.sync_settings s where s.key = p_name;
  end if;
  return nullif(v_value, '');
end $$;

-- POSTs p_body to <project_url>/functions/v1/<p_function> with the admin key, through pg_net.
-- Returns pg_net's request id; the request is sent after the calling transaction commits and its
-- answer lands in net._http_response. Security invoker: pg_cron runs the jobs as the role that
-- scheduled them (postgres), which can read Vault and private.sync_settings.
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
    headers := jsonb_build_object('Content-Type', 'application/json', 'Authorization', 'Bearer ' || v_key),
    -- The functions answer 202 at once and work in the background; the dashboard's 5 s default
    -- has been too short for a cold start.
    timeout_milliseconds := 30000
  ) into v_request_id;
  return v_request_id;
end $$;

-- What the reaper job runs: stale `running` runs are failed (error_code STALE) by
-- sync.reap_stale_runs, then every `continuing` run whose lease expired (its continuation call was
-- lost) is re-invoked on its own function with {"runId": ...}. The function's resume is a
-- compare-and-set, so a duplicate call is harmless (it answers 409). A failed re-invocation is a
-- WARNING, not an error, so that the reaping above is never rolled back; the run stays
-- `continuing` and the next tick tries again. Returns a summary for operators who call it by hand.
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

revoke all on function sync.setting(text), sync.invoke_function(text, jsonb), sync.reap_and_resume_runs()
  from public, anon, authenticated, service_role;

-- The jobs, only where pg_cron can run them. Idempotent: existing jobs of these names are
-- unscheduled first, then scheduled again.
do $schedule$
declare
  v_skip text;
begin
  if not exists (select 1 from pg_extension where extname = 'pg_cron')
     and exists (select 1 from pg_available_extensions where name = 'pg_cron') then
    begin
      -- Fails unless pg_cron is in shared_preload_libraries and this is cron.database_name.
      create extension if not exists pg_cron;
    exception when others then
      v_skip := format('pg_cron is installed on this server but cannot be enabled in database %s (%s)',
                       current_database(), sqlerrm);
    end;
  end if;
  if v_skip is null and not exists (select 1 from pg_extension where extname = 'pg_cron') then
    v_skip := 'pg_cron is not available on this server';
  end if;

  if v_skip is null
     and to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null
     and exists (select 1 from pg_available_extensions where name = 'pg_net') then
    begin
      create extension if not exists pg_net with schema extensions;
    exception when others then
      raise notice 'schedule: create extension pg_net failed: %', sqlerrm;
    end;
  end if;
  if v_skip is null and to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null then
    v_skip := 'pg_cron is present but pg_net (net.http_post) is not';
  end if;

  if v_skip is not null then
    raise notice 'schedule: % - nothing scheduled. The functions sync.invoke_function and sync.reap_and_resume_runs are defined; see docs/scheduling.md.', v_skip;
    return;
  end if;

  perform cron.unschedule(j.jobid) from cron.job j
  where j.jobname in ('motopress-nightly-sync', 'motopress-reap-stale-runs');
  -- 03:00 UTC every day (pg_cron runs in UTC).
  perform cron.schedule('motopress-nightly-sync', '0 3 * * *',
    $cmd$select sync.invoke_function('sync-command-center', '{"trigger":"cron"}'::jsonb)$cmd$);
  -- Every 5 minutes: a dead worker's run is failed or resumed within a lease plus 5 minutes.
  perform cron.schedule('motopress-reap-stale-runs', '*/5 * * * *',
    $cmd$select sync.reap_and_resume_runs()$cmd$);
  raise notice 'schedule: motopress-nightly-sync (0 3 * * *, UTC) and motopress-reap-stale-runs (*/5 * * * *) scheduled.';
end
$schedule$;
