// Issue 10 in SQL: the fan-out's bound and its end, children that belong to their chain, lock
// waits that never hang behind a stalled page, and the type collision between concurrent runs.
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ageRun, createTestDatabase, insertTenant, type TestDatabase } from "../helpers/db.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  cancelRuns,
  claimRun,
  fence,
  finishRun,
  reapStaleRuns,
  withFencedTransaction,
} from "../../supabase/functions/_shared/runs/coordinator.ts";
import {
  createSql,
  IDLE_IN_TRANSACTION_TIMEOUT_MS,
  LOCK_TIMEOUT_MS,
} from "../../supabase/functions/_shared/db.ts";
import { isTransientDbError, withDbRetry } from "../../supabase/functions/_shared/runs/db-faults.ts";
import { leaseOf, type Run } from "../../supabase/functions/_shared/runs/types.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(30);
});
afterAll(async () => {
  await db.drop();
});

async function claimed(
  tenantId: string | null,
  source: "motopress-bookings" | "sync-command-center",
  parentRunId?: string,
): Promise<Run> {
  const r = await claimRun(db.sql, {
    tenantId,
    source,
    trigger: parentRunId ? "parent" : "manual",
    leaseSeconds: 60,
    ...(parentRunId ? { parentRunId } : {}),
  });
  if (r.outcome !== "claimed" && r.outcome !== "resumed") {
    throw new Error(`expected a claim, got ${r.outcome}`);
  }
  return r.run;
}

/** A fan-out parent as the command center leaves it: tenants queued, the parent `continuing`. */
async function fanoutParent(): Promise<Run> {
  const parent = await claimed(null, "sync-command-center");
  await withFencedTransaction(db.sql, leaseOf(parent), (tx) => tx`select sync.enqueue_fanout(${parent.id})`);
  await db.sql`update public.sync_runs set status = 'continuing' where id = ${parent.id}`;
  return parent;
}

const advance = (parentId: string, concurrency: number) =>
  db.sql`select action, run_id from sync.advance_fanout(${parentId}, ${concurrency})`;

/** Plays a chain's invocation: take it over, finish it, free the slot. */
async function finishChain(chainId: string, status: "completed" | "failed" = "completed") {
  const [run] = await db.sql`select * from sync.resume_run(${chainId})`;
  await finishRun(db.sql, { runId: chainId, fencingToken: Number(run.fencing_token) }, {
    status,
    errorCode: "UPSTREAM_ERROR",
    errorMessage: "MotoPress: down",
  });
}

describe("the fan-out in Postgres", () => {
  it("never has more than the bound active, starts the next as a slot frees, and finishes after the last", async () => {
    await db.sql`update public.tenant_registry set is_active = false`;
    const tenants = await Promise.all(Array.from({ length: 7 }, (_, i) => insertTenant(db.sql, `fan-${i}`)));
    const parent = await fanoutParent();
    // Many callers at once (chains ending, the reaper, the parent): the bound holds.
    const started = (await Promise.all(Array.from({ length: 10 }, () => advance(parent.id, 3)))).flat();
    expect(started.map((r) => r.action)).toEqual(["start", "start", "start"]);
    const active = async () =>
      (await db
        .sql`select count(*)::int as n from public.sync_runs where parent_run_id = ${parent.id} and status in ('running','continuing')`)[
          0
        ].n;
    expect(await active()).toBe(3);
    let chains = started.map((r) => r.run_id as string);
    const seen = new Set(chains);
    for (let round = 0; chains.length; round++) {
      const [first, ...rest] = chains;
      await finishChain(first, round === 2 ? "failed" : "completed");
      const next = (await advance(parent.id, 3)).filter((r) => r.action === "start").map((r) =>
        r.run_id as string
      );
      for (const id of next) seen.add(id);
      chains = [...rest, ...next];
      expect(await active()).toBeLessThanOrEqual(3);
    }
    expect(seen.size).toBe(tenants.length);
    const [final] = await db.sql`select * from public.sync_runs where id = ${parent.id}`;
    expect(final.status).toBe("failed");
    expect(final.error_code).toBe("TENANTS_FAILED");
    expect(final.error_message).toMatch(/^1 of 7 tenants failed: fan-\d \(MotoPress: down\)$/);
    expect(final.stats.tenants).toHaveLength(7);
    expect(final.stats.tenants.map((t: { slug: string }) => t.slug)).toEqual(
      tenants.map((_, i) => `fan-${i}`),
    );
    expect(await advance(parent.id, 3)).toEqual([]); // finished: nothing more ever starts
    await db.sql`update public.tenant_registry set is_active = true`;
  });

  it("a cancelled parent starts nothing queued, and its chains are cancelled with it", async () => {
    await db.sql`update public.tenant_registry set is_active = false`;
    for (let i = 0; i < 4; i++) await insertTenant(db.sql, `cancel-fan-${i}`);
    const parent = await fanoutParent();
    const [first] = await advance(parent.id, 1);
    const ids = await cancelRuns(db.sql, {});
    expect(ids.sort()).toEqual([parent.id, first.run_id].sort());
    expect(await advance(parent.id, 4)).toEqual([]);
    const [{ n }] = await db
      .sql`select count(*)::int as n from public.sync_runs where parent_run_id = ${parent.id}`;
    expect(n).toBe(1);
    await db.sql`update public.tenant_registry set is_active = true`;
  });

  it("a tenant whose own chain is active is skipped with RUN_IN_PROGRESS, not synced twice", async () => {
    await db.sql`update public.tenant_registry set is_active = false`;
    const busy = await insertTenant(db.sql, "fan-busy");
    const manual = await claimed(busy, "sync-command-center");
    const parent = await fanoutParent();
    expect(await advance(parent.id, 2)).toEqual([{ action: "finished", run_id: parent.id }]);
    const [final] = await db.sql`select * from public.sync_runs where id = ${parent.id}`;
    expect(final.stats.tenants[0]).toMatchObject({ status: "skipped", error: { code: "RUN_IN_PROGRESS" } });
    expect(final.stats.tenants[0].error.message).toContain(manual.id);
    await cancelRuns(db.sql, { tenantId: busy });
    await db.sql`update public.tenant_registry set is_active = true`;
  });
});

