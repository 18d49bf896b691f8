import net from "node:net";
// Deno gives user code no `setImmediate` global (only npm packages see one).
import { setImmediate } from "node:timers";
import postgres from "postgres";

export type Sql = postgres.Sql<Record<string, never>>;
export type Tx = postgres.TransactionSql<Record<string, never>>;
/** Either: for statements that run in the caller's transaction or as transactions of their own. */
export type Queryable = Sql | Tx;

/**
 * Lock and idle bounds on every transaction of the functions. A page transaction never waits on
 * the network, so one idle for seconds is stalled (a starved or dying isolate): the server ends it
 * and frees the run's row, so a cancel or a claim waits at most this long behind it. A page's own
 * lock wait is bounded too; both surface as a transient fault, and the page is retried.
 */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 3_000;
export const LOCK_TIMEOUT_MS = 5_000;

/**
 * Set by each transaction for itself (`set_config(…, true)` is SET LOCAL), not as startup
 * parameters or session SETs: the hosted transaction pooler (Supavisor, SYNC_DB_URL on port 6543)
 * hands each transaction a server connection of its own and does not carry a client's startup
 * parameters to it (PgBouncer refuses unknown ones outright), and a session SET would leak to
 * whoever gets that connection next. The statement is pipelined with the transaction's first one.
 */
const transactionBounds = (statementTimeoutMs: number) =>
  `select set_config('lock_timeout', '${LOCK_TIMEOUT_MS}ms', true),` +
  ` set_config('idle_in_transaction_session_timeout', '${IDLE_IN_TRANSACTION_TIMEOUT_MS}ms', true),` +
  ` set_config('statement_timeout', '${Math.round(statementTimeoutMs)}ms', true)`;

/**
 * The server ends a statement of the functions that runs longer than this (each transaction sets
 * it for itself, as the bounds above): the server stops the work and frees its locks, where a
 * client that stopped waiting would leave it running. Shorter than a page's own wait (30 s).
 */
export const STATEMENT_TIMEOUT_MS = 20_000;

/** Postgres.js waits this long for a connection; a restart is ridden out by the retries (runs/db-faults.ts). */
export const CONNECT_TIMEOUT_S = 5;

/**
 * postgres.js 3.4.9 can wedge a pool connection for good when its socket closes with a write
 * pending (the dropped connections of tests/reliability/db-faults.test.ts, under Deno): the write
 * timer is cleared but not reset, so no later write of that connection is ever flushed, and every
 * connect of it ends in CONNECT_TIMEOUT until about 1 KB of unsent startup messages forces a flush
 * (a minute and more; upstream porsager/postgres#1154, #1208). A sound connection writes its
 * startup message (or SSLRequest) within one event-loop turn of getting its socket; one that has
 * written nothing after this long is wedged, and the pool is replaced.
 */
const FIRST_WRITE_MS = 1_000;

type SocketOptions = { host: string[]; port: number[]; path: string | false };

/**
 * One small pool per isolate (default 2: the platform runs many isolates and every connection
 * counts against the database's or the pooler's limit). `prepare: false` so that the same client
 * works through Supavisor's transaction mode, which cannot keep prepared statements; on the direct
 * connection it only costs a little parsing. Every transaction opened with `begin` starts with its
 * bounds. The value returned stands for whichever pool is current (see FIRST_WRITE_MS).
 */
