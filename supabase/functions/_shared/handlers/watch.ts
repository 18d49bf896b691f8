// Follows a run in the database and reports it as SSE events. Progress is read from the run row,
// so a stream follows the run across continuations and through the command center's child runs.
import type { Sql } from "../db.ts";
import type { SseSink } from "../http/sse.ts";
import { getRun, toRun } from "../runs/coordinator.ts";
import { isProgressData, type Progress, progressFrom, STARTING } from "../runs/progress.ts";
import { isActive } from "../runs/state-machine.ts";
import type { Run } from "../runs/types.ts";
import { CHAIN, shortName } from "../sync/chain.ts";
import { publicRun } from "./run-api.ts";

function ownProgress(run: Run): Progress | null {
  const p = run.stats?.progress as Progress | undefined;
  return p && typeof p === "object" ? p : null;
}

/** A run's progress; for the command center, that of its most recently active child run. */
export async function progressOf(sql: Sql, run: Run): Promise<Progress | null> {
  if (run.source !== "sync-command-center") return ownProgress(run);
  const [child] = await sql`
    select c.*, t.slug from public.sync_runs c left join public.tenant_registry t on t.tenant_id = c.tenant_id
    where c.parent_run_id = ${run.id} order by c.heartbeat_at desc limit 1`;
  if (!child) return null;
  if (child.source === "sync-command-center") {
    // A fan-out: the progress of its most recently active tenant chain, named by its tenant.
    const inner = await progressOf(sql, toRun(child));
    return inner && progressFrom({ ...inner, tenant: child.slug });
  }
  // A chain's step is its child's source; the child's own phase and page are the detail.
  const p = ownProgress(toRun(child));
  const data = isProgressData(p) ? p : null;
  const detailed = data?.activity === "pages" || data?.activity === "removals" ||
    data?.activity === "placeholders";
  return progressFrom({
    stage: shortName(child.source),
    activity: data?.activity ?? "starting",
    step: CHAIN.indexOf(child.source) + 1,
    steps: CHAIN.length,
    current: data?.current ?? 0,
    total: data?.total ?? null,
    ...(detailed ? { part: data.stage } : {}),
    ...(run.tenantId ? {} : { tenant: child.slug }),
  });
}

export async function watchRun(
  sql: Sql,
  runId: string,
  sink: SseSink,
  opts: { pollMs?: number; sleep?: (ms: number) => Promise<void> } = {},
): Promise<void> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  let last = "";
  sink.send("progress", STARTING);
  for (;;) {
    const run = await getRun(sql, runId);
    if (!run) {
      sink.send("error", { error: { code: "RUN_NOT_FOUND", message: `Run ${runId} disappeared.` } });
      return;
    }
    const progress = await progressOf(sql, run);
    const key = JSON.stringify(progress);
    if (progress && key !== last) {
      last = key;
      sink.send("progress", progress);
    }
    if (!isActive(run.status)) {
      if (run.status === "completed") sink.send("done", { run: publicRun(run) });
      else {
        sink.send("error", {
          error: {
            code: run.errorCode ?? "FAILED",
            message: run.errorMessage ?? `Run ended as ${run.status}.`,
            ...(typeof run.stats?.cause === "string" ? { cause: run.stats.cause } : {}),
          },
          run: publicRun(run),
        });
      }
      return;
    }
    if (sink.closed) return;
    await sleep(opts.pollMs ?? 250);
  }
}
