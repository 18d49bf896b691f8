// Reliability harness 3: cancels at random points of many syncs, per function (one tenant or all)
// and global (the command center). Once the cancel committed, no data row is created or updated,
// no new run is started for the cancelled work, and a cancelled run never becomes completed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../helpers/stack.ts";
import { type SimSite, startSite, tenantForSite, waitFor, waitForRun } from "../helpers/sim.ts";
import { expectDatabaseMatches } from "../helpers/compare.ts";
import {
  activeRuns,
  budgetMs,
  expectNoServerErrors,
  intBetween,
  mutateBookings,
  mutateUnits,
  pick,
  recordingCaller,
  rngFor,
  SCALE,
  scaled,
  sleep,
  waitForLogLine,
  writesAfter,
} from "./harness.ts";

let stack: Stack;
let caller: ReturnType<typeof recordingCaller>;
const tenants: { id: string; site: SimSite }[] = [];

beforeAll(async () => {
  stack = await startStack();
  caller = recordingCaller(stack);
  // Three tenants: more than the command center's tenant concurrency (2), so an all-tenants chain
  // still has a tenant queued when a global cancel lands.
  for (let i = 0; i < 3; i++) {
    const site = await startSite({
      seed: 131 + i,
      hotel: { bookings: Math.round((250 + 40 * i) * Math.min(SCALE, 4)), hiddenUnits: 0 },
    });
    const id = await tenantForSite(stack.db.sql, site);
    tenants.push({ id, site });
  }
  const res = await caller.call("sync-command-center", {});
  const run = await waitForRun(stack.db.sql, res.body.runId, 60_000);
  expect(run.status, run.error_message).toBe("completed");
  for (const t of tenants) await expectDatabaseMatches(stack.db.sql, t.id, t.site.sim);
});
afterAll(async () => {
  for (const t of tenants) await t.site.close();
  await stack?.close();
});

type Target = "motopress-bookings" | "motopress-accommodations" | "chain-one" | "chain-all";
type CancelMode = "source-tenant" | "source-all" | "global";

const STOPPED = /stopped: the run is no longer ours|finish lost|lease lost/;

/**
 * The cancelled runs that had a worker to stop: not the all-tenants run (it waits in Postgres while
 * its chains run), nor a tenant chain that was queued but not yet taken up by its invocation.
 */
async function withWorkers(runIds: string[]): Promise<string[]> {
  if (runIds.length === 0) return [];
  const rows = await stack.db.sql`
    select id from public.sync_runs where id = any(${runIds}) and tenant_id is not null and invocations > 0
      and not (source = 'sync-command-center' and fencing_token = 1 and parent_run_id is not null)`;
  return rows.map((r) => r.id as string);
}

