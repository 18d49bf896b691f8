-- A local stand-in for pg_net (https://github.com/supabase/pg_net), for a PostgreSQL where the
-- extension is not installed (the pg_cron test server). NOT a migration: on hosted Supabase the
-- real pg_net exists. Apply it before the migrations so that the schedule migration finds
-- net.http_post, and run scripts/stack/lib/pg-net-worker.ts, which plays pg_net's background worker.
--
-- Same shape as pg_net:
--   net.http_post(url, body, params, headers, timeout_milliseconds) returns bigint  -- only enqueues
--   net.http_request_queue  -- pending requests (the worker deletes a request as it takes it)
--   net._http_response      -- one row per finished request, id = the request id
-- Like pg_net, a request is only sent after its transaction commits: the worker cannot see the row
-- before, and the NOTIFY that wakes it is delivered at commit. Differences: the body is kept as
-- jsonb rather than bytea, params are appended without percent-encoding, tables are logged,
-- responses are not purged after 6 hours, and a response also records its request's method, url and body.
-- Idempotent.

create schema if not exists net;

create table if not exists net.http_request_queue (
  id bigserial primary key,
  method text not null check (method in ('GET', 'POST', 'DELETE')),
  url text not null,
  headers jsonb not null default '{}'::jsonb,
  body jsonb,
  timeout_milliseconds integer not null,
  created_at timestamptz not null default now()
);

create table if not exists net._http_response (
  id bigint primary key,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default now(),
  -- Stand-in extras (pg_net keeps only the columns above): which request this answers, so that
  -- tests and operators can match a response to its call. The request headers (the key) are not kept.
  method text,
  url text,
  request_body jsonb
);

create or replace function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language plpgsql volatile set search_path = '' as $$
declare
  v_url text := url;
  v_query text;
  v_id bigint;
begin
  if url is null or url !~* '^https?://' then
    raise exception 'net.http_post: url must be an http(s) URL, got %', coalesce(quote_literal(url), 'NULL');
  end if;
  if params is not null and params <> '{}'::jsonb then
    select string_agg(format('%s=%s', p.key, p.value), '&') into v_query from jsonb_each_text(params) p;
    v_url := v_url || case when position('?' in v_url) > 0 then '&' else '?' end || v_query;
  end if;
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', v_url, coalesce(headers, '{}'::jsonb), body, coalesce(timeout_milliseconds, 5000))
  returning id into v_id;
  perform pg_notify('net_http_request_queue', v_id::text);
  return v_id;
end $$;

revoke all on schema net from public;
revoke all on all tables in schema net from public;
revoke all on function net.http_post(text, jsonb, jsonb, jsonb, integer) from public;
do $$
begin
  -- The Supabase API roles exist once the baseline is applied; pg_net grants them nothing either.
  if exists (select 1 from pg_roles where rolname = 'anon') then
    execute 'revoke all on schema net from anon, authenticated';
  end if;
end $$;
