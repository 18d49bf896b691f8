// The local edge runtime enforces the platform's limits (issue 9, item 1): real Deno worker
// processes under the real supervisor, serving a probe function (tests/fixtures/edge-runtime/).
// One server has the hosted defaults (a busy loop is killed at ~2 s of CPU; 10 s of awaited I/O is
// not); one has lower test limits with the same semantics (wall clock, memory, retirement,
// beforeunload, idle timeout), each limit on its own server; one has the limits off.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FunctionsServer, startFunctionsServer } from "../../scripts/stack/lib/functions-server.ts";
import { waitForLog } from "../helpers/wait.ts";

const SERVE = "tests/fixtures/edge-runtime/serve.ts";
let hosted: FunctionsServer;
let low: FunctionsServer;
let off: FunctionsServer;
let idle: FunctionsServer;
let wall: FunctionsServer;
let unload: FunctionsServer;

beforeAll(async () => {
  [hosted, low, off, idle, wall, unload] = await Promise.all([
    startFunctionsServer({}, undefined, SERVE),
    startFunctionsServer(
      {
        EDGE_RUNTIME_CPU_SOFT_MS: "300",
        EDGE_RUNTIME_CPU_HARD_MS: "600",
        EDGE_RUNTIME_MEMORY_MB: "200",
      },
      undefined,
      SERVE,
    ),
    startFunctionsServer(
      { EDGE_RUNTIME_LIMITS: "off", EDGE_RUNTIME_CPU_SOFT_MS: "100", EDGE_RUNTIME_CPU_HARD_MS: "200" },
      undefined,
      SERVE,
    ),
    startFunctionsServer({ EDGE_RUNTIME_REQUEST_IDLE_TIMEOUT_MS: "1000" }, undefined, SERVE),
    // Its own server: a short wall clock would also retire and kill the CPU tests' workers under load.
    startFunctionsServer({ EDGE_RUNTIME_WALL_CLOCK_MS: "4000" }, undefined, SERVE),
    // beforeunload at half the hard limit, not 90 %: 60 ms of CPU between the event and the kill
    // is less than a loaded machine may take to poll the worker and to let the event through.
    startFunctionsServer(
      {
        EDGE_RUNTIME_CPU_SOFT_MS: "300",
        EDGE_RUNTIME_CPU_HARD_MS: "600",
        EDGE_RUNTIME_BEFOREUNLOAD_PCT: "50",
      },
      undefined,
      SERVE,
    ),
  ]);
});
afterAll(async () => {
  await Promise.all([hosted?.stop(), low?.stop(), off?.stop(), idle?.stop(), wall?.stop(), unload?.stop()]);
});

async function call(server: FunctionsServer, fn: string, query: string) {
  const t0 = performance.now();
  const res = await fetch(`${server.url}/functions/v1/${fn}?${query}`, { method: "POST" });
  const text = await res.text();
  // deno-lint-ignore no-explicit-any -- the probe's JSON answer; each test reads what it asserts
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: res.status, code: res.headers.get("sb-error-code"), body, ms: performance.now() - t0 };
}