describe("cancel race harness", () => {
  it("nothing is written after a cancel commits, and a cancelled run never completes", async () => {
    const rng = rngFor("cancel-races");
    const TARGETS: Target[] = ["motopress-bookings", "motopress-accommodations", "chain-one", "chain-all"];
    const MODES: CancelMode[] = ["source-tenant", "source-all", "global"];
    const iterations = scaled(16);
    const counts = {
      cancels: 0,
      runsCancelled: 0,
      afterEnd: 0,
      writesAfterCancel: 0,
      runsStartedAfterCancel: 0,
      cancelledThenCompleted: 0,
    };
    const problems: string[] = [];

    for (let i = 0; i < iterations; i++) {
      const target = TARGETS[i % TARGETS.length];
      const mode = MODES[Math.floor(i / TARGETS.length) % MODES.length];
      const latency = intBetween(rng, 60, 200);
      const delay = intBetween(rng, 0, target === "chain-all" ? 1200 : 450);
      const involved = target === "chain-all" ? tenants : [pick(rng, tenants)];
      const edits: string[] = [];
      for (const t of involved) {
        if (target !== "motopress-bookings") edits.push(...mutateUnits(rng, t.site.sim, 1));
        if (target !== "motopress-accommodations") {
          edits.push(...mutateBookings(rng, t.site.sim, intBetween(rng, 1, 4)));
        }
        t.site.sim.setFaults({ latencyMsPerPage: latency });
      }
      const fn = target.startsWith("chain") ? "sync-command-center" : target;
      const body = target === "chain-all" ? {} : { tenantId: involved[0].id };
      const started = await caller.call(fn, body);
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      await sleep(delay); // the random cancel point

      // Which source to cancel per function: the one running now (for a chain, its active child).
      let cancelFn = fn;
      if (mode !== "global" && target.startsWith("chain")) {
        // The all-tenants run's children are tenant chains: their own children are the source runs.
        const [child] = await stack.db.sql`
          select s.source from public.sync_runs s left join public.sync_runs p on p.id = s.parent_run_id
          where (s.parent_run_id = ${started.body.runId} or p.parent_run_id = ${started.body.runId})
            and s.source <> 'sync-command-center' and s.status in ('running', 'continuing') limit 1`;
        cancelFn = child?.source ?? pick(rng, ["motopress-accommodations", "motopress-bookings"]);
      }
      const cancelBody = mode === "global"
        ? { forceCancel: true }
        : mode === "source-tenant"
        ? { forceCancel: true, tenantId: involved[0].id }
        : { forceCancel: true };
      const label = `#${i} ${target} latency ${latency} cancel after ${delay} ms via ${
        mode === "global" ? "sync-command-center" : cancelFn
      } ${JSON.stringify(cancelBody)} [${edits.join(", ")}]`;
      const cancel = await caller.call(mode === "global" ? "sync-command-center" : cancelFn, cancelBody);
      expect(cancel.status, `${label}: ${JSON.stringify(cancel.body)}`).toBe(200);
      counts.cancels++;
      const runIds: string[] = cancel.body.runIds;
      counts.runsCancelled += runIds.length;
      if (runIds.length === 0) counts.afterEnd++;

      // Wait (polling the worker's log) until every cancelled run's worker has noticed and stopped.
      // The all-tenants run has no worker while its chains run (it waits in Postgres), so none stops.
      for (const id of await withWorkers(runIds)) await waitForLogLine(stack, id, STOPPED);
      // A chain whose child alone was cancelled goes on to fail; wait for it to end.
      if (!runIds.includes(started.body.runId)) await waitForRun(stack.db.sql, started.body.runId, 60_000);
      for (const t of involved) t.site.sim.resetFaults();

      if (runIds.length > 0) {
        const cancelled = await stack.db
          .sql`select id, tenant_id, source, status, completed_at from public.sync_runs where id = any(${runIds})`;
        const cancelledAt = new Date(Math.min(...cancelled.map((r) => r.completed_at.getTime())));
        for (const r of cancelled) {
          if (r.status !== "cancelled") {
            counts.cancelledThenCompleted++;
            problems.push(`${label}: cancelled run ${r.id} (${r.source}) is now ${r.status}`);
          }
        }
        // The tenants whose work was cancelled: those of the cancelled runs, every tenant of a cancelled all-tenants chain.
        const affected = cancelled.some((r) => r.tenant_id === null)
          ? involved
          : involved.filter((t) => cancelled.some((r) => r.tenant_id === t.id));
        for (const t of affected) {
          const late = await writesAfter(stack.db.sql, t.id, cancelledAt);
          if (late > 0) {
            counts.writesAfterCancel += late;
            problems.push(
              `${label}: ${late} data rows of tenant ${t.id} written after the cancel committed at ${cancelledAt.toISOString()}`,
            );
          }
        }
        // No run may be started for the cancelled work after the cancel (the command center's children included).
        const startedAfter = await stack.db.sql`
          select r.id, r.source, r.status, r.parent_run_id from public.sync_runs r
          left join public.sync_runs p on p.id = r.parent_run_id
          where r.started_at > ${cancelledAt}
            and (r.parent_run_id = any(${runIds}) or r.id = any(${runIds}) or p.parent_run_id = any(${runIds}))`;
        if (startedAfter.length > 0) {
          counts.runsStartedAfterCancel += startedAfter.length;
          problems.push(
            `${label}: runs started after the cancel: ${
              JSON.stringify(startedAfter.map((r) => [r.source, r.status]))
            }`,
          );
        }
      }

      // The slots are free at once: a new sync starts and ends with the database equal to the source.
      for (const active of await activeRuns(stack.db.sql)) {
        problems.push(`${label}: left active: ${active.source} ${active.status}`);
      }
      if (problems.length) break;
      const again = await caller.call(fn, body);
      expect(again.status, `${label}: restart after cancel ${JSON.stringify(again.body)}`).toBe(202);
      const run = await waitForRun(stack.db.sql, again.body.runId, 60_000);
      expect(run.status, `${label}: ${run.error_message}`).toBe("completed");
      for (const t of involved) await expectDatabaseMatches(stack.db.sql, t.id, t.site.sim);
    }

    expectNoServerErrors(caller.calls);
    console.log(
      `cancel race harness: cancels=${counts.cancels}, runs cancelled=${counts.runsCancelled}, cancels after the run ended=${counts.afterEnd}, ` +
        `rows written after a cancel=${counts.writesAfterCancel}, runs started after a cancel=${counts.runsStartedAfterCancel}, ` +
        `cancelled runs that completed=${counts.cancelledThenCompleted}, 5xx=${caller.serverErrors().length}`,
    );
    expect(problems).toEqual([]);
    expect(counts.runsCancelled).toBeGreaterThan(0);
  }, budgetMs(150_000));
});

