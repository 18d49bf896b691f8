// Reliability harness 3: the database fails under running syncs. The functions' connections are
// dropped again and again (pg_terminate_backend), and PostgreSQL itself is restarted mid-page, in
// single syncs and in the command center's chain. Every time: the run completes, the database
// equals the source with no duplicate, no worker process crashed, and the slot is free at the end.
//
// This file runs its own PostgreSQL (a restart must not touch the other test files' server).
// RELIABILITY_SCALE=large: at least 100 dropped connections.
import postgres from "postgres";
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createDatabaseFrom,
  type Database,
  freePort,
  startDatabase,
} from "../../scripts/stack/lib/database.ts";
import { migrate } from "../../scripts/stack/lib/migrate.ts";
import { type FunctionsServer, startFunctionsServer } from "../../scripts/stack/lib/functions-server.ts";
import type { Sql } from "../../supabase/functions/_shared/db.ts";
import { ADMIN_KEY } from "../helpers/stack.ts";
import { type SimSite, startSite, tenantForSite, waitForRun } from "../helpers/sim.ts";
import { expectDatabaseMatches } from "../helpers/compare.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  activeRuns,
  budgetMs,
  diffAgainstSource,
  gatedSleep,
  intBetween,
  mutateBookings,
  mutateUnits,
  rngFor,
  SCALE,
  scaled,
  sleep,
} from "./harness.ts";

const external = !!process.env.DATABASE_URL; // a server we may not restart
const DB_NAME = "faults";
const dataDir = `.data/db-faults-${process.pid}`;
let port: number;
let pg: Database;
let sql: Sql;
let server: FunctionsServer;
const tenants: { id: string; site: SimSite; gate: ReturnType<typeof gatedSleep> }[] = [];

