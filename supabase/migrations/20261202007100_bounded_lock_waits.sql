-- Issue 10: the functions' lock and idle bounds are set by each of their transactions (SET LOCAL),
-- no longer as connection startup parameters, which the hosted transaction pooler does not carry
-- (supabase/functions/_shared/db.ts). The functions that wait on another run's row (a cancel of
-- one run, a continuation's takeover, the reaper) bound their own waits, as sync.claim_run,
-- sync.cancel_runs and sync.advance_fanout already do, whoever calls them (pg_cron, a dashboard).
alter function sync.cancel_run(uuid, text) set lock_timeout = '15s';
alter function sync.resume_run(uuid) set lock_timeout = '10s';
alter function sync.reap_stale_runs(text) set lock_timeout = '10s';