export function createSql(
  url: string,
  opts: { max?: number; applicationName?: string; statementTimeoutMs?: number } = {},
): Sql {
  const bounds = transactionBounds(opts.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS);
  let current = open();

  function open(): Sql {
    const pool = postgres(url, {
      max: opts.max ?? 2,
      prepare: false,
      idle_timeout: 20,
      connect_timeout: CONNECT_TIMEOUT_S,
      onnotice: () => {},
      connection: {
        // The functions' connections are told apart by this name (the reliability harness drops
        // them). Poolers pass application_name on; it bounds nothing.
        application_name: opts.applicationName ?? "motopress-sync",
      },
      socket: (o: SocketOptions) => watchedSocket(o, () => replace(pool)),
    } as postgres.Options<Record<string, never>>) as unknown as Sql;
    const begin = pool.begin.bind(pool) as (options: string, fn: (tx: Tx) => unknown) => Promise<unknown>;
    pool.begin = ((options: string | ((tx: Tx) => unknown), fn?: (tx: Tx) => unknown) => {
      const body = (typeof options === "function" ? options : fn)!;
      return begin(typeof options === "string" ? options : "", (tx) => {
        // Its first connection started without the array types (see inheritArrayTypes): this
        // transaction's array parameters would be sent wrong. A new pool fetches them; the
        // caller's retry runs there.
        if (withoutArrayTypes(pool)) throw replacedWithoutTypes(pool);
        // Not awaited: sent in the same write as the body's first statement. A failure fails the
        // transaction (postgres.js rethrows any statement's error from begin).
        tx.unsafe(bounds).execute();
        return body(tx);
      });
    }) as Sql["begin"];
    return pool;
  }

  function replacedWithoutTypes(pool: Sql) {
    replace(pool);
    return Object.assign(new Error("the database connection started without its array types"), {
      code: "POOL_WITHOUT_TYPES",
    });
  }

  function replace(spent: Sql) {
    if (spent !== current) return;
    current = open();
    inheritArrayTypes(current, spent);
    // Its queries fail (CONNECTION_DESTROYED, a transient fault) and are retried on the new pool.
    spent.end({ timeout: 1 }).catch(() => {});
  }

  return new Proxy((() => {}) as unknown as Sql, {
    apply: (_target, _this, args) =>
      Reflect.apply(current as unknown as (...a: unknown[]) => unknown, undefined, args),
    get: (_target, prop) => {
      const value = Reflect.get(current, prop);
      return typeof value === "function" ? value.bind(current) : value;
    },
  });
}

/**
 * The array types a pool learned (postgres.js fetches them on a connection's first start), given
 * to its replacement. A new pool's map is empty until then, and 3.4.9 leaves it empty for good when
 * that first fetch is dropped mid-way (it then runs the connection's queries without it): an
 * int[]/text[] parameter would go out as a scalar ("function sync.quarantine(…, text) does not
 * exist"), a data error no retry mends.
 */
type Learned = { shared: { typeArrayMap: Record<number, number> }; parsers: object; serializers: object };
const learnedOf = (pool: Sql) => pool.options as unknown as Learned;
const withoutArrayTypes = (pool: Sql) => Object.keys(learnedOf(pool).shared.typeArrayMap).length === 0;

/**
 * A statement run as a transaction of its own, under the transaction bounds (the statement timeout
 * above all, which only a transaction can set for itself through a transaction pooler): `begin`
 * sends the bounds with the statement, and COMMIT follows. Inside a caller's transaction (`sql` is
 * one) the statement just runs there, under its bounds. `begin` also keeps a pool that never
 * learned its array types from sending the statement (POOL_WITHOUT_TYPES, retried on a new pool).
 */
export async function ownTransaction(
  sql: Queryable,
  statement: (q: Queryable) => postgres.PendingQuery<postgres.Row[]>,
): Promise<postgres.Row[]> {
  if (typeof (sql as Sql).reserve !== "function") return await statement(sql);
  return await (sql as Sql).begin((tx) => statement(tx)) as postgres.Row[];
}

function inheritArrayTypes(next: Sql, from: Sql) {
  const [to, old] = [learnedOf(next), learnedOf(from)];
  Object.assign(to.shared.typeArrayMap, old.shared.typeArrayMap);
  for (const typarray of Object.values(old.shared.typeArrayMap)) {
    Object.assign(to.parsers, { [typarray]: (old.parsers as Record<number, unknown>)[typarray] });
    Object.assign(to.serializers, { [typarray]: (old.serializers as Record<number, unknown>)[typarray] });
  }
}

/** The socket postgres.js would open, and a call to `wedged` if it never writes to it. */
function watchedSocket(o: SocketOptions, wedged: () => void): net.Socket {
  const socket = new net.Socket();
  // bytesWritten counts what the socket was given, sent or still buffered. The verdict waits one
  // more turn: after a long synchronous stretch the timer may come due before the write
  // postgres.js already scheduled (setImmediate) has run.
  const timer = setTimeout(
    () => setImmediate(() => socket.destroyed || socket.bytesWritten > 0 || wedged()),
    FIRST_WRITE_MS,
  );
  socket.once("close", () => clearTimeout(timer));
  // postgres.js reads these for TLS's server name and its error messages.
  Object.assign(socket, { host: o.host[0], port: o.port[0] });
  if (o.path) socket.connect(o.path);
  else socket.connect(o.port[0], o.host[0]);
  return socket;
}
