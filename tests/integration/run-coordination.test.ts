import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ageRun, createTestDatabase, insertTenant, type TestDatabase } from "../helpers/db.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  cancelRuns,
  claimRun,
  finishRun,
  getRun,
  heartbeat,
  reapStaleRuns,
  resumeRun,
  RunLostError,
  suspendRun,
  withFencedTransaction,
} from "../../supabase/functions/_shared/runs/coordinator.ts";
import { leaseOf, type Run, type Source } from "../../supabase/functions/_shared/runs/types.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(60);
});
afterAll(async () => {
  await db.drop();
});

const claim = (tenantId: string, source: Source = "motopress-bookings", leaseSeconds = 60) =>
  claimRun(db.sql, { tenantId, source, trigger: "manual", leaseSeconds });

async function claimed(tenantId: string): Promise<Run> {
  const r = await claim(tenantId);
  if (r.outcome !== "claimed") throw new Error(`expected claimed, got ${r.outcome}`);
  return r.run;
}

const activeCount = async (tenantId: string) =>
  (await db
    .sql`select count(*)::int as n from public.sync_runs where tenant_id = ${tenantId} and status in ('running','continuing')`)[
      0
    ].n;

describe("claim", () => {
  it("gives the slot to one run and names the holder to the next", async () => {
    const tenant = await insertTenant(db.sql);
    const first = await claimed(tenant);
    const second = await claim(tenant);
    expect(second.outcome).toBe("busy");
    if (second.outcome !== "busy") return;
    expect(second.holder.id).toBe(first.id);
    expect(second.holder.startedAt).toBe(first.startedAt);
    expect(second.holder.heartbeatAt).toBe(first.heartbeatAt);
    // Another source of the same tenant is independent.
    expect((await claim(tenant, "motopress-accommodations")).outcome).toBe("claimed");
  });

  it("50 concurrent claims: exactly one winner, 49 told who holds it", async () => {
    const tenant = await insertTenant(db.sql);
    const results = await Promise.all(Array.from({ length: 50 }, () => claim(tenant)));
    const winners = results.filter((r) => r.outcome === "claimed");
    const busy = results.filter((r) => r.outcome === "busy");
    expect(winners).toHaveLength(1);
    expect(busy).toHaveLength(49);
    const winnerId = winners[0].outcome === "claimed" ? winners[0].run.id : "";
    for (const b of busy) expect(b.outcome === "busy" && b.holder.id).toBe(winnerId);
    expect(await activeCount(tenant)).toBe(1);
  });

  it("the all-tenants slot (tenant NULL) is unique too", async () => {
    const a = await claimRun(db.sql, {
      tenantId: null,
      source: "sync-command-center",
      trigger: "cron",
      leaseSeconds: 60,
    });
    const b = await claimRun(db.sql, {
      tenantId: null,
      source: "sync-command-center",
      trigger: "cron",
      leaseSeconds: 60,
    });
    expect(a.outcome).toBe("claimed");
    expect(b.outcome).toBe("busy");
    await cancelRuns(db.sql, { source: "sync-command-center" });
  });

  it("resumes a `running` holder whose lease expired (its worker died) from its checkpoint, with a new token", async () => {
    const tenant = await insertTenant(db.sql);
    const old = await claimed(tenant);
    await withFencedTransaction(db.sql, leaseOf(old), async () => {}, { checkpoint: { page: 4 } });
    await ageRun(db.sql, old.id, 61);
    const next = await claim(tenant);
    expect(next.outcome).toBe("resumed");
    if (next.outcome !== "resumed") return;
    expect(next.run.id).toBe(old.id);
    expect(next.run.checkpoint).toEqual({ page: 4 });
    expect(next.run.fencingToken).toBe(old.fencingToken + 1);
    expect(next.run.attemptsWithoutProgress).toBe(1);
    // The dead worker is fenced out.
    expect(await heartbeat(db.sql, leaseOf(old))).toBe(false);
  });

  it("does not reclaim a holder one second before its lease ends", async () => {
    const tenant = await insertTenant(db.sql);
    const old = await claimed(tenant);
    await ageRun(db.sql, old.id, 59);
    expect((await claim(tenant)).outcome).toBe("busy");
  });

  it("claims racing a takeover of an expired holder: exactly one resumes it, the rest are told it is busy", async () => {
    const tenant = await insertTenant(db.sql);
    const old = await claimed(tenant);
    await ageRun(db.sql, old.id, 120);
    const results = await Promise.all(Array.from({ length: 20 }, () => claim(tenant)));
    const resumed = results.filter((r) => r.outcome === "resumed");
    expect(resumed).toHaveLength(1);
    expect(results.filter((r) => r.outcome === "busy")).toHaveLength(19);
    const run = await getRun(db.sql, old.id);
    expect(run?.fencingToken).toBe(old.fencingToken + 1); // taken over exactly once
    expect(run?.attemptsWithoutProgress).toBe(1);
    expect(await activeCount(tenant)).toBe(1);
  });

  it("hops that each hand over without committing a page fail the run after the bounded takeovers (NO_PROGRESS), naming the page and cause", async () => {
    const tenant = await insertTenant(db.sql);
    const run = await claimed(tenant);
    await withFencedTransaction(db.sql, leaseOf(run), async () => {}, {
      checkpoint: { phase: 0, page: 7 },
      stats: { progress: { stage: "bookings", current: 6 } },
    });
    await db.sql`update public.sync_runs set max_attempts_without_progress = 3 where id = ${run.id}`;
    let token = run.fencingToken;
    for (let attempt = 1; attempt <= 3; attempt++) {
      await ageRun(db.sql, run.id, 61);
      const next = await claim(tenant);
      expect(next.outcome, `attempt ${attempt}`).toBe("resumed");
      if (next.outcome === "resumed") {
        token = next.run.fencingToken;
        // The hop ends at its deadline before the site answered: handed over, nothing committed.
        await suspendRun(db.sql, leaseOf(next.run), {});
      }
      if (attempt === 2) {
        await db
          .sql`update public.sync_runs set last_interruption = 'the runtime stopped the worker (beforeunload: cpu)'
                     where id = ${run.id}`;
      }
    }
    await ageRun(db.sql, run.id, 61);
    const fresh = await claim(tenant);
    // The fourth takeover is refused: the run fails and the slot goes to a new run.
    expect(fresh.outcome).toBe("claimed");
    if (fresh.outcome === "claimed") expect(fresh.reclaimedRunId).toBe(run.id);
    const failed = await getRun(db.sql, run.id);
    expect(failed?.status).toBe("failed");
    expect(failed?.errorCode).toBe("NO_PROGRESS");
    expect(failed?.errorMessage).toContain("3 attempts");
    expect(failed?.errorMessage).toContain("bookings page 7");
    expect(failed?.errorMessage).toContain("beforeunload: cpu");
    expect(await heartbeat(db.sql, { runId: run.id, fencingToken: token })).toBe(false);
  });

  it("a poison page: the second takeover that finds its page tried and never ended fails the run with POISON_PAGE", async () => {
    const tenant = await insertTenant(db.sql);
    const run = await claimed(tenant);
    // Page 6 committed: the worker sets out on page 7, and is killed there (no code of ours runs).
    await withFencedTransaction(db.sql, leaseOf(run), async () => {}, {
      checkpoint: { phase: 0, page: 7 },
      stats: { progress: { stage: "bookings", current: 6 } },
    });
    await db
      .sql`update public.sync_runs set last_interruption = 'the runtime stopped the worker (beforeunload: memory)'
                 where id = ${run.id}`;
    await ageRun(db.sql, run.id, 61);
    const first = await claim(tenant);
    expect(first.outcome).toBe("resumed"); // one death on a page may be a deploy: tried again
    await ageRun(db.sql, run.id, 61); // killed on page 7 again
    const fresh = await claim(tenant);
    expect(fresh.outcome).toBe("claimed");
    if (fresh.outcome === "claimed") expect(fresh.reclaimedRunId).toBe(run.id);
    const failed = await getRun(db.sql, run.id);
    expect(failed?.errorCode).toBe("POISON_PAGE");
    expect(failed?.errorMessage).toContain("bookings page 7");
    expect(failed?.errorMessage).toContain("the 2 workers that tried it");
    expect(failed?.errorMessage).toContain("beforeunload: memory");
    expect(failed?.invocations).toBe(2);
  });

  it("a worker killed once on a page, whose successor commits it, starts the count again; a hand-over clears it", async () => {
    const tenant = await insertTenant(db.sql);
    const run = await claimed(tenant);
    await ageRun(db.sql, run.id, 61); // killed on page 1
    let next = await claim(tenant);
    if (next.outcome !== "resumed") throw new Error(`expected resumed, got ${next.outcome}`);
    await withFencedTransaction(db.sql, leaseOf(next.run), async () => {}, {
      checkpoint: { phase: 0, page: 2 },
    });
    await ageRun(db.sql, run.id, 61); // killed once on page 2
    next = await claim(tenant);
    if (next.outcome !== "resumed") throw new Error(`expected resumed, got ${next.outcome}`);
    await suspendRun(db.sql, leaseOf(next.run), {}); // its hop ends in order
    next = await claim(tenant);
    expect(next.outcome).toBe("busy"); // the continuation's, within its lease
    await ageRun(db.sql, run.id, 61);
    next = await claim(tenant);
    expect(next.outcome).toBe("resumed");
    expect((await getRun(db.sql, run.id))?.status).toBe("running");
  });

  it("a chain's run is never failed as a poison page: its children are judged", async () => {
    const tenant = await insertTenant(db.sql);
    const chain = await claimRun(db.sql, {
      tenantId: tenant,
      source: "sync-command-center",
      trigger: "manual",
      leaseSeconds: 60,
    });
    if (chain.outcome !== "claimed") throw new Error("setup");
    for (let kill = 1; kill <= 3; kill++) {
      await ageRun(db.sql, chain.run.id, 61);
      expect((await resumeRun(db.sql, chain.run.id))?.status, `kill ${kill}`).toBe("running");
    }
  });

  it("a committed page resets the count, the run's and its parent chain's, so a run that progresses is never failed", async () => {
    const tenant = await insertTenant(db.sql);
    const parent = await claimRun(db.sql, {
      tenantId: tenant,
      source: "sync-command-center",
      trigger: "manual",
      leaseSeconds: 60,
    });
    if (parent.outcome !== "claimed") throw new Error("setup");
    const child = await claimRun(db.sql, {
      tenantId: tenant,
      source: "motopress-bookings",
      trigger: "parent",
      parentRunId: parent.run.id,
      leaseSeconds: 60,
    });
    if (child.outcome !== "claimed") throw new Error("setup");
    await db
      .sql`update public.sync_runs set max_attempts_without_progress = 2 where id in (${parent.run.id}, ${child.run.id})`;
    let lease = leaseOf(child.run);
    let parentLease = leaseOf(parent.run);
    for (let kill = 1; kill <= 6; kill++) {
      // Killed after one page each time: resumed, one page, killed again.
      await ageRun(db.sql, child.run.id, 61);
      await ageRun(db.sql, parent.run.id, 61);
      const p = await resumeRun(db.sql, parent.run.id);
      const c = await resumeRun(db.sql, child.run.id);
      expect(p?.status, `kill ${kill}`).toBe("running");
      expect(c?.status, `kill ${kill}`).toBe("running");
      lease = leaseOf(c!);
      parentLease = leaseOf(p!);
      await withFencedTransaction(db.sql, lease, async () => {}, { checkpoint: { page: kill + 1 } });
      expect((await getRun(db.sql, child.run.id))?.attemptsWithoutProgress).toBe(0);
      expect((await getRun(db.sql, parent.run.id))?.attemptsWithoutProgress).toBe(0);
    }
    expect(await heartbeat(db.sql, parentLease)).toBe(true);
  });

  it("resumes an expired `continuing` holder instead of losing its checkpoint", async () => {
    const tenant = await insertTenant(db.sql);
    const run = await claimed(tenant);
    await suspendRun(db.sql, leaseOf(run), { checkpoint: { page: 7 } });
    expect((await claim(tenant)).outcome).toBe("busy"); // within its lease the continuation owns it
    await ageRun(db.sql, run.id, 61);
    const next = await claim(tenant);
    expect(next.outcome).toBe("resumed");
    if (next.outcome !== "resumed") return;
    expect(next.run.id).toBe(run.id);
    expect(next.run.checkpoint).toEqual({ page: 7 });
    expect(next.run.fencingToken).toBe(run.fencingToken + 1);
    expect(await heartbeat(db.sql, leaseOf(run))).toBe(false);
    expect(await heartbeat(db.sql, leaseOf(next.run))).toBe(true);
  });
});

