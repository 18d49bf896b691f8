// Hops budgeted by CPU as well as wall clock (issue 9, item 2): the budget derives its CPU margin
// from the steps it measured; the MotoPress client's requests and retry waits end at the deadline.
import { afterEach, describe, expect, it } from "vitest";
import {
  CPU_RESERVE_MS,
  HopBudget,
  HopDeadlineError,
  WALL_RESERVE_MS,
} from "../../supabase/functions/_shared/runs/budget.ts";
import type { IsolateMeter } from "../../supabase/functions/_shared/types.ts";
import { createMotoPressClient } from "../../supabase/functions/_shared/motopress/client.ts";
import { Simulator } from "../../tools/motopress-simulator/simulator.ts";
import { type SimulatorServer, startSimulatorServer } from "../../tools/motopress-simulator/node-server.ts";

function meter(startedAt: number) {
  let cpu = 0;
  const listeners = new Set<(r: string) => void>();
  const m: IsolateMeter & { spend(ms: number): void; unload(reason: string): void } = {
    startedAt,
    cpuMs: () => cpu,
    onBeforeUnload: (fn) => (listeners.add(fn), () => listeners.delete(fn)),
    spend: (ms) => (cpu += ms),
    unload: (reason) => listeners.forEach((fn) => fn(reason)),
  };
  return m;
}

const budgets: HopBudget[] = [];
afterEach(() => budgets.splice(0).forEach((b) => b.dispose()));
const make = (
  m: IsolateMeter,
  now: () => number,
  limits = { cpuLimitMs: 2000, wallClockLimitMs: 150_000, invocationBudgetMs: 100_000 },
) => {
  const b = new HopBudget(m, limits, now);
  budgets.push(b);
  return b;
};

describe("HopBudget", () => {
  it("stops while two of the largest measured steps plus the reserve still fit under the CPU limit", () => {
    const m = meter(0);
    const b = make(m, () => 0);
    for (let i = 0; i < 10; i++) {
      m.spend(100);
      b.step();
    }
    expect(b.cpuMarginMs()).toBe(CPU_RESERVE_MS + 200);
    expect(b.spent()).toBe(false); // 1000 used + 350 margin < 2000
    m.spend(300); // one expensive page: the margin follows it
    b.step();
    expect(b.cpuMarginMs()).toBe(CPU_RESERVE_MS + 600);
    expect(b.spent()).toBe(true); // 1300 used + 750 margin >= 2000
  });

  it("is spent once the used CPU plus the margin reaches the limit", () => {
    const m = meter(0);
    const b = make(m, () => 0);
    m.spend(100);
    b.step();
    m.spend(1500); // 1600 used; margin 150 + 2 x 1500
    expect(b.spent()).toBe(false);
    b.step();
    expect(b.spent()).toBe(true);
    expect(b.reason()).toMatch(/CPU limit ahead/);
  });

  it("counts the isolate's CPU, not the hop's: a reused worker has less left", () => {
    const m = meter(0);
    m.spend(1900); // earlier requests on this worker: 1900 + the reserve is past the limit
    const b = make(m, () => 0);
    expect(b.spent()).toBe(true);
  });

  it("the deadline is the earlier of the invocation's budget and the isolate's wall clock", () => {
    const m = meter(1_000_000);
    const now = 1_000_000 + 120_000; // a worker already 120 s old
    const b = make(m, () => now);
    expect(b.deadline).toBe(1_000_000 + 150_000 - WALL_RESERVE_MS);
    expect(b.hardDeadline).toBe(b.deadline);
    const fresh = make(meter(now), () => now);
    expect(fresh.deadline).toBe(now + 100_000);
    expect(fresh.hardDeadline).toBeGreaterThan(fresh.deadline);
  });

  it("beforeunload ends the hop at the next check", () => {
    const m = meter(0);
    const b = make(m, () => 0);
    expect(b.spent()).toBe(false);
    m.unload("wall_clock");
    expect(b.reason()).toMatch(/beforeunload: wall_clock/);
  });
});

describe("the MotoPress client under a deadline", () => {
  let server: SimulatorServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("a retry wait that would outlast the deadline is cut off with the deadline's reason, and no request follows", async () => {
    const sim = new Simulator({ seed: 3, hotel: { bookings: 20, today: "2025-07-01" } });
    sim.setFaults({ rules: [{ kind: "http5xx", times: 100, retryAfterSeconds: 30 }] });
    server = await startSimulatorServer({ port: 0, simulator: sim });
    const controller = new AbortController();
    let requests = 0;
    const waits: number[] = [];
    let endWait: (() => void) | undefined;
    const client = createMotoPressClient({
      siteUrl: server.url,
      ...sim.credentials,
      maxRetries: 10,
      maxRetryAfterMs: 60_000,
      signal: controller.signal,
      fetch: (input, init) => {
        requests++;
        return fetch(input, init);
      },
      // The deadline passes during the retry's wait; the wait itself ends only when the test says.
      sleep: (ms) => {
        waits.push(ms);
        setImmediate(() => controller.abort(new HopDeadlineError(Date.now())));
        return new Promise<void>((r) => (endWait = r));
      },
    });
    const t0 = Date.now();
    const err = await client.booking(1).catch((e) => e);
    expect(err).toBeInstanceOf(HopDeadlineError);
    expect(Date.now() - t0).toBeLessThan(5_000); // not the 30 s Retry-After
    expect(waits).toEqual([30_000]);
    // Even once the cut-off wait ends, no request follows (a retry would start in that turn).
    endWait!();
    await new Promise((r) => setImmediate(r));
    expect(requests).toBe(1);
  });

  it("a request in flight when the deadline passes is aborted, not retried", async () => {
    const sim = new Simulator({ seed: 3, hotel: { bookings: 20, today: "2025-07-01" } });
    sim.setFaults({ latencyMsPerPage: 5_000 });
    server = await startSimulatorServer({ port: 0, simulator: sim });
    const controller = new AbortController();
    let requests = 0;
    const client = createMotoPressClient({
      siteUrl: server.url,
      ...sim.credentials,
      signal: controller.signal,
      fetch: (input, init) => {
        requests++;
        return fetch(input, init);
      },
    });
    setTimeout(() => controller.abort(new HopDeadlineError(Date.now())), 200);
    const t0 = Date.now();
    const pages = client.bookings();
    const err = await pages[Symbol.asyncIterator]().next().catch((e) => e);
    expect(err).toBeInstanceOf(HopDeadlineError);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(requests).toBeLessThanOrEqual(2); // the page and its prefetch, never a retry
  });
});