/** Waits for a log line of the server (an event, not a sleep). */
// deno-lint-ignore no-explicit-any -- a JSON log line; each test reads the fields it asserts
type LogLine = Record<string, any>;
async function logLine(
  server: FunctionsServer,
  pattern: RegExp,
  timeoutMs = 15_000,
): Promise<LogLine> {
  return JSON.parse(await waitForLog(() => server.output(), pattern, { timeoutMs }));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("hosted limits (the defaults)", () => {
  it.concurrent("a busy loop is killed at about 2 s of CPU: 546 WORKER_LIMIT, worker gone", async () => {
    const first = await call(hosted, "probe-a", "op=pid");
    const res = await call(hosted, "probe-a", "op=busy&ms=20000");
    expect(res.status).toBe(546);
    expect(res.code).toBe("WORKER_LIMIT");
    expect(res.body.code).toBe("WORKER_LIMIT");
    const kill = await logLine(hosted, /worker killed: CPU time hard limit reached.*"fn":"probe-a"/);
    expect(kill.reason).toBe("cpu");
    expect(kill.cpuMs).toBeGreaterThanOrEqual(2000);
    expect(kill.cpuMs).toBeLessThan(2400);
    expect(res.ms).toBeLessThan(15_000); // killed long before the 20 s loop would end
    // Gone: the supervisor saw it exit (a SIGKILLed process is a zombie until it is reaped).
    await logLine(hosted, /worker stopped.*"fn":"probe-a".*"reason":"cpu"/);
    expect(alive(first.body.pid)).toBe(false);
    // The next request gets a new worker.
    const next = await call(hosted, "probe-a", "op=pid");
    expect(next.status).toBe(200);
    expect(next.body.pid).not.toBe(first.body.pid);
  }, 30_000);

  it.concurrent("a request that waits on I/O for 10 s is not killed, and its worker is reused", async () => {
    const first = await call(hosted, "probe-b", "op=pid");
    const res = await call(hosted, "probe-b", "op=sleep&ms=10000");
    expect(res.status).toBe(200);
    expect(res.ms).toBeGreaterThanOrEqual(10_000);
    expect(res.body.pid).toBe(first.body.pid);
  }, 30_000);
});

describe("lower test limits, same semantics", () => {
  it.concurrent(
    "wall clock: beforeunload (wall_clock) first, then killed at the limit with 546",
    async () => {
      const res = await call(wall, "probe-a", "op=sleep&ms=20000");
      expect(res.status).toBe(546);
      expect(res.code).toBe("WORKER_LIMIT");
      expect(res.ms).toBeGreaterThanOrEqual(3900);
      expect(res.ms).toBeLessThan(10_000);
      const before = await logLine(wall, /probe beforeunload.*"reason":"wall_clock"/);
      expect(before.reason).toBe("wall_clock");
      expect((await logLine(wall, /worker killed: wall clock duration reached.*"fn":"probe-a"/)).reason).toBe(
        "wall_clock",
      );
    },
    30_000,
  );

  it.concurrent("memory: a worker holding more than the limit is killed with 546", async () => {
    const res = await call(low, "probe-b", "op=alloc&mb=400");
    expect(res.status).toBe(546);
    const kill = await logLine(low, /worker killed: memory limit reached.*"fn":"probe-b"/);
    expect(kill.rssMb).toBeGreaterThanOrEqual(200);
  }, 30_000);

  it.concurrent(
    "CPU soft limit retires the worker: the next request gets a new one, the old is dropped",
    async () => {
      const first = await call(low, "probe-c", "op=busy&ms=400"); // past soft (300), under hard (600)
      expect(first.status).toBe(200);
      await logLine(low, /worker retired: CPU time soft limit reached.*"fn":"probe-c"/);
      const next = await call(low, "probe-c", "op=pid");
      expect(next.body.pid).not.toBe(first.body.pid);
      const dropped = await logLine(
        low,
        new RegExp(`probe beforeunload.*"reason":"early_drop".*"pid":${first.body.pid}`),
      );
      expect(dropped.pid).toBe(first.body.pid);
    },
    30_000,
  );

  it.concurrent("beforeunload (cpu) reaches a worker that yields, before the CPU kill", async () => {
    const res = await call(unload, "probe-d", "op=busy-yielding&ms=5000");
    expect(res.status).toBe(546);
    expect((await logLine(unload, /probe beforeunload.*"reason":"cpu"/)).reason).toBe("cpu");
    expect((await logLine(unload, /worker killed: CPU time hard limit reached.*"fn":"probe-d"/)).cpuMs)
      .toBeGreaterThanOrEqual(600);
  }, 30_000);

  it.concurrent("a retired worker with a pending waitUntil is kept until it settles", async () => {
    const first = await call(low, "probe-e", "op=background&ms=1200");
    expect(first.status).toBe(200);
    await call(low, "probe-e", "op=busy&ms=400"); // retires it (CPU soft limit) while the task is pending
    await logLine(low, /worker retired: CPU time soft limit reached.*"fn":"probe-e"/);
    const done = await logLine(low, new RegExp(`probe background done.*"pid":${first.body.pid}`));
    expect(done.pid).toBe(first.body.pid);
  }, 30_000);

  it.concurrent("a request with no response by the idle timeout gets 504", async () => {
    const res = await call(idle, "probe-a", "op=sleep&ms=2500");
    expect(res.status).toBe(504);
    expect(res.code).toBe("IDLE_TIMEOUT");
    expect(res.ms).toBeLessThan(2500);
  }, 30_000);
});

describe("limits off (debugging)", () => {
  it("a busy loop past every limit completes", async () => {
    const res = await call(off, "probe-a", "op=busy&ms=700");
    expect(res.status).toBe(200);
  }, 30_000);

  it(
    "the heap is still the platform's: a worker whose JavaScript heap outgrows 256 MB dies with 546",
    async () => {
      const res = await call(off, "probe-d", "op=heap&mb=1000");
      expect(res.status).toBe(546);
      const kill = await logLine(off, /worker killed: memory limit reached.*"fn":"probe-d"/);
      expect(kill.heapLimitMb).toBe(256);
      expect((await call(off, "probe-d", "op=pid")).status).toBe(200);
    },
    60_000,
  );
});