describe("heartbeat, resume, finish", () => {
  it("heartbeat after cancel fails", async () => {
    const tenant = await insertTenant(db.sql);
    const run = await claimed(tenant);
    expect(await heartbeat(db.sql, leaseOf(run))).toBe(true);
    expect(await cancelRuns(db.sql, { tenantId: tenant, source: "motopress-bookings" })).toEqual([run.id]);
    expect(await heartbeat(db.sql, leaseOf(run))).toBe(false);
  });

  it("a continuation resumes with a new fencing token; the old token is dead", async () => {
    const tenant = await insertTenant(db.sql);
    const run = await claimed(tenant);
    const suspended = await suspendRun(db.sql, leaseOf(run), {
      checkpoint: { page: 3 },
      stats: { pages: 2 },
    });
    expect(suspended?.status).toBe("continuing");
    const resumed = await resumeRun(db.sql, run.id);
    expect(resumed?.status).toBe("running");
    expect(resumed?.fencingToken).toBe(run.fencingToken + 1);
    expect(resumed?.invocations).toBe(2);
    expect(resumed?.checkpoint).toEqual({ page: 3 });
    expect(await heartbeat(db.sql, leaseOf(run))).toBe(false);
    // A second continuation of the same hop loses: the run is running and alive.
    expect(await resumeRun(db.sql, run.id)).toBeNull();
  });

  it("a crashed running run can be resumed once its lease expired, not before", async () => {
    const tenant = await insertTenant(db.sql);
    const run = await claimed(tenant);
    expect(await resumeRun(db.sql, run.id)).toBeNull();
    await ageRun(db.sql, run.id, 61);
    expect((await resumeRun(db.sql, run.id))?.fencingToken).toBe(run.fencingToken + 1);
  });

  it("finish is compare-and-set: a cancelled run never becomes completed", async () => {
    const tenant = await insertTenant(db.sql);
    const run = await claimed(tenant);
    await cancelRuns(db.sql, { tenantId: tenant });
    expect(await finishRun(db.sql, leaseOf(run), { status: "completed", stats: { rows: 1 } })).toBeNull();
    const after = await getRun(db.sql, run.id);
    expect(after?.status).toBe("cancelled");
    expect(after?.stats).toEqual({});
  });

  it("cancel racing finish: exactly one wins, and the loser changes nothing", async () => {
    let cancelWins = 0;
    let finishWins = 0;
    for (let i = 0; i < 30; i++) {
      const tenant = await insertTenant(db.sql);
      const run = await claimed(tenant);
      const [cancelled, finished] = await Promise.all([
        cancelRuns(db.sql, { tenantId: tenant }),
        finishRun(db.sql, leaseOf(run), { status: "completed" }),
      ]);
      const final = await getRun(db.sql, run.id);
      if (cancelled.length === 1) {
        cancelWins++;
        expect(finished).toBeNull();
        expect(final?.status).toBe("cancelled");
      } else {
        finishWins++;
        expect(cancelled).toEqual([]);
        expect(final?.status).toBe("completed");
      }
    }
    expect(cancelWins + finishWins).toBe(30);
  });

  it("a cancel that commits first makes finish lose", async () => {
    const tenant = await insertTenant(db.sql);
    const run = await claimed(tenant);
    // Hold the row lock in a fenced transaction, queue the cancel behind it, then finish after.
    let releaseFence!: () => void;
    const fenceHeld = new Promise<void>((r) => (releaseFence = r));
    let fenceEntered!: () => void;
    const entered = new Promise<void>((r) => (fenceEntered = r));
    const writer = withFencedTransaction(db.sql, leaseOf(run), async () => {
      fenceEntered();
      await fenceHeld;
    });
    await entered;
    const cancel = cancelRuns(db.sql, { tenantId: tenant });
    await waitForLockWaiter();
    releaseFence();
    await writer;
    expect(await cancel).toEqual([run.id]);
    expect(await finishRun(db.sql, leaseOf(run), { status: "completed" })).toBeNull();
    expect((await getRun(db.sql, run.id))?.status).toBe("cancelled");
  });
});

