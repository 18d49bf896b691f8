// The all-tenants run over HTTP: one tenant's chain per invocation, at most the bound at once,
// the global cancel during the fan-out, and a chain's child refused to direct callers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../helpers/stack.ts";
import { ageRun, insertTenant } from "../helpers/db.ts";
import { type SimSite, startSite, tenantForSite, waitFor, waitForRun } from "../helpers/sim.ts";
import { expectDatabaseMatches } from "../helpers/compare.ts";
import { diffAgainstSource } from "../reliability/harness.ts";

const BOUND = 3;
let stack: Stack;
const sites: SimSite[] = [];
beforeAll(async () => {
  stack = await startStack({ SYNC_TENANT_CONCURRENCY: String(BOUND) });
  for (let i = 0; i < 5; i++) {
    sites.push(await startSite({ seed: 100 + i, hotel: { bookings: 25, types: 2, unitsPerType: 2 } }));
  }
});
afterAll(async () => {
  for (const s of sites) await s.close();
  await stack?.close();
});

/** The largest number of intervals open at one instant (a start at the same instant as an end counts after it). */
function maxOverlap(intervals: { start: number; end: number }[]): number {
  const events = intervals.flatMap((i) => [{ t: i.start, d: 1 }, { t: i.end, d: -1 }]).sort((a, b) =>
    a.t - b.t || a.d - b.d
  );
  let open = 0, max = 0;
  for (const e of events) max = Math.max(max, open += e.d);
  return max;
}

const fresh = () => stack.db.sql`update public.tenant_registry set is_active = false`;

