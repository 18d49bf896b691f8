// Syncs under the platform's limits (issue 9, "Done when"): the functions run in the local edge
// runtime with the hosted defaults (CPU 1000/2000 ms accumulated per worker, 150 s, 256 MB).
//   * a 50,000-booking hotel syncs to equality, and no worker is ever killed: each hop checkpoints
//     before the CPU limit, with a margin measured from its own pages;
//   * the same hotel, edited upstream, re-synced where every invocation is killed at the CPU limit
//     (its hops told to ignore CPU) still completes, started again only by ordinary claims, with
//     exact counters. That runtime kills at 0.5 s, not 2, and half the bookings changed: the run
//     must be killed, resumed and killed again however fast the machine;
//   * the removal check of 1,000 deleted bookings completes across continuations;
//   * a poison page (one that kills every worker that asks for it, here at the wall clock) fails
//     the run with POISON_PAGE on the second takeover that finds it, naming the page.
// Sizes: LIMITS_TEST_BOOKINGS (default 50000) for the first two.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FunctionsServer, startFunctionsServer } from "../../scripts/stack/lib/functions-server.ts";
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
  // deno-lint-ignore no-explicit-any -- a JSON answer; each test reads the fields it asserts
  return { status: res.status, body: await res.json() as any };
}

const kills = (server: FunctionsServer, reason?: string) =>
  server.output().split("\n").filter((l) =>
    l.includes("worker killed") && (!reason || l.includes(`"reason":"${reason}"`))
  )
    .length;

/** The run's hops that ended by handing over to a continuation of their own. */
const continuedHops = (server: FunctionsServer, runId: string) =>
  server.output().split("\n")
    .filter((l) => l.includes(runId) && l.includes("hop ended") && l.includes('"status":"continue"'));

