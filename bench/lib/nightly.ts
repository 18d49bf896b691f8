// Figure 7: the nightly path. Every tenant through the all-tenants run of the command center, under
// the local edge runtime's limits: one tenant's chain per invocation, at most
// SYNC_TENANT_CONCURRENCY at once (bounded in Postgres). Measured: total time, chains running at
// once (from the database's timestamps, and sampled), CPU per invocation (the workers' "hop ended"
// lines), peak memory per worker process (sampled from /proc), the spread of per-tenant chain
// durations, and the functions' database connections at peak (sampled from pg_stat_activity).
import type { FunctionsServer } from "../../scripts/stack/lib/functions-server.ts";
import type { Sql } from "../../supabase/functions/_shared/db.ts";
import { rssMiB } from "./probes.ts";
import { median, type Metric, percentile } from "./report.ts";

export interface NightlyInput {
  sql: Sql;
  fns: FunctionsServer;
  // deno-lint-ignore no-explicit-any -- a JSON answer; the figure reads the fields it reports
  call: (fn: string, body: unknown) => Promise<{ status: number; body: any }>;
  // deno-lint-ignore no-explicit-any -- a sync_runs row
  waitForRun: (runId: string) => Promise<any>;
  tenants: string[];
  expectedBookings: number;
  bound: number;
  bookingsPerTenant: number;
  log: (msg: string) => void;
  check: (ok: boolean, what: string) => void;
}

/** The largest number of [start, end] intervals open at one instant (an end before a start at the same instant). */
export function maxOverlap(intervals: { start: number; end: number }[]): number {
  const events = intervals.flatMap((i) => [{ t: i.start, d: 1 }, { t: i.end, d: -1 }]).sort((a, b) =>
    a.t - b.t || a.d - b.d
  );
  let open = 0, max = 0;
  for (const e of events) max = Math.max(max, open += e.d);
  return max;
}

