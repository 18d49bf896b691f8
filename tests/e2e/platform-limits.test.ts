// Syncs under the platform's limits (issue 9, "Done when"): the functions run in the local edge
// runtime with the hosted defaults (CPU 1000/2000 ms accumulated per worker, 150 s, 256 MB).
//   * a 50,000-booking hotel syncs to equality, and no worker is ever killed: each hop checkpoints
//     before the CPU limit, with a margin measured from its own pages;
//   * a hotel whose invocations are killed at the CPU limit (its hops told to ignore CPU) still
//     completes, started again only by ordinary claims, with exact counters;
//   * the removal check of 1,000 deleted bookings completes across continuations;
//   * a poison page (one that kills every worker at the memory limit) fails the run with
//     NO_PROGRESS after the bounded attempts, naming the page.
// Sizes: LIMITS_TEST_BOOKINGS (default 50000) for the first two.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFunctionsServer, type FunctionsServer } from "../../scripts/lib/functions-server.ts";
import { ADMIN_KEY, type Stack, startStack } from "../helpers/stack.ts";
import { type SimSite, startSite, tenantForSite, waitForRun } from "../helpers/sim.ts";
import { expectDatabaseMatches, expectIntegrity } from "../helpers/compare.ts";

const BOOKINGS = Number(process.env.LIMITS_TEST_BOOKINGS ?? 50_000);