/** Until another session is blocked on a lock (the queued cancel). */
function waitForLockWaiter() {
  return waitFor(async () => {
    const [{ n }] = await db.sql`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`;
    return n > 0;
  }, { timeoutMs: 10_000, intervalMs: 0, what: "the cancel to queue behind the fenced transaction" });
}

describe("fencing", () => {
  const writeMarker = (tenant: string, run: Run, id: string) =>
    withFencedTransaction(db.sql, leaseOf(run), async (tx) => {
      await tx`insert into public.sync_quarantine (tenant_id, entity, external_id, reason)
               values (${tenant}, 'booking', ${id}, 'fencing test')`;
    });
  const markers = async (tenant: string) =>
    (await db.sql`select count(*)::int as n from public.sync_quarantine where tenant_id = ${tenant}`)[0].n;

  it("a fenced write after cancel rolls back and reports the run lost", async () => {
    const tenant = await insertTenant(db.sql);
    const run = await claimed(tenant);
    await writeMarker(tenant, run, "1");
    await cancelRuns(db.sql, { tenantId: tenant });
    const err = await writeMarker(tenant, run, "2").catch((e) => e);
    expect(err).toBeInstanceOf(RunLostError);
    expect(err.status).toBe("cancelled");
    expect(await markers(tenant)).toBe(1);
  });

  it("a stale worker cannot write after its run was taken over", async () => {
    const tenant = await insertTenant(db.sql);
    const stale = await claimed(tenant);
    await ageRun(db.sql, stale.id, 90);
    const fresh = await claim(tenant);
    expect(fresh.outcome).toBe("resumed");
    await expect(writeMarker(tenant, stale, "late")).rejects.toBeInstanceOf(RunLostError);
    expect(await markers(tenant)).toBe(0);
  });

  it("a write whose own body fails rolls back its checkpoint too", async () => {
    const tenant = await insertTenant(db.sql);
    const run = await claimed(tenant);
    await withFencedTransaction(db.sql, leaseOf(run), async () => {}, { checkpoint: { page: 1 } });
    await expect(
      withFencedTransaction(db.sql, leaseOf(run), () => Promise.reject(new Error("boom")), {
        checkpoint: { page: 2 },
      }),
    ).rejects.toThrow("boom");
    expect((await getRun(db.sql, run.id))?.checkpoint).toEqual({ page: 1 });
  });
});