export async function nightly(
  input: NightlyInput,
): Promise<{ metrics: Metric[]; details: Record<string, unknown> }> {
  const { sql, fns, tenants, bound, log, check } = input;
  const logFrom = fns.output().length;
  const workerPids = () => {
    const pids = new Set<number>();
    for (const line of fns.output().slice(logFrom).split("\n")) {
      const m = line.match(/"message":"worker started".*"pid":(\d+)/);
      if (m) pids.add(Number(m[1]));
    }
    return pids;
  };
  const peakRss = new Map<number, number>();
  let peakConnections = 0;
  let peakRunning = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      for (const pid of workerPids()) {
        const v = rssMiB(pid);
        if (v !== null) peakRss.set(pid, Math.max(peakRss.get(pid) ?? 0, v));
      }
      try {
        const [row] = await sql`
          select (select count(*) from pg_stat_activity where application_name = 'motopress-sync')::int as connections,
                 (select count(*) from public.sync_runs where source = 'sync-command-center' and tenant_id is not null
                    and status = 'running' and parent_run_id is not null)::int as running`;
        peakConnections = Math.max(peakConnections, row.connections);
        peakRunning = Math.max(peakRunning, row.running);
      } catch (err) {
        log(`   sampler: ${String((err as Error)?.message ?? err)}`); // a missed sample, not a failed bench
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  const t0 = performance.now();
  const res = await input.call("sync-command-center", { trigger: "cron" });
  if (res.status !== 202) {
    throw new Error(`command center answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
  const parent = await input.waitForRun(res.body.runId);
  const totalMs = performance.now() - t0;
  sampling = false;
  await sampler;
  check(parent.status === "completed", `the all-tenants run ended ${parent.status}: ${parent.error_message}`);

  const chains = await sql`
    select c.id, c.tenant_id, c.status, c.started_at, c.completed_at, c.invocations,
           (select count(*) filter (where s.status = 'completed') from public.sync_runs s where s.parent_run_id = c.id)::int as steps
    from public.sync_runs c where c.parent_run_id = ${parent.id}`;
  check(chains.length === tenants.length, `${chains.length} chains for ${tenants.length} tenants`);
  check(
    chains.every((c) => c.status === "completed" && c.steps === 2),
    "not every tenant's chain completed both steps",
  );
  const overlap = maxOverlap(
    chains.map((c) => ({ start: new Date(c.started_at).getTime(), end: new Date(c.completed_at).getTime() })),
  );
  check(overlap <= bound, `${overlap} chains ran at once, above the bound ${bound}`);
  const [{ n: reservations }] =
    await sql`select count(*)::int as n from public.guest_reservations where tenant_id in ${sql(tenants)}`;
  const [{ q }] = await sql`select count(*)::int as q from public.sync_quarantine where tenant_id in ${
    sql(tenants)
  } and entity = 'booking' and resolved_at is null`;
  check(
    reservations + q === input.expectedBookings,
    `the nightly run wrote ${reservations} (+${q} quarantined) of ${input.expectedBookings} bookings`,
  );

  const durations = chains.map((c) => new Date(c.completed_at).getTime() - new Date(c.started_at).getTime())
    .sort((a, b) => a - b);
  const out = fns.output().slice(logFrom).split("\n");
  const hopCpu = out.flatMap((l) => {
    const m = l.match(/"message":"hop ended".*"hopCpuMs":(\d+(?:\.\d+)?)/);
    return m ? [Number(m[1])] : [];
  }).sort((a, b) => a - b);
  const kills = out.filter((l) => l.includes("worker killed")).length;
  const retired = out.filter((l) => l.includes("worker retired")).length;
  const invocations = chains.reduce((n, c) => n + Number(c.invocations), 0);
  const rss = [...peakRss.values()].sort((a, b) => a - b);
  const details = {
    tenants: tenants.length,
    bookingsPerTenant: input.bookingsPerTenant,
    bound,
    totalMs,
    chainsAtOnceFromDb: overlap,
    chainsAtOnceSampled: peakRunning,
    chainInvocations: invocations,
    hops: hopCpu.length,
    hopCpuMs: { median: median(hopCpu), p99: percentile(hopCpu, 99), max: hopCpu.at(-1) ?? null },
    workers: {
      started: workerPids().size,
      retired,
      killed: kills,
      peakRssMiB: { median: median(rss), max: rss.at(-1) ?? null },
    },
    peakConnections,
    perTenantChainMs: {
      min: durations[0],
      median: median(durations),
      p90: percentile(durations, 90),
      max: durations.at(-1),
    },
    reservations,
  };
  log(
    `   ${
      (totalMs / 1000).toFixed(1)
    } s total; chains at once ${overlap} (bound ${bound}); per invocation CPU max ${
      hopCpu.at(-1)?.toFixed(0)
    } ms; ` +
      `worker peak RSS max ${
        rss.at(-1)?.toFixed(0)
      } MiB; ${peakConnections} connections at peak; per-tenant chain median ${median(durations)} ms, max ${
        durations.at(-1)
      } ms; ` +
      `${workerPids().size} workers (${retired} retired, ${kills} killed)`,
  );
  const s = (v: number) => v / 1000;
  const label =
    `7. nightly: ${tenants.length} tenants x ${input.bookingsPerTenant} bookings, all-tenants run under the limits`;
  return {
    details,
    metrics: [
      { id: "nightly.totalS", label: `${label}, total`, value: s(totalMs), unit: "s" },
      {
        id: "nightly.chainsAtOnce",
        label: `7. chains running at once (database timestamps; bound ${bound})`,
        value: overlap,
        unit: "",
        target: { dir: "max", value: bound },
      },
      {
        id: "nightly.hopCpuMaxMs",
        label: "7. CPU per invocation, max (hop ended)",
        value: hopCpu.at(-1) ?? null,
        unit: "ms",
      },
      {
        id: "nightly.hopCpuMedianMs",
        label: "7. CPU per invocation, median",
        value: median(hopCpu),
        unit: "ms",
      },
      {
        id: "nightly.workerPeakRssMiB",
        label: "7. peak RSS of a worker process, max",
        value: rss.at(-1) ?? null,
        unit: "MiB",
      },
      { id: "nightly.workersKilled", label: "7. workers killed at a limit", value: kills, unit: "" },
      {
        id: "nightly.peakConnections",
        label: "7. functions' database connections at peak",
        value: peakConnections,
        unit: "",
      },
      { id: "nightly.chainMinS", label: "7. per-tenant chain, min", value: s(durations[0]), unit: "s" },
      {
        id: "nightly.chainMedianS",
        label: "7. per-tenant chain, median",
        value: s(median(durations)),
        unit: "s",
      },
      {
        id: "nightly.chainP90S",
        label: "7. per-tenant chain, p90",
        value: s(percentile(durations, 90)),
        unit: "s",
      },
      { id: "nightly.chainMaxS", label: "7. per-tenant chain, max", value: s(durations.at(-1)!), unit: "s" },
    ],
  };
}