describe("the all-tenants run", () => {
  it("50 tenants: each chain in its own invocation, never more than the bound at once; per-tenant results", async () => {
    await fresh();
    const tenants: { id: string; site: SimSite }[] = [];
    for (let i = 0; i < 50; i++) {
      const site = sites[i % sites.length];
      tenants.push({ id: await tenantForSite(stack.db.sql, site), site });
    }
    const unconfigured = await insertTenant(stack.db.sql, "zz-no-credentials");
    const res = await stack.call("sync-command-center", { trigger: "cron" });
    expect(res.status).toBe(202);
    const parent = await waitForRun(stack.db.sql, res.body.runId, 240_000);

    // One failure, classified by its type: a tenant without credentials is TENANT_NOT_CONFIGURED.
    expect(parent.status).toBe("failed");
    expect(parent.error_code).toBe("TENANTS_FAILED");
    expect(parent.error_message).toMatch(
      /^1 of 51 tenants failed: zz-no-credentials \(accommodations failed: /,
    );
    expect(parent.stats.tenants).toHaveLength(51);
    const bad = parent.stats.tenants.find((t: { tenantId: string }) => t.tenantId === unconfigured);
    expect(bad).toMatchObject({ state: "failed", error: { code: "TENANT_NOT_CONFIGURED" } });
    expect(parent.stats.tenants.filter((t: { state: string }) => t.state === "completed")).toHaveLength(50);

    // The global run's children are per-tenant chains; every sync run hangs off its own tenant's chain.
    const chains = await stack.db.sql`select * from public.sync_runs where parent_run_id = ${parent.id}`;
    expect(chains).toHaveLength(51);
    expect(new Set(chains.map((c) => c.tenant_id)).size).toBe(51);
    expect(chains.every((c) => c.source === "sync-command-center")).toBe(true);
    for (const c of chains) {
      expect(c.stats.tenants.map((t: { tenantId: string }) => t.tenantId)).toEqual([c.tenant_id]);
    }
    const [{ strays }] = await stack.db.sql`
      select count(*)::int as strays from public.sync_runs s join public.sync_runs c on c.id = s.parent_run_id
      where c.parent_run_id = ${parent.id} and (s.tenant_id is distinct from c.tenant_id or s.source = 'sync-command-center')`;
    expect(strays).toBe(0);
    // The bound, from the database's own timestamps: a slot is taken at a chain's insert and given
    // back at its end, and the next insert happens after that end committed.
    const overlap = maxOverlap(
      chains.map((c) => ({ start: c.started_at.getTime(), end: c.completed_at.getTime() })),
    );
    expect(overlap).toBeLessThanOrEqual(BOUND);
    expect(overlap).toBe(BOUND); // and the fan-out did run tenants side by side
    // The parent's own invocations did no tenant's work: it only queued and advanced.
    expect(parent.stats).toMatchObject({ tenantCount: 51, completed: 50, failed: 1 });

    for (const t of tenants) {
      const diff = await diffAgainstSource(stack.db.sql, t.id, t.site.sim);
      expect(diff, t.id).toEqual({ lost: [], extra: [], duplicates: [] });
    }
    await expectDatabaseMatches(stack.db.sql, tenants[7].id, tenants[7].site.sim);
  });

  it("a global cancel during the fan-out leaves nothing running and starts nothing queued", async () => {
    await fresh();
    const slow = await startSite({ seed: 200, hotel: { bookings: 300, types: 2, unitsPerType: 2 } });
    slow.sim.setFaults({ latencyMsPerPage: 300 });
    try {
      for (let i = 0; i < 8; i++) await tenantForSite(stack.db.sql, slow);
      const res = await stack.call("sync-command-center", {});
      const parentId = res.body.runId;
      await waitFor(async () => {
        const [{ n }] = await stack.db.sql`
          select count(*)::int as n from public.sync_runs where parent_run_id = ${parentId} and status = 'running'`;
        return n === BOUND;
      });
      const cancel = await stack.call("sync-command-center", { forceCancel: true });
      expect(cancel.status).toBe(200);
      expect(cancel.body.runIds).toContain(parentId);
      const chains = await stack.db.sql`select id from public.sync_runs where parent_run_id = ${parentId}`;
      expect(chains).toHaveLength(BOUND);
      // Each cancelled chain's invocation ends by advancing the fan-out: wait for those events.
      await waitFor(() => {
        const lines = stack.server.output().split("\n").filter((l) =>
          l.includes(parentId) && l.includes("fan-out advanced")
        );
        return lines.length >= 1 + BOUND; // the parent's own, then one per chain
      }, 30_000);
      const after = await stack.db
        .sql`select id, status from public.sync_runs where parent_run_id = ${parentId}`;
      expect(after).toHaveLength(BOUND);
      expect(after.every((c) => c.status === "cancelled")).toBe(true);
      const [{ active }] = await stack.db
        .sql`select count(*)::int as active from public.sync_runs where status in ('running','continuing')`;
      expect(active).toBe(0);
      const [{ queued }] = await stack.db.sql`
        select count(*)::int as queued from sync.fanout_tenants where parent_run_id = ${parentId} and chain_run_id is null`;
      expect(queued).toBe(8 - BOUND);
    } finally {
      await slow.close();
    }
  });
});

describe("a chain's child belongs to its chain", () => {
  it("a direct start or continuation of the child gets 409 naming the chain, even after its lease", async () => {
    await fresh();
    // Slow enough that the bookings child is still running through the checks below.
    const slow = await startSite({ seed: 201, hotel: { bookings: 1500, types: 2, unitsPerType: 2 } });
    slow.sim.setFaults({ latencyMsPerPage: 600 });
    try {
      const tenant = await tenantForSite(stack.db.sql, slow);
      const res = await stack.call("sync-command-center", { tenantId: tenant });
      const child = await waitFor(async () => {
        const [b] = await stack.db
          .sql`select * from public.sync_runs where parent_run_id = ${res.body.runId} and source = 'motopress-bookings' and status = 'running'`;
        return b;
      });
      const direct = await stack.call("motopress-bookings", { tenantId: tenant });
      expect(direct.status).toBe(409);
      expect(direct.body.error).toMatchObject({
        code: "RUN_IN_PROGRESS",
        runId: child.id,
        chainRunId: res.body.runId,
      });
      expect(direct.body.error.message).toContain(`chain run ${res.body.runId}`);
      await ageRun(stack.db.sql, child.id, 600); // as if the child's worker had died
      expect((await stack.call("motopress-bookings", { tenantId: tenant })).status).toBe(409);
      const cont = await stack.call("motopress-bookings", { runId: child.id });
      expect(cont.status).toBe(409);
      expect(cont.body.error.chainRunId).toBe(res.body.runId);
      slow.sim.resetFaults();
      const chain = await waitForRun(stack.db.sql, res.body.runId);
      expect(chain.status, chain.error_message).toBe("completed");
      await expectDatabaseMatches(stack.db.sql, tenant, slow.sim);
    } finally {
      await slow.close();
    }
  });
});