describe("stale cleanup and cancel", () => {
  it("hands only runs whose lease expired over to be resumed; a heartbeating run survives however long it runs", async () => {
    const tenant = await insertTenant(db.sql);
    const live = await claimed(tenant);
    const dead = await claimRun(db.sql, {
      tenantId: tenant,
      source: "motopress-accommodations",
      trigger: "manual",
      leaseSeconds: 60,
    });
    if (dead.outcome !== "claimed") throw new Error("setup");
    await withFencedTransaction(db.sql, leaseOf(dead.run), async () => {}, { checkpoint: { page: 3 } });
    // The live run started hours ago but heartbeats; the dead one stopped 2 minutes ago.
    await db.sql`update public.sync_runs set started_at = now() - interval '6 hours' where id = ${live.id}`;
    await ageRun(db.sql, dead.run.id, 120);
    const reaped = (await reapStaleRuns(db.sql)).filter((r) => r.tenantId === tenant);
    expect(reaped.map((r) => r.runId)).toEqual([dead.run.id]);
    expect((await getRun(db.sql, live.id))?.status).toBe("running");
    const handedOver = await getRun(db.sql, dead.run.id);
    expect(handedOver?.status).toBe("continuing");
    expect(handedOver?.lastInterruption).toMatch(/no heartbeat since .*lease 60 s/);
    expect(await heartbeat(db.sql, leaseOf(dead.run))).toBe(false); // the dead worker is shut out
    const resumed = await resumeRun(db.sql, dead.run.id);
    expect(resumed?.checkpoint).toEqual({ page: 3 });
  });

  it("leaves an expired `continuing` run to be resumed", async () => {
    const tenant = await insertTenant(db.sql);
    const run = await claimed(tenant);
    await suspendRun(db.sql, leaseOf(run), { checkpoint: { page: 2 } });
    await ageRun(db.sql, run.id, 600);
    expect((await reapStaleRuns(db.sql)).map((r) => r.runId)).not.toContain(run.id);
    expect((await resumeRun(db.sql, run.id))?.checkpoint).toEqual({ page: 2 });
  });

  it("cancel frees the slot at once: the next claim succeeds without waiting", async () => {
    const tenant = await insertTenant(db.sql);
    const run = await claimed(tenant);
    expect(await cancelRuns(db.sql, { tenantId: tenant, source: "motopress-bookings" })).toEqual([run.id]);
    expect((await claim(tenant)).outcome).toBe("claimed");
  });

  it("cancel filters by source and tenant; no filter cancels every active run", async () => {
    const t1 = await insertTenant(db.sql);
    const t2 = await insertTenant(db.sql);
    const a = await claimed(t1);
    const b = await claimed(t2);
    const c = await claimRun(db.sql, {
      tenantId: t1,
      source: "motopress-accommodations",
      trigger: "manual",
      leaseSeconds: 60,
    });
    expect(await cancelRuns(db.sql, { source: "motopress-bookings", tenantId: t1 })).toEqual([a.id]);
    const rest = await cancelRuns(db.sql, {});
    expect(rest).toContain(b.id);
    expect(rest).toContain(c.outcome === "claimed" ? c.run.id : "");
    expect(await activeCount(t1)).toBe(0);
    expect(await activeCount(t2)).toBe(0);
  });
});