async function post(server: FunctionsServer, fn: string, body: unknown) {
  const res = await fetch(`${server.url}/functions/v1/${fn}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() as any };
}

const kills = (server: FunctionsServer, reason?: string) =>
  server.output().split("\n").filter((l) => l.includes("worker killed") && (!reason || l.includes(`"reason":"${reason}"`)))
    .length;

/** Ordinary claims (an operator's clicks) every half second until the run `first` started ends. */
async function claimUntilDone(server: FunctionsServer, sql: Stack["db"]["sql"], tenantId: string, first: string, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  let claims = 0;
  for (;;) {
    const [run] = await sql`select * from public.sync_runs where id = ${first}`;
    if (["completed", "failed", "cancelled"].includes(run.status)) return { run, claims };
    if (Date.now() > until) throw new Error(`run still ${run.status} after ${timeoutMs} ms: ${JSON.stringify(run)}`);
    const res = await post(server, "motopress-bookings", { tenantId });
    if (res.status === 202) {
      claims++;
      if (res.body.runId !== first) return { run: (await sql`select * from public.sync_runs where id = ${first}`)[0], claims, next: res.body.runId as string };
    } else expect(res.status, JSON.stringify(res.body)).toBe(409);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe("a large hotel under the hosted limits", () => {
  let stack: Stack;
  let site: SimSite;
  let killedEveryHop: FunctionsServer;

  beforeAll(async () => {
    site = await startSite({ seed: 90, hotel: { bookings: BOOKINGS, types: 10, unitsPerType: 20 } });
    stack = await startStack({ SYNC_LEASE_SECONDS: "3" });
    // The same functions, told to ignore CPU when they plan a hop, and no beforeunload before the
    // kill (which would end the hop in time): the runtime kills every worker at 2 s of CPU.
    killedEveryHop = await startFunctionsServer({
      ...stack.env,
      EDGE_RUNTIME_BEFOREUNLOAD_PCT: "100",
      SYNC_CPU_LIMIT_MS: "3600000",
      SYNC_INVOCATION_BUDGET_MS: "3600000",
    });
  }, 180_000);
  afterAll(async () => {
    await killedEveryHop?.stop();
    await stack?.close();
    await site?.close();
  });

  it(`a ${BOOKINGS}-booking hotel syncs to equality, and no worker is killed`, async () => {
    const tenant = await tenantForSite(stack.db.sql, site);
    for (const source of ["motopress-accommodations", "motopress-bookings"]) {
      const res = await stack.call(source, { tenantId: tenant });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      const run = await waitForRun(stack.db.sql, res.body.runId, 300_000);
      expect(run.status, run.error_message).toBe("completed");
      if (source === "motopress-bookings") {
        expect(run.stats.counters["booking.items"]).toBe(BOOKINGS);
        expect(run.invocations).toBeGreaterThan(1); // it needed more than one hop's CPU
        console.log(`[limits] ${BOOKINGS} bookings: ${run.invocations} invocations`);
      }
    }
    expect(kills(stack.server)).toBe(0);
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
    await expectIntegrity(stack.db.sql, tenant);
  }, 300_000);

  it("a hotel whose invocations are killed at the CPU limit completes by resuming, started again only by claims", async () => {
    const tenant = await tenantForSite(stack.db.sql, site);
    const acc = await post(killedEveryHop, "motopress-accommodations", { tenantId: tenant });
    expect((await waitForRun(stack.db.sql, acc.body.runId, 60_000)).status).toBe("completed");
    const start = await post(killedEveryHop, "motopress-bookings", { tenantId: tenant });
    expect(start.status, JSON.stringify(start.body)).toBe(202);
    const { run, claims } = await claimUntilDone(killedEveryHop, stack.db.sql, tenant, start.body.runId, 400_000);
    expect(run.status, run.error_message).toBe("completed");
    const cpuKills = kills(killedEveryHop, "cpu");
    console.log(`[limits] killed at the CPU limit ${cpuKills} times, ${claims} claims resumed it, ${run.invocations} invocations`);
    if (process.env.LIMITS_TEST_VERBOSE) {
      console.log(killedEveryHop.output().split("\n").filter((l) => /edge-runtime|hop ended/.test(l)).join("\n"));
    }
    expect(cpuKills).toBeGreaterThanOrEqual(1);
    expect(claims).toBeGreaterThanOrEqual(cpuKills);
    // Exact across kills: every page counted once, every booking once.
    expect(run.stats.counters["booking.items"]).toBe(BOOKINGS);
    expect(run.stats.counters["booking.pages"]).toBe(Math.ceil(BOOKINGS / 100));
    expect(run.stats.counters["booking.inserted"]).toBe(BOOKINGS);
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
    await expectIntegrity(stack.db.sql, tenant);
  }, 420_000);
});

describe("removals and poison pages", () => {
  let stack: Stack;
  let site: SimSite;

  beforeAll(async () => {
    site = await startSite({ seed: 91, hotel: { bookings: 1_500 } });
    // A short budget: the removal check cannot fit in one invocation.
    stack = await startStack({ SYNC_LEASE_SECONDS: "3", SYNC_INVOCATION_BUDGET_MS: "500" });
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
    await site?.close();
  });

  it("the removal check of 1,000 deleted bookings completes across continuations", async () => {
    const tenant = await tenantForSite(stack.db.sql, site);
    for (const source of ["motopress-accommodations", "motopress-bookings"]) {
      const res = await stack.call(source, { tenantId: tenant });
      expect((await waitForRun(stack.db.sql, res.body.runId, 120_000)).status).toBe("completed");
    }
    const ids = site.sim.bookingIds();
    for (const id of ids.slice(0, 1_000)) site.sim.deleteBooking(id);
    const res = await stack.call("motopress-bookings", { tenantId: tenant });
    const run = await waitForRun(stack.db.sql, res.body.runId, 240_000);
    expect(run.status, run.error_message).toBe("completed");
    expect(run.stats.counters["booking.removedUpstream"]).toBe(1_000);
    const [{ n }] = await stack.db.sql`
      select count(*)::int as n from public.guest_reservations where tenant_id = ${tenant} and removed_upstream_at is not null`;
    expect(n).toBe(1_000);
    const removalHops = stack.server.output().split("\n")
      .filter((l) => l.includes(run.id) && l.includes("hop ended") && l.includes('"status":"continue"')).length;
    console.log(`[limits] removal check: ${run.invocations} invocations, ${removalHops} continuations`);
    expect(run.invocations).toBeGreaterThan(3);
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
  }, 300_000);

  it("a poison page fails the run with NO_PROGRESS after the bounded attempts, naming the page", async () => {
    const POISON_PAGE = 3;
    // A broken site in front of the simulator: bookings page 3 is a 400 MB body, which kills every
    // worker that reads it at the memory limit.
    const proxy = http.createServer((req, res) => {
      const url = new URL(req.url!, "http://x");
      if (url.pathname.endsWith("/mphb/v1/bookings") && url.searchParams.get("page") === String(POISON_PAGE)) {
        res.writeHead(200, { "content-type": "application/json", "x-wp-total": "1500", "x-wp-totalpages": "15" });
        const chunk = Buffer.alloc(1 << 20, 0x20);
        let sent = 0;
        const pump = () => {
          while (sent < 400 && res.write(chunk)) sent++;
          if (sent < 400) res.once("drain", pump);
          else res.end("[]");
        };
        res.on("error", () => {});
        return pump();
      }
      const upstream = http.request(new URL(req.url!, site.server.url), { method: req.method, headers: req.headers }, (u) => {
        res.writeHead(u.statusCode!, u.headers);
        u.pipe(res);
      });
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
    try {
      const tenant = await tenantForSite(stack.db.sql, site);
      const port = (proxy.address() as { port: number }).port;
      await stack.db.sql`update private.motopress_credentials set site_url = ${`http://127.0.0.1:${port}`} where tenant_id = ${tenant}`;
      const start = await stack.call("motopress-bookings", { tenantId: tenant });
      expect(start.status).toBe(202);
      const { run, next } = await claimUntilDone(stack.server, stack.db.sql, tenant, start.body.runId, 200_000);
      expect(run.status).toBe("failed");
      expect(run.error_code).toBe("NO_PROGRESS");
      expect(run.error_message).toContain(`bookings page ${POISON_PAGE}`);
      expect(run.error_message).toMatch(/5 attempts/);
      expect(kills(stack.server, "memory")).toBeGreaterThanOrEqual(5);
      // Pages before the poison page were kept; the next claim got a new run (cancelled here).
      expect(run.stats.counters["booking.pages"]).toBe(POISON_PAGE - 1);
      expect(next).toBeTruthy();
      await stack.call("motopress-bookings", { tenantId: tenant, forceCancel: true });
      const health = await stack.call("sync-command-center", undefined, { method: "GET" });
      expect(JSON.stringify(health.body)).toContain("NO_PROGRESS");
    } finally {
      proxy.close();
    }
  }, 240_000);
});