describe("global cancel of an all-tenants chain", () => {
  it("a tenant still queued when the cancel lands is never started", async () => {
    // Upstream changes for every tenant: whoever is synced after the cancel would write rows.
    const rng = rngFor("cancel-queued");
    for (const t of tenants) {
      mutateBookings(rng, t.site.sim, 4);
      t.site.sim.setFaults({ latencyMsPerPage: 250 });
    }
    const res = await caller.call("sync-command-center", {});
    expect(res.status).toBe(202);
    const parentId: string = res.body.runId;
    // The chain works on two tenants at a time: cancel once the first children are busy and the third waits.
    await waitFor(async () => {
      const kids = await stack.db.sql`select id from public.sync_runs where parent_run_id = ${parentId}`;
      return kids.length >= 1;
    });
    const cancel = await caller.call("sync-command-center", { forceCancel: true });
    expect(cancel.status).toBe(200);
    expect(cancel.body.runIds).toContain(parentId);
    const [{ completed_at: cancelledAt }] = await stack.db
      .sql`select completed_at from public.sync_runs where id = ${parentId}`;
    // Each cancelled tenant chain's worker stops, then advances the fan-out (which starts nothing).
    const chains = (cancel.body.runIds as string[]).filter((id) => id !== parentId);
    for (const id of await withWorkers(chains)) await waitForLogLine(stack, id, STOPPED);
    for (const t of tenants) t.site.sim.resetFaults();
    const startedAfter = await stack.db.sql`
      select r.source, r.status, t.slug from public.sync_runs r join public.tenant_registry t on t.tenant_id = r.tenant_id
      left join public.sync_runs p on p.id = r.parent_run_id
      where (r.parent_run_id = ${parentId} or p.parent_run_id = ${parentId}) and r.started_at > ${cancelledAt}
      order by r.started_at`;
    let late = 0;
    for (const t of tenants) late += await writesAfter(stack.db.sql, t.id, cancelledAt);
    console.log(
      `global cancel of an all-tenants chain: children started after the cancel=${startedAfter.length} ${
        JSON.stringify(startedAfter.map((r) => `${r.slug} ${r.source} ${r.status}`))
      }, rows written after the cancel=${late}`,
    );
    expect(
      startedAfter.map((r) => `${r.slug} ${r.source} ${r.status}`),
      "children claimed after the global cancel",
    ).toEqual([]);
    expect(late, "data rows written after the global cancel").toBe(0);
    const [parent] = await stack.db.sql`select status from public.sync_runs where id = ${parentId}`;
    expect(parent.status).toBe("cancelled");
  }, 60_000);
});
