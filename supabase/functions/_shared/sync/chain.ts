// The command center's jobs.
//  * A tenant's chain: accommodations and then bookings as child runs, in this invocation under its
//    deadline; when it is spent, the child and the chain checkpoint and the chain's continuation
//    drives them on. Bookings never start unless accommodations completed.
//  * The all-tenants run (a fan-out): it records one queued tenant per active tenant and holds no
//    isolate while they run. Each tenant's chain is a child run started in its own invocation;
//    sync.advance_fanout starts the next queued tenant whenever a slot frees (a chain's end, the
//    parent's own invocation, the reaper) and completes the parent after the last chain.
import type { Sql } from "../db.ts";
import { claimRun, getRun, reapStaleRuns, resumeRun, withFencedTransaction } from "../runs/coordinator.ts";
import { withDbRetry } from "../runs/db-faults.ts";
import { executeRun, type Job, type JobContext, type JobResult } from "../runs/executor.ts";
import type { Run, SyncSource } from "../runs/types.ts";
import { findTenant, type Tenant } from "../tenants.ts";
import type { FunctionDeps } from "../types.ts";
import { accommodationsJob, bookingsJob, type JobFor } from "./jobs.ts";

export const CHAIN: readonly SyncSource[] = ["motopress-accommodations", "motopress-bookings"];
const JOBS: Record<SyncSource, JobFor> = {
  "motopress-accommodations": accommodationsJob,
  "motopress-bookings": bookingsJob,
};

interface StepResult {
  runId: string;
  status: string;
  errorCode?: string | null;
  errorMessage?: string | null;
  startedAt?: string;
  completedAt?: string | null;
}

export interface TenantProgress {
  tenantId: string;
  slug: string;
  /** Index into CHAIN of the step to run next; CHAIN.length when every step completed. */
  step: number;
  state: "pending" | "running" | "suspended" | "completed" | "failed";
  childRunId: string | null;
  steps: Partial<Record<SyncSource, StepResult>>;
  /** `cause`: the failed step's precise cause behind UPSTREAM_ERROR (its run's `stats.cause`). */
  error: { code: string; message: string; cause?: string } | null;
}

interface ChainCheckpoint {
  tenants: TenantProgress[];
  reaped: number;
}

const stepResult = (run: Run): StepResult => ({
  runId: run.id,
  status: run.status,
  errorCode: run.errorCode,
  errorMessage: run.errorMessage,
  startedAt: run.startedAt,
  completedAt: run.completedAt,
});

async function initialCheckpoint(sql: Sql, run: Run): Promise<ChainCheckpoint> {
  // A fan-out's chain leaves the stale cleanup to its parent, which did it once for every tenant.
  const reaped = run.parentRunId ? [] : await reapStaleRuns(sql);
  const tenants: Tenant[] = [await findTenant(sql, run.tenantId!)].filter((t): t is Tenant => !!t);
  return {
    reaped: reaped.length,
    tenants: tenants.map((t) => ({
      tenantId: t.tenantId,
      slug: t.slug,
      step: 0,
      state: "pending",
      childRunId: null,
      steps: {},
      error: null,
    })),
  };
}

/** One tenant's chain (`parent.tenantId` set): its invocation does that tenant's work only. */
export function chainJob(deps: FunctionDeps): (parent: Run) => Job {
  return (parent) => async (ctx: JobContext): Promise<JobResult> => {
    const cp: ChainCheckpoint = (parent.checkpoint as ChainCheckpoint | null) ??
      await initialCheckpoint(deps.sql, parent);
    for (const t of cp.tenants) {
      if (ctx.signal.aborted || ctx.budgetSpent()) break;
      if (t.state !== "completed" && t.state !== "failed") await advanceTenant(deps, ctx, t);
    }

    const stats = { reaped: cp.reaped, tenants: cp.tenants, ...summary(cp.tenants) };
    if (ctx.signal.aborted) return { status: "continue", checkpoint: cp, stats }; // lost: the executor stops
    if (cp.tenants.some((t) => t.state !== "completed" && t.state !== "failed")) {
      return { status: "continue", checkpoint: cp, stats };
    }
    const failed = cp.tenants.filter((t) => t.state === "failed");
    if (failed.length === 0) return { status: "completed", stats };
    const single = failed.length === 1 ? failed[0].error : null;
    return {
      status: "failed",
      errorCode: single?.code ?? "TENANTS_FAILED",
      errorMessage: single?.message ??
        `${failed.length} of ${cp.tenants.length} tenants failed: ${
          failed.map((t) => `${t.slug} (${t.error?.message})`).join("; ")
        }`,
      stats: single?.cause ? { ...stats, cause: single.cause } : stats,
    };
  };
}

function summary(tenants: TenantProgress[]) {
  const count = (s: TenantProgress["state"]) => tenants.filter((t) => t.state === s).length;
  return { tenantCount: tenants.length, completed: count("completed"), failed: count("failed") };
}

