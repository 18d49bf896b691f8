-- What a hosted Supabase project already has and the migrations assume. Applied by
-- `npm run db:migrate` only when the target is a plain PostgreSQL (no `supabase_admin` role).
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
end
$$;

create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;
grant usage on schema public to anon, authenticated, service_role;

-- A current hosted project (since the 2026 Data API change) gives new tables in `public` no
-- grants for anon, authenticated or service_role: mirror that, so that a missing explicit grant
-- fails here as it would there. Revoked too, for a database an older baseline set up with the
-- former defaults.
alter default privileges in schema public revoke all on tables from anon, authenticated, service_role;
alter default privileges in schema public revoke all on functions from anon, authenticated, service_role;
alter default privileges in schema public revoke all on sequences from anon, authenticated, service_role;
