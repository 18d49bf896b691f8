-- Issue 13: a bookings page's statements run outside a transaction block, where `begin`'s SET LOCAL
-- of lock_timeout (LOCK_TIMEOUT_MS in db.ts) does not reach them. Each function bounds its own
-- lock waits instead: a page blocked behind a stalled holder of its run's row fails with
-- lock_not_available, a transient fault, and is retried. (Nothing is idle in a transaction that is
-- one statement.)
alter function sync.check_bookings_page(uuid, uuid, bigint, jsonb, integer[], text[], jsonb)
  set lock_timeout = '5000ms';
alter function sync.commit_bookings_page(uuid, uuid, bigint, jsonb, jsonb, jsonb, integer[], text[], jsonb, jsonb)
  set lock_timeout = '5000ms';
