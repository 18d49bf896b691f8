import postgres from "postgres";

export type Sql = postgres.Sql<Record<string, never>>;
export type Tx = postgres.TransactionSql<Record<string, never>>;

/**
 * Lock and idle bounds on every connection of the functions (startup parameters, so no statement
 * is spent on them). A page transaction never waits on the network, so one idle for seconds is
 * stalled (a starved or dying isolate): the server ends it and frees the run's row, so a cancel or
 * a claim waits at most this long behind it. A page's own lock wait is bounded too; both surface as
 * a transient fault, and the page is retried.
 */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 3_000;
export const LOCK_TIMEOUT_MS = 5_000;

/**
 * One small pool per isolate (default 2: the platform runs many isolates and every connection
 * counts against the database's or the pooler's limit). `prepare: false` so that the same client
 * works through Supavisor's transaction mode (SYNC_DB_URL, port 6543), which cannot keep prepared
 * statements; on the direct connection it only costs a little parsing.
 */
export function createSql(url: string, opts: { max?: number; applicationName?: string } = {}): Sql {
  return postgres(url, {
    max: opts.max ?? 2,
    prepare: false,
    idle_timeout: 20,
    connect_timeout: 10,
    onnotice: () => {},
    connection: {
      // The functions' connections are told apart by this name (the reliability harness drops them).
      application_name: opts.applicationName ?? "motopress-sync",
      lock_timeout: LOCK_TIMEOUT_MS,
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    },
  }) as Sql;
}
