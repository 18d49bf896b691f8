// Database faults a run survives: a dropped connection, a restarting server, a lock or idle
// timeout, a serialisation failure. The unit of retry is a whole transaction (a page), which
// PostgreSQL rolled back; it opens with the fence, so a retry re-checks ownership.

/** The database failed a run after the retries: the code the run records. */
export class DatabaseUnavailableError extends Error {
  readonly code = "DATABASE_UNAVAILABLE";
  constructor(readonly attempts: number, readonly elapsedMs: number, cause: unknown) {
    super(
      `The database failed ${attempts} attempts in a row over ${Math.round(elapsedMs / 1000)} s; last: ${
        describe(cause)
      }.`,
      { cause },
    );
    this.name = "DatabaseUnavailableError";
  }
}

/**
 * A statement the server ended at its statement_timeout, again on the retry: the work is too slow
 * for the database, not the database unavailable. Names the statement and where the run was.
 */
export class StatementTimeoutError extends Error {
  readonly code = "STATEMENT_TIMEOUT";
  constructor(
    readonly statement: string,
    readonly where: string | undefined,
    attempts: number,
    cause: unknown,
  ) {
    super(
      `${where ? `${where}: ` : ""}${statement} did not finish within the database's statement timeout ` +
        `(${attempts} attempts).`,
      { cause },
    );
    this.name = "StatementTimeoutError";
  }
}

/** The server ended the statement at statement_timeout (57014 is also a cancel, told by its words). */
export function isStatementTimeout(err: unknown): boolean {
  const e = err as { name?: string; code?: unknown; message?: unknown } | null;
  return !!e && e.name === "PostgresError" && e.code === "57014" &&
    /statement timeout/i.test(String(e.message));
}

/** The SQL function a statement called, else its first words: what a timeout names. */
function statementOf(err: unknown): string {
  const query = String((err as { query?: unknown })?.query ?? "");
  const fn = /\bsync\.[a-z_]+/i.exec(query)?.[0];
  return fn ?? (query.replace(/\s+/g, " ").trim().slice(0, 60) || "a statement");
}

// SQLSTATE classes and codes worth a retry: the transaction was rolled back for a reason that
// is not in its data.
const TRANSIENT_SQLSTATES = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "55P03", // lock_not_available (lock_timeout)
  "25P03", // idle_in_transaction_session_timeout
  "57P01", // admin_shutdown (pg_terminate_backend, a restart)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up)
  "53300", // too_many_connections
  "08000",
  "08003",
  "08006",
  "08001",
  "08004", // connection exceptions
]);
// postgres.js and the runtime's socket errors.
const TRANSIENT_CLIENT_CODES = new Set([
  "ATTEMPT_TIMEOUT", // ours: an attempt that never settled (see attemptTimeoutMs)
  "POOL_WITHOUT_TYPES", // ours: the pool is replaced (db.ts)
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
]);

export function isTransientDbError(err: unknown): boolean {
  const e = err as { name?: string; code?: unknown } | null;
  if (!e || typeof e !== "object") return false;
  const code = typeof e.code === "string" ? e.code : "";
  if (e.name === "PostgresError") return TRANSIENT_SQLSTATES.has(code) || code.startsWith("08");
  return TRANSIENT_CLIENT_CODES.has(code) ||
    /connection (closed|reset|refused)|broken pipe/i.test(String((err as Error).message));
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  return `${typeof e?.code === "string" ? `${e.code}: ` : ""}${String(e?.message ?? err)}`;
}

export interface RetryOptions {
  /**
   * How long the retries may go on, counted from the first fault (default DB_RETRY_BUDGET_MS);
   * then DatabaseUnavailableError. Time, not a count: a restart is ridden out however many quick
   * refusals or slow connect timeouts it is made of.
   */
  budgetMs?: number;
  /** A cap on the attempts as well (default none: the time budget bounds them). */
  attempts?: number;
  /**
   * The invocation's deadline (epoch ms): no wait runs past it. The last fault is then thrown as
   * it is, a transient error, so the caller hands the run over to a fresh invocation (the executor
   * suspends it to `continuing`) instead of failing it.
   */
  deadline?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Stops the retries, and the wait between two, at once (the run is no longer ours). */
  signal?: AbortSignal;
  /**
   * An attempt that has not settled after this long counts as a transient fault and is retried.
   * postgres.js can leave a query pending forever when its connection is dropped at the wrong
   * moment; the server rolls that transaction back when the connection goes (or at
   * idle_in_transaction_session_timeout), so retrying is safe. Off when absent.
   */
  attemptTimeoutMs?: number;
  onRetry?: (attempt: number, err: unknown, delayMs: number) => void;
  /** Attempts a statement may be ended at statement_timeout (default 2); then StatementTimeoutError. */
  slowAttempts?: number;
  /** Where the run is (a page), for StatementTimeoutError's words. */
  where?: string;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

/**
 * A PostgreSQL restart or a failover (tens of seconds on a hosted project) fits, and the retries
 * still end well inside an isolate's wall clock (150 s on the free plan; runs/budget.ts).
 */
export const DB_RETRY_BUDGET_MS = 60_000;

/**
 * Runs `fn` (a whole transaction) and retries it on a transient fault, with exponential backoff
 * and jitter (0.2 s, 0.4 s, … capped at 5 s) for up to `budgetMs` from the first fault. Any other
 * error is thrown at once; past the budget, a DatabaseUnavailableError; at the deadline, the fault.
 */
export async function withDbRetry<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const budget = opts.budgetMs ?? DB_RETRY_BUDGET_MS;
  const attempts = opts.attempts ?? Infinity;
  const base = opts.baseDelayMs ?? 200;
  const max = opts.maxDelayMs ?? 5_000;
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? abortableSleep;
  let firstFault: number | undefined;
  let slow = 0;
  for (let attempt = 1;; attempt++) {
    try {
      return await withAttemptTimeout(fn, opts.attemptTimeoutMs);
    } catch (err) {
      if (isStatementTimeout(err) && ++slow >= (opts.slowAttempts ?? 2)) {
        throw new StatementTimeoutError(statementOf(err), opts.where, slow, err);
      }
      if (!isTransientDbError(err) && !isStatementTimeout(err)) throw err;
      const at = now();
      firstFault ??= at;
      const delay = Math.min(max, base * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
      if (opts.deadline !== undefined && at + delay >= opts.deadline) throw err;
      if (attempt >= attempts || at + delay - firstFault > budget || opts.signal?.aborted) {
        throw new DatabaseUnavailableError(attempt, at - firstFault, err);
      }
      opts.onRetry?.(attempt, err, Math.round(delay));
      await sleep(delay, opts.signal);
      if (opts.signal?.aborted) throw new DatabaseUnavailableError(attempt, now() - firstFault, err);
    }
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
function withAttemptTimeout<T>(fn: () => Promise<T>, ms: number | undefined): Promise<T> {
  if (!ms) return fn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          Object.assign(new Error(`no answer from the database in ${ms} ms`), { code: "ATTEMPT_TIMEOUT" }),
        ),
      ms,
    );
  });
  return Promise.race([fn(), timeout]).finally(() => clearTimeout(timer));
}
