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
import { createDatabaseFrom, type Database, freePort, startDatabase } from "../../scripts/stack/lib/database.ts";
import { migrate } from "../../scripts/stack/lib/migrate.ts";
import { type FunctionsServer, startFunctionsServer } from "../../scripts/stack/lib/functions-server.ts";
import type { Sql } from "../../supabase/functions/_shared/db.ts";
import { ADMIN_KEY } from "../helpers/stack.ts";
import { type SimSite, startSite, tenantForSite, waitForRun } from "../helpers/sim.ts";
import { expectDatabaseMatches } from "../helpers/compare.ts";
import { activeRuns, budgetMs, diffAgainstSource, intBetween, mutateBookings, mutateUnits, rngFor, SCALE, scaled, sleep } from "./harness.ts";

const external = !!process.env.DATABASE_URL; // a server we may not restart
const DB_NAME = "faults";
const dataDir = `.data/db-faults-${process.pid}`;
let port: number;
let pg: Database;
let sql: Sql;
let server: FunctionsServer;
const tenants: { id: string; site: SimSite }[] = [];

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
  sql = postgres(pg.urlFor(DB_NAME), { max: 4, onnotice: () => {}, connection: { application_name: "db-faults-harness" } }) as unknown as Sql;
  server = await startFunctionsServer({
    SUPABASE_DB_URL: pg.urlFor(DB_NAME),
    SYNC_ADMIN_KEY: ADMIN_KEY,
    SYNC_LEASE_SECONDS: "60",
    SYNC_ALLOW_PRIVATE_HOSTS: "127.0.0.1,::1",
  });
  for (let i = 0; i < 2; i++) {
    const site = await startSite({ seed: 71 + i, hotel: { bookings: Math.round(400 * Math.min(SCALE, 3)), hiddenUnits: 0 } });
    const tenant = await tenantForSite(sql, site);
    tenants.push({ id: tenant, site });
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

/** Lines of the functions' log that mean a worker died on its own (not a platform limit). */
const crashes = () =>
  server.output().split("\n").filter((l) => /"worker exited"|worker boot failed/.test(l));

// "all": the all-tenants run (the fan-out over both tenants).
const SOURCES = ["motopress-bookings", "motopress-accommodations", "sync-command-center", "all"] as const;

describe.skipIf(external)("database faults under running syncs", () => {
  it("dropped connections again and again: every run completes, nothing lost or doubled, no crash", async () => {
    const rng = rngFor("db-drops");
    const iterations = scaled(8);
    const counts = { syncs: 0, dropped: 0, retries: 0, handovers: 0, dropRounds: 0 };
    for (let i = 0; i < iterations || (SCALE >= 5 && counts.dropped < 100); i++) {
      const source = SOURCES[i % SOURCES.length];
      const { id: tenant, site } = tenants[i % tenants.length];
      if (source === "motopress-accommodations") mutateUnits(rng, site.sim, intBetween(rng, 1, 3));
      else mutateBookings(rng, site.sim, intBetween(rng, 2, 8));
      site.sim.setFaults({ latencyMsPerPage: intBetween(rng, 20, 60) });
      const started = source === "all" ? await call("sync-command-center", {}) : await call(source, { tenantId: tenant });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      counts.syncs++;
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
      const run = await waitForRun(sql, started.body.runId, budgetMs(120_000));
      ended = true;
      await dropper;
      site.sim.resetFaults();
      if (run.status !== "completed") {
        console.log(server.output().split("\n").filter((l) => l.includes("database fault")).slice(-12).join("\n"));
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
      expect(await activeRuns(sql)).toEqual([]);
      for (const t of source === "all" ? tenants : [{ id: tenant, site }]) {
        const diff = await diffAgainstSource(sql, t.id, t.site.sim);
        expect(diff, `#${i} ${source}`).toEqual({ lost: [], extra: [], duplicates: [] });
      }
    }
    for (const t of tenants) await expectDatabaseMatches(sql, t.id, t.site.sim);
    console.log(`[db-faults] drops: ${JSON.stringify(counts)}`);
    expect(crashes()).toEqual([]);
    expect(counts.dropped).toBeGreaterThan(0);
    // Faults really were met: pages rolled back and retried, or runs handed over.
    expect(counts.retries + counts.handovers).toBeGreaterThan(0);
    if (SCALE >= 5) expect(counts.dropped).toBeGreaterThanOrEqual(100);
  }, budgetMs(600_000));

  it("a PostgreSQL restart mid-page, in a single sync and in the chain: the runs complete", async () => {
    const counts = { restarts: 0, retries: 0 };
    for (const [i, source] of (["motopress-bookings", "sync-command-center"] as const).entries()) {
      const { id: tenant, site } = tenants[i % tenants.length];
      mutateBookings(rngFor(`restart-${i}`), site.sim, 6);
      site.sim.setFaults({ latencyMsPerPage: 80 });
      const started = await call(source, { tenantId: tenant });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      // Wait until pages are being written, then restart the server under them.
      for (;;) {
        const [{ pages }] = await sql`
          select coalesce(sum((stats->'counters'->>'booking.pages')::int), 0)::int as pages
          from public.sync_runs where id = ${started.body.runId} or parent_run_id = ${started.body.runId}`;
        if (pages >= 1) break;
        await sleep(20);
      }
      await (sql as unknown as postgres.Sql).end({ timeout: 1 });
      await pg.stop();
      pg = await startDatabase({ dataDir, port });
      counts.restarts++;
      sql = postgres(pg.urlFor(DB_NAME), { max: 4, onnotice: () => {}, connection: { application_name: "db-faults-harness" } }) as unknown as Sql;
      const run = await waitForRun(sql, started.body.runId, 120_000);
      site.sim.resetFaults();
      expect(run.status, `${source}: ${run.error_code} ${run.error_message}`).toBe("completed");
      const [{ retries }] = await sql`
        select coalesce(sum((stats->'counters'->>'db.retries')::int), 0)::int as retries
        from public.sync_runs where id = ${run.id} or parent_run_id = ${run.id}`;
      counts.retries += retries;
      expect(await activeRuns(sql, tenant)).toEqual([]);
      await expectDatabaseMatches(sql, tenant, site.sim);
    }
    console.log(`[db-faults] restarts: ${JSON.stringify(counts)}`);
    expect(crashes()).toEqual([]);
  }, 300_000);
});
