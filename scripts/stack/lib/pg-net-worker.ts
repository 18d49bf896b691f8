// Plays pg_net's background worker for the stand-in in scripts/stack/lib/pg-net-standin.sql (Node side,
// local only): takes committed requests from net.http_request_queue, performs them with fetch and
// records the outcome in net._http_response, as pg_net does. Woken by NOTIFY (sent by
// net.http_post, delivered at commit) and, as a fallback, by polling.
import postgres from "postgres";

export interface PgNetWorker {
  /** Requests performed so far (answered, failed or timed out). */
  readonly processed: number;
  /** Takes everything queued now and waits until it is recorded. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

export interface PgNetWorkerOptions {
  pollMs?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  log?: (line: string) => void;
  fetchImpl?: typeof fetch;
}

interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  timeout_milliseconds: number;
}

export async function startPgNetWorker(dbUrl: string, opts: PgNetWorkerOptions = {}): Promise<PgNetWorker> {
  const pollMs = opts.pollMs ?? 1000;
  const concurrency = opts.concurrency ?? 8;
  const log = opts.log ?? (() => {});
  const doFetch = opts.fetchImpl ?? fetch;
  const sql = postgres(dbUrl, {
    max: 2,
    onnotice: () => {},
    connection: { application_name: "pg-net-worker" },
  });

  const [{ ok }] = await sql`select to_regclass('net.http_request_queue') is not null as ok`;
  if (!ok) {
    await sql.end();
    throw new Error(
      "pg-net worker: net.http_request_queue does not exist; apply scripts/stack/lib/pg-net-standin.sql first.",
    );
  }

  let processed = 0;
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  let ticking: Promise<void> | null = null;
  let again = false;

  async function perform(req: QueuedRequest): Promise<void> {
    let row: Record<string, unknown>;
    try {
      const res = await doFetch(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.method === "GET" || req.body === null ? undefined : JSON.stringify(req.body),
        signal: AbortSignal.timeout(req.timeout_milliseconds),
      });
      const content = await res.text();
      const headers: Record<string, string> = {};
      res.headers.forEach((v, k) => (headers[k] = v));
      row = {
        id: req.id,
        status_code: res.status,
        content_type: res.headers.get("content-type"),
        headers,
        content,
        timed_out: false,
        error_msg: null,
      };
      log(`pg-net: ${req.method} ${req.url} -> ${res.status}`);
    } catch (err) {
      const e = err as Error;
      const timedOut = e?.name === "TimeoutError" || e?.name === "AbortError";
      row = {
        id: req.id,
        status_code: null,
        content_type: null,
        headers: null,
        content: null,
        timed_out: timedOut,
        error_msg: timedOut ? `Timeout of ${req.timeout_milliseconds} ms reached` : String(e?.message ?? err),
      };
      log(`pg-net: ${req.method} ${req.url} failed: ${row.error_msg}`);
    }
    await sql`
      insert into net._http_response (id, status_code, content_type, headers, content, timed_out, error_msg,
                                      method, url, request_body)
      values (${row.id as string}, ${row.status_code as number | null}, ${row.content_type as string | null},
              ${row.headers === null ? null : sql.json(row.headers as never)}, ${row.content as
      | string
      | null},
              ${row.timed_out as boolean}, ${row.error_msg as string | null},
              ${req.method}, ${req.url}, ${req.body === null ? null : sql.json(req.body as never)})
      on conflict (id) do nothing`;
    processed++;
  }

  async function tick(): Promise<void> {
    while (!stopped) {
      const room = concurrency - inFlight.size;
      if (room <= 0) {
        await Promise.race(inFlight);
        continue;
      }
      // Taking a request deletes it (as pg_net does): it is sent at most once.
      const taken = await sql<QueuedRequest[]>`
        delete from net.http_request_queue q
        where q.id in (select id from net.http_request_queue order by id limit ${room} for update skip locked)
        returning q.id::text as id, q.method, q.url, q.headers, q.body, q.timeout_milliseconds`;
      if (taken.length === 0) return;
      for (const req of taken) {
        const p: Promise<void> = perform(req)
          .catch((err) => log(`pg-net: recording request ${req.id} failed: ${String(err)}`))
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    }
  }

  function wake(): Promise<void> {
    if (ticking) {
      again = true;
      return ticking;
    }
    ticking = (async () => {
      try {
        do {
          again = false;
          await tick();
        } while (again && !stopped);
      } catch (err) {
        if (!stopped) log(`pg-net: polling failed: ${String(err)}`);
      } finally {
        ticking = null;
      }
    })();
    return ticking;
  }

  const listener = await sql.listen("net_http_request_queue", () => void wake());
  const timer = setInterval(() => void wake(), pollMs);
  void wake();

  return {
    get processed() {
      return processed;
    },
    async drain() {
      await wake();
      await Promise.allSettled([...inFlight]);
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await listener.unlisten().catch(() => {});
      await ticking?.catch(() => {});
      await Promise.allSettled([...inFlight]);
      await sql.end({ timeout: 5 });
    },
  };
}
