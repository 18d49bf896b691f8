// Continuations, crashes and streaming: the run survives its invocation.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Stack, startStack } from "../helpers/stack.ts";
import { ageRun } from "../helpers/db.ts";
import { type SimSite, startSite, tenantForSite, waitFor, waitForRun } from "../helpers/sim.ts";
import { expectDatabaseMatches } from "../helpers/compare.ts";

describe("continuations", () => {
  let stack: Stack;
  let site: SimSite;
  let tenant: string;
  beforeAll(async () => {
    // A budget of 1 ms: every page ends its invocation, checkpoints and continues in a new one.
    stack = await startStack({ SYNC_INVOCATION_BUDGET_MS: "1" });
    site = await startSite({ seed: 3, hotel: { bookings: 420 } });
    tenant = await tenantForSite(stack.db.sql, site);
  });
  afterAll(async () => {
    await site?.close();
    await stack?.close();
  });

  it("many continuations end in the same database as one invocation", async () => {
    for (const source of ["motopress-accommodations", "motopress-bookings"]) {
      const res = await stack.call(source, { tenantId: tenant });
      expect(res.status).toBe(202);
      const run = await waitForRun(stack.db.sql, res.body.runId);
      expect(run.status, run.error_message).toBe("completed");
      if (source === "motopress-bookings") {
        // 420 bookings: 5 pages, one invocation each; then one to name the unit only a booking knows.
        expect(run.invocations).toBe(6);
        expect(run.stats.counters["booking.pages"]).toBe(5);
      }
    }
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
  });

  it("the command center's chain survives its own budget by continuing, children included", async () => {
    const other = await tenantForSite(stack.db.sql, site);
    const res = await stack.call("sync-command-center", { tenantId: other });
    const parent = await waitForRun(stack.db.sql, res.body.runId);
    expect(parent.status, parent.error_message).toBe("completed");
    expect(parent.invocations).toBeGreaterThan(2);
    const kids = await stack.db
      .sql`select source, status, invocations from public.sync_runs where parent_run_id = ${parent.id} order by started_at`;
    expect(kids.map((k) => [k.source, k.status])).toEqual([
      ["motopress-accommodations", "completed"],
      ["motopress-bookings", "completed"],
    ]);
    expect(kids[1].invocations).toBe(6); // 5 pages, and the placeholder's name
    await expectDatabaseMatches(stack.db.sql, other, site.sim);
  });
});

describe("crash and resume", () => {
  let stack: Stack;
  let site: SimSite;
  let tenant: string;
  beforeAll(async () => {
    stack = await startStack();
    site = await startSite({ seed: 5, hotel: { bookings: 600 } });
    tenant = await tenantForSite(stack.db.sql, site);
    const acc = await stack.call("motopress-accommodations", { tenantId: tenant });
    await waitForRun(stack.db.sql, acc.body.runId);
  });
  afterAll(async () => {
    await site?.close();
    await stack?.close();
  });

  it("the server killed mid-run, restarted and resumed ends in the same database as an uninterrupted run", async () => {
    site.sim.setFaults({ latencyMsPerPage: 120 });
    const res = await stack.call("motopress-bookings", { tenantId: tenant });
    const runId = res.body.runId;
    await waitFor(async () => {
      const [r] = await stack.db.sql`select stats from public.sync_runs where id = ${runId}`;
      return (r.stats.counters?.["booking.pages"] ?? 0) >= 2;
    });
    await stack.restart(); // SIGKILL, then a fresh server on the same port
    site.sim.resetFaults();
    const [crashed] = await stack.db.sql`select status, checkpoint from public.sync_runs where id = ${runId}`;
    expect(crashed.status).toBe("running");
    expect(crashed.checkpoint.page).toBeGreaterThanOrEqual(3);
    // Before its lease ends the run is not resumable: the dead worker might still be alive.
    const early = await stack.call("motopress-bookings", { runId });
    expect(early.status).toBe(409);
    await ageRun(stack.db.sql, runId, 61);
    const resumed = await stack.call("motopress-bookings", { runId });
    expect(resumed.status).toBe(202);
    expect(resumed.body.resumed).toBe(true);
    const run = await waitForRun(stack.db.sql, runId);
    expect(run.status, run.error_message).toBe("completed");
    expect(run.invocations).toBe(2);
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
  });

  it("a continuation for an unknown or finished run is refused without writing", async () => {
    const unknown = await stack.call("motopress-bookings", { runId: crypto.randomUUID() });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("RUN_NOT_FOUND");
    // A continuing run of another function is not taken over by a wrong-function continuation.
    const [acc] = await stack.db.sql`
      insert into public.sync_runs (tenant_id, source, status) values (${tenant}, 'motopress-accommodations', 'continuing')
      returning id, fencing_token`;
    const wrong = await stack.call("motopress-bookings", { runId: acc.id });
    expect(wrong.status).toBe(404);
    const [untouched] = await stack.db
      .sql`select status, fencing_token from public.sync_runs where id = ${acc.id}`;
    expect(untouched).toEqual({ status: "continuing", fencing_token: acc.fencing_token });
    await stack.call("motopress-accommodations", { tenantId: tenant, forceCancel: true });
    const [done] = await stack.db
      .sql`select id from public.sync_runs where status = 'completed' and source = 'motopress-bookings' limit 1`;
    const finished = await stack.call("motopress-bookings", { runId: done.id });
    expect(finished.status).toBe(409);
    expect(finished.body.error.code).toBe("RUN_NOT_RESUMABLE");
  });

  it("a tenant whose site URL is unusable gets a failed run that says why, not a stale one", async () => {
    const [bad] = await stack.db
      .sql`insert into public.tenant_registry (slug, name) values ('bad-url', 'Bad URL') returning tenant_id`;
    await stack.db
      .sql`insert into private.motopress_credentials (tenant_id, site_url, consumer_key, consumer_secret)
                       values (${bad.tenant_id}, 'http://', 'ck', 'cs')`;
    const res = await stack.call("motopress-bookings", { tenantId: bad.tenant_id });
    expect(res.status).toBe(202);
    const run = await waitForRun(stack.db.sql, res.body.runId);
    expect(run.status).toBe("failed");
    expect(run.error_code).toBe("UPSTREAM_ERROR");
    expect(run.error_message).toMatch(/site URL/);
  });

  it("streams progress over SSE, then the finished run", async () => {
    site.sim.setFaults({ latencyMsPerPage: 300 });
    const res = await fetch(`${stack.server.url}/functions/v1/motopress-bookings`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${ADMIN_KEY}`,
        accept: "text/event-stream",
        "content-type": "application/json",
      },
      body: JSON.stringify({ tenantId: tenant }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const text = await res.text();
    site.sim.resetFaults();
    const events = [...text.matchAll(/event: (\w+)\ndata: (.*)\n\n/g)].map((m) => ({
      event: m[1],
      data: JSON.parse(m[2]),
    }));
    const progress = events.filter((e) => e.event === "progress");
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0].data).toMatchObject({ stage: "starting", current: 0 });
    expect(progress.some((p) => p.data.stage === "bookings" && /page \d+ of 6/.test(p.data.message))).toBe(
      true,
    );
    expect(progress.at(-1)!.data).toHaveProperty("total");
    const last = events.at(-1)!;
    expect(last.event).toBe("done");
    expect(last.data.run.status).toBe("completed");
  });
});