describe("children belong to their chain", () => {
  it("a direct claim never takes over an active chain's child, even one whose lease expired", async () => {
    const tenant = await insertTenant(db.sql);
    const chain = await claimed(tenant, "sync-command-center");
    const child = await claimed(tenant, "motopress-bookings", chain.id);
    await ageRun(db.sql, child.id, 600);
    const direct = await claimRun(db.sql, {
      tenantId: tenant,
      source: "motopress-bookings",
      trigger: "manual",
      leaseSeconds: 60,
    });
    expect(direct.outcome).toBe("busy");
    expect(direct.outcome === "busy" && direct.holder).toMatchObject({ id: child.id, parentRunId: chain.id });
    // The reaper hands it over (`continuing`, its checkpoint kept) and it still belongs to the chain.
    await reapStaleRuns(db.sql);
    const again = await claimRun(db.sql, {
      tenantId: tenant,
      source: "motopress-bookings",
      trigger: "manual",
      leaseSeconds: 60,
    });
    expect(again.outcome === "busy" && again.holder.id).toBe(child.id);
    // Once the chain is gone, the child is an ordinary expired run: the next claim takes it over.
    await finishRun(db.sql, leaseOf(chain), { status: "failed", errorCode: "X", errorMessage: "x" });
    const taken = await claimRun(db.sql, {
      tenantId: tenant,
      source: "motopress-bookings",
      trigger: "manual",
      leaseSeconds: 60,
    });
    expect(taken.outcome === "resumed" && taken.run.id).toBe(child.id);
    await cancelRuns(db.sql, { tenantId: tenant });
  });

  it("the reaper re-invokes a stale child's chain, not the child", async () => {
    const tenant = await insertTenant(db.sql);
    const chain = await claimed(tenant, "sync-command-center");
    const child = await claimed(tenant, "motopress-bookings", chain.id);
    await ageRun(db.sql, child.id, 600); // the worker of both died
    await ageRun(db.sql, chain.id, 600);
    // No pg_net here: each re-invocation it attempts is reported in `errors`, naming its target.
    const [{ r }] = await db.sql`select sync.reap_and_resume_runs() as r`;
    const targets = r.errors.map((e: { runId: string }) => e.runId);
    expect(targets).toContain(chain.id);
    expect(targets).not.toContain(child.id);
    await cancelRuns(db.sql, { tenantId: tenant });
  });
});