/** Ordinary claims (an operator's clicks) every half second until the run `first` started ends. */
async function claimUntilDone(
  server: FunctionsServer,
  sql: Stack["db"]["sql"],
  tenantId: string,
  first: string,
  timeoutMs: number,
) {
  const until = Date.now() + timeoutMs;
  let claims = 0;
  for (;;) {
    const [run] = await sql`select * from public.sync_runs where id = ${first}`;
    if (["completed", "failed", "cancelled"].includes(run.status)) return { run, claims };
    if (Date.now() > until) {
      throw new Error(`run still ${run.status} after ${timeoutMs} ms: ${JSON.stringify(run)}`);
    }
    const res = await post(server, "motopress-bookings", { tenantId });
    if (res.status === 202) {
      claims++;
      if (res.body.runId !== first) {
        return {
          run: (await sql`select * from public.sync_runs where id = ${first}`)[0],
          claims,
          next: res.body.runId as string,
        };
      }
    } else {
      // 546: the claim reached the worker the limit was killing (its CPU is the run's too), as it
      // can on the platform; the next click reaches a new worker.
      expect([409, 546], JSON.stringify(res.body)).toContain(res.status);
    }
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
    // kill (which would end the hop in time): the runtime kills every worker at 0.5 s of CPU.
    killedEveryHop = await startFunctionsServer({
      ...stack.env,
      EDGE_RUNTIME_CPU_SOFT_MS: "500",
      EDGE_RUNTIME_CPU_HARD_MS: "500",
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
        // How many hops it took depends on the machine (2 here, with 2.2 s of CPU in all; more on
        // CI's): what holds everywhere is that none was killed. The next test kills them.
        console.log(`[limits] ${BOOKINGS} bookings: ${run.invocations} invocations`);
      }
    }
    expect(kills(stack.server)).toBe(0);
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
    await expectIntegrity(stack.db.sql, tenant);
  }, 300_000);

  it(
    "a hotel whose invocations are killed at the CPU limit completes by resuming, started again only by claims",
    async () => {
      // The hotel of the test above, edited upstream; its next sync runs where every worker dies at 2 s of CPU.
      const [{ tenant_id: tenant }] = await stack.db.sql`
      select tenant_id from public.sync_runs where source = 'motopress-bookings' and status = 'completed' limit 1`;
      const direct = site.sim.bookingIds().filter((id) => site.sim.getBooking(id)!.ical === null);
      // Half of them changed: a re-sync of only unchanged pages is cheap, and the run must cost
      // several kills' worth of CPU on a fast machine too.
      const changed = direct.slice(0, -5).filter((_, i) => i % 2 === 0);
      for (const id of changed) {
        site.sim.modifyBooking(id, { customer: { first_name: "Killed", last_name: `Twice ${id}` } });
      }
      const gone = direct.slice(-5);
      for (const id of gone) site.sim.deleteBooking(id);
      const start = await post(killedEveryHop, "motopress-bookings", { tenantId: tenant });
      expect(start.status, JSON.stringify(start.body)).toBe(202);
      const { run, claims } = await claimUntilDone(
        killedEveryHop,
        stack.db.sql,
        tenant,
        start.body.runId,
        400_000,
      );
      expect(run.status, run.error_message).toBe("completed");
      const cpuKills = kills(killedEveryHop, "cpu");
      console.log(
        `[limits] killed at the CPU limit ${cpuKills} times, ${claims} claims resumed it, ${run.invocations} invocations`,
      );
      if (process.env.LIMITS_TEST_VERBOSE) {
        console.log(
          killedEveryHop.output().split("\n").filter((l) => /edge-runtime|hop ended/.test(l)).join("\n"),
        );
      }
      expect(cpuKills).toBeGreaterThanOrEqual(BOOKINGS >= 40_000 ? 2 : 1);
      // Started again only by claims: no hop handed over to a continuation of its own, and every
      // worker killed was the start's or a claim's. The last one may be killed just after its commit
      // completed the run (the runtime reads a worker's CPU every 20 ms, so one passes its limit by
      // up to that much; CI saw 5 kills with 4 claims), hence claims + 1.
      const continuations = continuedHops(killedEveryHop, run.id);
      expect(continuations.length, `hops that continued: ${continuations.join("\n")}`).toBe(0);
      expect(cpuKills).toBeLessThanOrEqual(claims + 1);
      // Exact across kills: every page counted once, every change once.
      const listed = BOOKINGS - gone.length;
      expect(run.stats.counters["booking.items"]).toBe(listed);
      expect(run.stats.counters["booking.pages"]).toBe(Math.ceil(listed / 100));
      expect(run.stats.counters["booking.updated"]).toBe(changed.length);
      expect(run.stats.counters["booking.inserted"] ?? 0).toBe(0);
      expect(run.stats.counters["booking.removedUpstream"]).toBe(gone.length);
      await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
      await expectIntegrity(stack.db.sql, tenant);
    },
    420_000,
  );
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
    const removalHops = continuedHops(stack.server, run.id).length;
    console.log(`[limits] removal check: ${run.invocations} invocations, ${removalHops} continuations`);
    expect(run.invocations).toBeGreaterThan(3);
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
  }, 300_000);

  it("a poison page fails the run with POISON_PAGE after at most 2 takeovers, naming the page", async () => {
    const POISON_PAGE = 3;
    // A broken site in front of the simulator: bookings page 3 never answers, so every worker that
    // asks for it dies at the wall clock (6 s here; the function is told it has a day, so it never
    // ends the hop itself).
    const hanging = new Set<http.ServerResponse>();
    const proxy = http.createServer((req, res) => {
      const url = new URL(req.url!, "http://x");
      if (
        url.pathname.endsWith("/mphb/v1/bookings") && url.searchParams.get("page") === String(POISON_PAGE)
      ) {
        hanging.add(res);
        return;
      }
      const upstream = http.request(new URL(req.url!, site.server.url), {
        method: req.method,
        headers: req.headers,
      }, (u) => {
        res.writeHead(u.statusCode!, u.headers);
        u.pipe(res);
      });
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
    const poisoned = await startFunctionsServer({
      ...stack.env,
      EDGE_RUNTIME_WALL_CLOCK_MS: "6000",
      EDGE_RUNTIME_BEFOREUNLOAD_PCT: "100",
      SYNC_WALL_CLOCK_LIMIT_MS: "86400000",
      SYNC_INVOCATION_BUDGET_MS: "3600000",
      MOTOPRESS_TIMEOUT_MS: "300000",
    });
    try {
      const tenant = await tenantForSite(stack.db.sql, site);
      const port = (proxy.address() as { port: number }).port;
      // The credentials entered for the proxy's address (a stored secret goes only to its own origin).
      const proxied = `http://127.0.0.1:${port}`;
      await stack.db
        .sql`update private.motopress_credentials set site_url = ${proxied}, secret_origin = ${proxied} where tenant_id = ${tenant}`;
      const start = await post(poisoned, "motopress-bookings", { tenantId: tenant });
      expect(start.status, JSON.stringify(start.body)).toBe(202);
      const { run, next } = await claimUntilDone(poisoned, stack.db.sql, tenant, start.body.runId, 200_000);
      expect(run.status).toBe("failed");
      expect(run.error_code, run.error_message).toBe("POISON_PAGE");
      expect(run.error_message).toContain(`bookings page ${POISON_PAGE}`);
      expect(run.error_message).toMatch(/the 2 workers that tried it/);
      // The worker of the first claim and the one of its one takeover; the second takeover failed it.
      expect(kills(poisoned, "wall_clock")).toBe(2);
      expect(run.invocations).toBeLessThanOrEqual(2);
      // Pages before the poison page were kept; the next claim got a new run (cancelled here).
      expect(run.stats.counters["booking.pages"]).toBe(POISON_PAGE - 1);
      expect(next).toBeTruthy();
      await post(poisoned, "motopress-bookings", { tenantId: tenant, forceCancel: true });
      const health = await stack.call("sync-command-center", undefined, { method: "GET" });
      expect(JSON.stringify(health.body)).toContain("POISON_PAGE");
    } finally {
      for (const res of hanging) res.destroy();
      proxy.close();
      await poisoned.stop();
    }
  }, 240_000);
});