async function call(fn: string, body: unknown) {
  const res = await fetch(`${server.url}/functions/v1/${fn}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  if (external) return;
  port = await freePort();
  pg = await startDatabase({ dataDir, port, fresh: true });
  await createDatabaseFrom(pg.url, DB_NAME);
  await migrate(pg.urlFor(DB_NAME));
  // The harness's own connection is not one of the functions' (their application_name is motopress-sync).
  sql = postgres(pg.urlFor(DB_NAME), {
    max: 4,
    onnotice: () => {},
    connection: { application_name: "db-faults-harness" },
  }) as unknown as Sql;
  server = await startFunctionsServer({
    SUPABASE_DB_URL: pg.urlFor(DB_NAME),
    SYNC_ADMIN_KEY: ADMIN_KEY,
    SYNC_LEASE_SECONDS: "60",
    SYNC_ALLOW_PRIVATE_HOSTS: "127.0.0.1,::1",
  });
  for (let i = 0; i < 2; i++) {
    const gate = gatedSleep();
    const site = await startSite({
      seed: 71 + i,
      sleep: gate.sleep,
      hotel: { bookings: Math.round(400 * Math.min(SCALE, 3)), hiddenUnits: 0 },
    });
    const tenant = await tenantForSite(sql, site);
    tenants.push({ id: tenant, site, gate });
    // A first full sync without faults: each test then starts from a database equal to the source.
    const first = await call("sync-command-center", { tenantId: tenant });
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    expect((await waitForRun(sql, first.body.runId, 120_000)).status).toBe("completed");
  }
}, 180_000);
afterAll(async () => {
  for (const t of tenants) await t.site.close();
  await server?.stop();
  await (sql as unknown as postgres.Sql | undefined)?.end({ timeout: 5 });
  await pg?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** Drops every connection of the functions that is at work (a statement or a page); returns how many. */
async function dropConnections(): Promise<number> {
  const rows = await sql`
    select pg_terminate_backend(pid) as ok from pg_stat_activity
    where datname = ${DB_NAME} and application_name = 'motopress-sync' and pid <> pg_backend_pid()
      -- connections at work: mid-statement or mid-page (a backend killed in its handshake can leave
      -- postgres.js waiting out its 10 s connect timeout, a different fault from the one measured here)
      and state in ('active', 'idle in transaction')`;
  return rows.filter((r) => r.ok).length;
}

/** A page's first statement: the fence, or the bookings writer's check that carries it. */
const PAGE_FENCE = String.raw`sync\.(fence_run|check_bookings_page|commit_bookings_page)\(`;

/**
 * Stops the tenant's next page at its fence, inside the page's open transaction, and returns the
 * blocked connection's pid. `held` (armed before the run started) holds the site's next response,
 * so the run is between two pages; the harness then locks the tenant's running source runs, lets
 * the response go, and waits for the page's first statement to queue on that lock. Every step is
 * an event: the fault that follows (a drop, a restart) always lands mid-page. `lock` stays open
 * until the caller commits it (or the server goes).
 */
async function holdNextPage(tenantId: string, held: { reached: Promise<void>; release: () => void }) {
  await held.reached;
  const lock = await (sql as unknown as postgres.Sql).reserve();
  await lock`begin`;
  const locked = await lock`
    select id from public.sync_runs
    where tenant_id = ${tenantId} and status = 'running' and source in ('motopress-bookings', 'motopress-accommodations')
    for share`;
  const [{ me }] = await lock`select pg_backend_pid() as me`;
  held.release();
  expect(locked.length, "the run waiting on the site has its row").toBe(1);
  // Blocked by us in a page's first statement (PAGE_FENCE), not in a single statement on the
  // run's row: a heartbeat, or the note a worker leaves at beforeunload, whose failure the worker
  // ignores, so the fault would go unmet. query_start > xact_start does not tell them apart: under
  // the extended protocol a single statement's transaction starts at its Parse, before its Execute.
  const pid = await waitFor(async () => {
    const [row] = await sql`
      select pid from pg_stat_activity
      where datname = ${DB_NAME} and application_name = 'motopress-sync'
        and ${me}::int = any (pg_blocking_pids(pid))
        and query ~ ${PAGE_FENCE}`;
    return row?.pid as number | undefined;
  }, 30_000);
  return { pid, release: async () => (await lock`commit`, lock.release()) };
}

/**
 * Waits for the run to end, playing pg_cron's reaper meanwhile: a continuation lost with its
 * worker (killed at the CPU limit just after it suspended) is resumed once its lease expired, as
 * in production. The targets are sync.reap_and_resume_runs's own; with no pg_net here it names
 * them in `errors`, and the harness invokes them.
 */
async function waitReaping(runId: string, timeoutMs: number, counts: { reinvoked: number }) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const [run] = await sql`select * from public.sync_runs where id = ${runId}`;
    if (["completed", "failed", "cancelled"].includes(run.status)) return run;
    if (Date.now() > until) {
      throw new Error(`run ${runId} still ${run.status} after ${timeoutMs} ms: ${JSON.stringify(run)}`);
    }
    const [{ r }] = await sql`select sync.reap_and_resume_runs() as r`;
    for (const target of r.errors as { runId: string; source: string }[]) {
      await call(target.source, { runId: target.runId });
      counts.reinvoked++;
    }
    await sleep(200);
  }
}

/** Lines of the functions' log that mean a worker died on its own (not a platform limit). */
const crashes = () => server.output().split("\n").filter((l) => /"worker exited"|worker boot failed/.test(l));

// "all": the all-tenants run (the fan-out over both tenants).
const SOURCES = ["motopress-bookings", "motopress-accommodations", "sync-command-center", "all"] as const;

describe.skipIf(external)("database faults under running syncs", () => {
  it(
    "dropped connections again and again: every run completes, nothing lost or doubled, no crash",
    async () => {
      const rng = rngFor("db-drops");
      const iterations = scaled(8);
      const counts = {
        syncs: 0,
        dropped: 0,
        pagesDropped: 0,
        retries: 0,
        handovers: 0,
        dropRounds: 0,
        reinvoked: 0,
      };
      for (let i = 0; i < iterations || (SCALE >= 5 && counts.dropped < 100); i++) {
        const source = SOURCES[i % SOURCES.length];
        const { id: tenant, site, gate } = tenants[i % tenants.length];
        if (source === "motopress-accommodations") mutateUnits(rng, site.sim, intBetween(rng, 1, 3));
        else mutateBookings(rng, site.sim, intBetween(rng, 2, 8));
        site.sim.setFaults({ latencyMsPerPage: intBetween(rng, 20, 60) });
        const held = gate.arm();
        const started = source === "all"
          ? await call("sync-command-center", {})
          : await call(source, { tenantId: tenant });
        expect(started.status, JSON.stringify(started.body)).toBe(202);
        counts.syncs++;
        // First a drop that surely lands in an open page: the fault is met in every iteration.
        const page = await holdNextPage(tenant, held);
        const [{ ok }] = await sql`select pg_terminate_backend(${page.pid}::int) as ok`;
        expect(ok).toBe(true);
        counts.dropped++;
        counts.pagesDropped++;
        await page.release();
        // Drop the functions' connections at random moments until the run ends.
        let ended = false;
        const dropper = (async () => {
          while (!ended) {
            // Apart enough for a page to commit in between on a loaded machine: every drop still
            // lands at a random point, mostly mid-page, and a run sees many of them.
            await sleep(intBetween(rng, 100, 700));
            if (ended) break;
            counts.dropped += await dropConnections();
            counts.dropRounds++;
          }
        })();
        const run = await waitReaping(started.body.runId, budgetMs(120_000), counts).finally(async () => {
          ended = true;
          await dropper;
        });
        site.sim.resetFaults();
        if (run.status !== "completed") {
          console.log(
            server.output().split("\n").filter((l) => l.includes("database fault")).slice(-12).join("\n"),
          );
        }
        expect(run.status, `#${i} ${source}: ${run.error_code} ${run.error_message}`).toBe("completed");
        // A fault inside a page is retried there; one outside a page hands the run over from its
        // checkpoint (last_interruption says so). Either way the fault was met and survived.
        const [{ retries, handovers }] = await sql`
        select coalesce(sum((s.stats->'counters'->>'db.retries')::int), 0)::int as retries,
               count(*) filter (where s.last_interruption like 'a database fault%')::int as handovers
        from public.sync_runs s left join public.sync_runs p on p.id = s.parent_run_id
        where s.id = ${run.id} or s.parent_run_id = ${run.id} or p.parent_run_id = ${run.id}`;
        counts.retries += retries;
        counts.handovers += handovers;
        // The dropped page was rolled back and retried, or its run handed over.
        expect(retries + handovers, `#${i} ${source}: the fault was met`).toBeGreaterThan(0);
        expect(await activeRuns(sql)).toEqual([]);
        for (const t of source === "all" ? tenants : [{ id: tenant, site }]) {
          const diff = await diffAgainstSource(sql, t.id, t.site.sim);
          expect(diff, `#${i} ${source}`).toEqual({ lost: [], extra: [], duplicates: [] });
        }
      }
      for (const t of tenants) await expectDatabaseMatches(sql, t.id, t.site.sim);
      console.log(`[db-faults] drops: ${JSON.stringify(counts)}`);
      expect(crashes()).toEqual([]);
      expect(counts.pagesDropped).toBe(counts.syncs);
      if (SCALE >= 5) expect(counts.dropped).toBeGreaterThanOrEqual(100);
    },
    budgetMs(600_000),
  );

  it("a PostgreSQL restart mid-page, in single syncs and in the chain: the runs complete", async () => {
    const counts = { restarts: 0, retries: 0, handovers: 0, reinvoked: 0 };
    const sources = ["motopress-bookings", "sync-command-center"] as const;
    for (let i = 0; i < scaled(2); i++) {
      const source = sources[i % sources.length];
      const { id: tenant, site, gate } = tenants[i % tenants.length];
      mutateBookings(rngFor(`restart-${i}`), site.sim, 6);
      site.sim.setFaults({ latencyMsPerPage: 80 });
      const held = gate.arm();
      const started = await call(source, { tenantId: tenant });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      // A page is open, queued at its fence, when the server goes down under it.
      await holdNextPage(tenant, held);
      await (sql as unknown as postgres.Sql).end({ timeout: 1 });
      await pg.stop();
      pg = await startDatabase({ dataDir, port });
      counts.restarts++;
      sql = postgres(pg.urlFor(DB_NAME), {
        max: 4,
        onnotice: () => {},
        connection: { application_name: "db-faults-harness" },
      }) as unknown as Sql;
      const run = await waitReaping(started.body.runId, 120_000, counts);
      site.sim.resetFaults();
      expect(run.status, `${source}: ${run.error_code} ${run.error_message}`).toBe("completed");
      const [{ retries, handovers }] = await sql`
        select coalesce(sum((stats->'counters'->>'db.retries')::int), 0)::int as retries,
               count(*) filter (where last_interruption like 'a database fault%')::int as handovers
        from public.sync_runs where id = ${run.id} or parent_run_id = ${run.id}`;
      expect(retries + handovers, `${source}: the restart was met`).toBeGreaterThan(0);
      counts.retries += retries;
      counts.handovers += handovers;
      expect(await activeRuns(sql, tenant)).toEqual([]);
      await expectDatabaseMatches(sql, tenant, site.sim);
    }
    console.log(`[db-faults] restarts: ${JSON.stringify(counts)}`);
    expect(crashes()).toEqual([]);
  }, budgetMs(300_000));
});