/** Runs the tenant's remaining steps until it completes, fails, or the invocation's budget ends. */
async function advanceTenant(deps: FunctionDeps, ctx: JobContext, t: TenantProgress) {
  const { sql } = deps;
  while (t.step < CHAIN.length) {
    if (ctx.signal.aborted) return;
    const source = CHAIN[t.step];
    const child = await withDbRetry(() => childRun(sql, ctx.run, t, source), {
      signal: ctx.signal,
      deadline: ctx.deadline,
    });
    if ("error" in child) {
      t.state = "failed";
      t.error = { code: child.error.code, message: `${shortName(source)}: ${child.error.message}` };
      return;
    }
    t.state = "running";
    t.childRunId = child.run.id;
    // The child's hop ends with the chain's: one deadline, and no continuation of its own.
    const { run } = await executeRun(
      { ...deps, deadline: ctx.deadline },
      child.run,
      JOBS[source](deps, child.run),
    );
    const final = run ?? await getRun(sql, child.run.id);
    if (!final) return;
    t.steps[source] = stepResult(final);
    if (final.status === "continuing") {
      t.state = "suspended";
      return;
    }
    t.childRunId = null;
    if (final.status !== "completed") {
      // Bookings never start after a failed or cancelled accommodations step.
      t.state = "failed";
      const next = t.step + 1 < CHAIN.length ? `; ${shortName(CHAIN[t.step + 1])} not started` : "";
      const cause = final.stats?.cause;
      t.error = {
        code: final.errorCode ?? final.status.toUpperCase(),
        message: `${shortName(source)} ${final.status}: ${final.errorMessage ?? "no detail"}${next}`,
        ...(typeof cause === "string" ? { cause } : {}),
      };
      return;
    }
    t.step++;
    if (t.step < CHAIN.length && ctx.budgetSpent()) {
      t.state = "pending";
      return;
    }
  }
  t.state = "completed";
}

export const shortName = (source: SyncSource) => source.replace("motopress-", "");

async function childRun(
  sql: Sql,
  parent: Run,
  t: TenantProgress,
  source: SyncSource,
): Promise<{ run: Run } | { error: { code: string; message: string } }> {
  if (t.childRunId) {
    const resumed = await resumeRun(sql, t.childRunId);
    if (resumed) return { run: resumed };
    const current = await getRun(sql, t.childRunId);
    if (current?.status === "completed") return { run: current };
    return {
      error: {
        code: current?.errorCode ?? "CHILD_LOST",
        message: `run ${t.childRunId} is ${current?.status ?? "gone"}${
          current?.errorMessage ? ` (${current.errorMessage})` : ""
        }`,
      },
    };
  }
  const claim = await claimRun(sql, {
    tenantId: t.tenantId,
    source,
    trigger: "parent",
    parentRunId: parent.id,
    leaseSeconds: parent.leaseSeconds,
  });
  if (claim.outcome === "parent_inactive") {
    return { error: { code: "CANCELLED", message: "the chain was cancelled before this step started" } };
  }
  if (claim.outcome === "busy") {
    return {
      error: {
        code: "RUN_IN_PROGRESS",
        message: `another run (${claim.holder.id}, started ${claim.holder.startedAt}) is active`,
      },
    };
  }
  return { run: claim.run };
}

interface FanoutCheckpoint {
  fanout: true;
  reaped: number;
  tenantCount: number;
}

/**
 * The all-tenants run's invocation: the first one cleans up stale runs and queues every active
 * tenant (fenced: a cancelled run queues nothing); every invocation then suspends at once, and the
 * executor's onSuspended calls advanceFanout. No tenant's work is done here.
 */
export function fanoutJob(deps: FunctionDeps): (parent: Run) => Job {
  return (parent) => async (ctx: JobContext): Promise<JobResult> => {
    const prior = parent.checkpoint as FanoutCheckpoint | null;
    if (prior?.fanout) return { status: "continue", checkpoint: prior, stats: parent.stats };
    const reaped = await withDbRetry(() => reapStaleRuns(deps.sql), {
      signal: ctx.signal,
      deadline: ctx.deadline,
    });
    const cp: FanoutCheckpoint = { fanout: true, reaped: reaped.length, tenantCount: 0 };
    cp.tenantCount = await withDbRetry(() =>
      withFencedTransaction(deps.sql, ctx.lease, async (tx) => {
        const [row] = await tx`select sync.enqueue_fanout(${parent.id}) as n`;
        return row.n as number;
      }, { checkpoint: { ...cp, tenantCount: null } }), { signal: ctx.signal, deadline: ctx.deadline });
    const stats = {
      reaped: cp.reaped,
      tenantCount: cp.tenantCount,
      concurrency: deps.config.tenantConcurrency,
    };
    return { status: "continue", checkpoint: cp, stats };
  };
}

/**
 * Starts what the fan-out's free slots allow (each chain in its own invocation) and lets the SQL
 * finish the parent when nothing is left. Safe to call from anywhere, any number of times.
 */
export async function advanceFanout(deps: FunctionDeps, parentRunId: string): Promise<void> {
  const rows = await withDbRetry(() =>
    deps.sql`select action, run_id from sync.advance_fanout(${parentRunId}, ${deps.config.tenantConcurrency})`
  );
  deps.log("info", "fan-out advanced", {
    runId: parentRunId,
    started: rows.filter((r) => r.action === "start").length,
    finished: rows.some((r) => r.action === "finished"),
  });
  for (const { action, run_id: runId } of rows) {
    if (action === "finished") {
      deps.log("info", "all-tenants run finished", { runId: parentRunId });
      continue;
    }
    deps.log("info", "tenant chain started", { runId: parentRunId, chainRunId: runId });
    // If this call is lost the chain stays `continuing`, and the reaper re-invokes it after its lease.
    await deps.invoke("sync-command-center", { runId }).catch((err) =>
      deps.log("error", "could not invoke a tenant chain; the reaper will", {
        runId: parentRunId,
        chainRunId: runId,
        error: String(err),
      })
    );
  }
}