describe("lock waits and collisions", () => {
  it("a stalled page is ended by the server, so neither a claim nor a cancel waits behind it, with no startup parameter", async () => {
    for (const waiter of ["claim", "cancel"] as const) {
      const tenant = await insertTenant(db.sql);
      const run = await claimed(tenant, "motopress-bookings");
      const fnSql = createSql(db.url, { max: 1 }); // the functions' client
      // Its session carries no bound, as behind a transaction pooler (which passes no startup
      // parameter on): each transaction sets its own.
      expect((await fnSql`show idle_in_transaction_session_timeout`)[0].idle_in_transaction_session_timeout)
        .toBe("0");
      let stalled: unknown = null;
      let opened!: (bounds: unknown) => void;
      const open = new Promise((r) => (opened = r));
      const page = fnSql.begin(async (tx) => {
        await fence(tx, leaseOf(run)); // holds the run's row
        opened(
          (await tx`select current_setting('lock_timeout') as lock, current_setting('idle_in_transaction_session_timeout') as idle`)[
            0
          ],
        );
        await new Promise(() => {}); // a stalled isolate: never goes on
      }).catch((err) => (stalled = err));
      expect(await open).toEqual({
        lock: `${LOCK_TIMEOUT_MS / 1000}s`,
        idle: `${IDLE_IN_TRANSACTION_TIMEOUT_MS / 1000}s`,
      });
      const other = postgres(db.url, { max: 1, onnotice: () => {} }) as unknown as typeof db.sql; // a caller without the bounds
      const started = Date.now();
      if (waiter === "claim") {
        const r = await claimRun(other, {
          tenantId: tenant,
          source: "motopress-bookings",
          trigger: "manual",
          leaseSeconds: 60,
        });
        expect(r.outcome).toBe("busy");
      } else {
        const ids = await other`select run_id from sync.cancel_runs(null, ${tenant}, null)`;
        expect(ids.map((r) => r.run_id)).toEqual([run.id]);
      }
      const waited = Date.now() - started;
      await page; // ended with its connection
      expect(waited, waiter).toBeLessThan(LOCK_TIMEOUT_MS);
      expect(isTransientDbError(stalled)).toBe(true); // and the worker retries the page
      await (other as unknown as postgres.Sql).end();
      await fnSql.end({ timeout: 1 });
      await cancelRuns(db.sql, { tenantId: tenant });
    }
  });

  it("concurrent runs of one tenant creating the same new room type both succeed", async () => {
    const tenant = await insertTenant(db.sql);
    const a = postgres(db.url, { max: 1, onnotice: () => {} });
    const b = postgres(db.url, { max: 1, onnotice: () => {} });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let createdByA = false;
    // Run A (say accommodations) creates type 77 and has not committed yet...
    const first = a.begin(async (tx) => {
      await tx`select sync.ensure_accommodation_types(${tenant}, ${[77]}::int[])`;
      createdByA = true;
      await held;
    });
    await waitFor(() => createdByA, { what: "run A to create type 77" });
    // ... while run B's bookings page needs a new unit of type 77.
    const second = b`select * from sync.resolve_booked_units(${tenant}, ${
      b.json([{ unit_id: 501, type_id: 77 }])
    })`.execute();
    // B now waits on A's uncommitted type (wait on that event, not a clock).
    const waiting = async () =>
      (await db.sql`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and query like '%resolve_booked_units%'`)[
        0
      ].n;
    expect(await waitFor(waiting, { timeoutMs: 5_000, intervalMs: 10, what: "run B to wait on A's type" }))
      .toBe(1);
    release();
    await first;
    const [created] = await second;
    expect(created).toMatchObject({ units_created: 1 });
    const [unit] = await db.sql`
      select u.accommodation_type_id, t.motopress_type_id from hotels.accommodation_units u
      join hotels.accommodation_types t on t.id = u.accommodation_type_id
      where u.tenant_id = ${tenant} and u.motopress_unit_id = 501`;
    expect(unit.motopress_type_id).toBe(77);
    await a.end();
    await b.end();
  });

  it("retries a transient fault with backoff, gives up with DATABASE_UNAVAILABLE, never retries a data error", async () => {
    let calls = 0;
    const conn = Object.assign(new Error("write CONNECTION_CLOSED 127.0.0.1:5432"), {
      code: "CONNECTION_CLOSED",
    });
    const noSleep = () => Promise.resolve();
    expect(
      await withDbRetry(() => (++calls < 3 ? Promise.reject(conn) : Promise.resolve("ok")), {
        sleep: noSleep,
      }),
    ).toBe("ok");
    expect(calls).toBe(3);
    await expect(withDbRetry(() => Promise.reject(conn), { attempts: 4, sleep: noSleep }))
      .rejects.toMatchObject({ code: "DATABASE_UNAVAILABLE", attempts: 4 });
    calls = 0;
    const notNull = await db
      .sql`insert into public.tenant_registry (slug, name, timezone) values (null, 'x', 'UTC')`.catch((e) =>
        e
      );
    await expect(withDbRetry(() => (calls++, Promise.reject(notNull)), { sleep: noSleep })).rejects.toBe(
      notNull,
    );
    expect(calls).toBe(1);
  });

  it("retries for a time budget that outlasts a restart, and hands the fault back at the invocation's deadline", async () => {
    let t = 0; // an injected clock: each attempt is a 5 s connect timeout, each wait moves it on
    const now = () => t;
    const sleep = (ms: number) => Promise.resolve(void (t += ms));
    const timeout = Object.assign(new Error("write CONNECT_TIMEOUT 127.0.0.1:5432"), {
      code: "CONNECT_TIMEOUT",
    });
    const downUntil = (until: number) => () => {
      t += 5_000;
      return t < until ? Promise.reject(timeout) : Promise.resolve("up");
    };
    // A restart of 40 s: more than 8 attempts, well inside the budget.
    expect(await withDbRetry(downUntil(40_000), { now, sleep })).toBe("up");
    t = 0;
    await expect(withDbRetry(downUntil(Infinity), { now, sleep, budgetMs: 60_000 }))
      .rejects.toMatchObject({ code: "DATABASE_UNAVAILABLE" });
    expect(t).toBeGreaterThan(55_000);
    expect(t).toBeLessThanOrEqual(5_000 + 60_000 + 5_000); // first fault + budget + the last attempt
    t = 0;
    // The deadline comes first: the fault itself, transient, so the executor hands the run over.
    await expect(withDbRetry(downUntil(Infinity), { now, sleep, deadline: 20_000 })).rejects.toBe(timeout);
    expect(t).toBeLessThan(20_000 + 5_000);
  });
});
