// Database faults a run survives: a dropped connection, a restarting server, a lock or idle
// timeout, a serialisation failure. The unit of retry is a whole transaction (a page), which
// PostgreSQL rolled back; its first statement is the fence, so a retry re-checks ownership.

/** The database failed a run after the retries: the code the run records. */
export class DatabaseUnavailableError extends Error {
  readonly code = "DATABASE_UNAVAILABLE";
  constructor(readonly attempts: number, cause: unknown) {
    super(`The database failed ${attempts} attempts in a row; last: ${describe(cause)}.`, { cause });
    this.name = "DatabaseUnavailableError";
  }
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
  "08000", "08003", "08006", "08001", "08004", // connection exceptions
]);
// postgres.js and the runtime's socket errors.
const TRANSIENT_CLIENT_CODES = new Set([
  "ATTEMPT_TIMEOUT", // ours: an attempt that never settled (see attemptTimeoutMs)
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
  return TRANSIENT_CLIENT_CODES.has(code) || /connection (closed|reset|refused)|broken pipe/i.test(String((err as Error).message));
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  return `${typeof e?.code === "string" ? `${e.code}: ` : ""}${String(e?.message ?? err)}`;
}

export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  /**
   * An attempt that has not settled after this long counts as a transient fault and is retried.
   * postgres.js can leave a query pending forever when its connection is dropped at the wrong
   * moment; the server rolls that transaction back when the connection goes (or at
   * idle_in_transaction_session_timeout), so retrying is safe. Off when absent.
   */
  attemptTimeoutMs?: number;
  onRetry?: (attempt: number, err: unknown, delayMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

export const DB_RETRY_ATTEMPTS = 8;

/**
 * Runs `fn` (a whole transaction) and retries it on a transient fault, with exponential backoff
 * and jitter (0.2 s, 0.4 s, … capped at 5 s: about 20 s in all, enough for a restart). Any other
 * error is thrown at once; after the last attempt, a DatabaseUnavailableError.
 */
export async function withDbRetry<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? DB_RETRY_ATTEMPTS;
  const base = opts.baseDelayMs ?? 200;
  const max = opts.maxDelayMs ?? 5_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await withAttemptTimeout(fn, opts.attemptTimeoutMs);
    } catch (err) {
      if (!isTransientDbError(err)) throw err;
      if (attempt >= attempts || opts.signal?.aborted) throw new DatabaseUnavailableError(attempt, err);
      const delay = Math.min(max, base * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
      opts.onRetry?.(attempt, err, Math.round(delay));
      await sleep(delay);
    }
  }
}

function withAttemptTimeout<T>(fn: () => Promise<T>, ms: number | undefined): Promise<T> {
  if (!ms) return fn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`no answer from the database in ${ms} ms`), { code: "ATTEMPT_TIMEOUT" })),
      ms,
    );
  });
  return Promise.race([fn(), timeout]).finally(() => clearTimeout(timer));
}
