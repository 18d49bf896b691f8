// Drives one invocation of a run: keeps its lease alive, runs the job until it completes or the
// invocation's budget is spent, then finishes or checkpoints the run by compare-and-set.
import type { Config } from "../config.ts";
import type { Sql } from "../db.ts";
import type { IsolateMeter, Logger } from "../types.ts";
import { HopBudget, unmeteredIsolate } from "./budget.ts";
import { classifyRunError, type RunErrorClass } from "./classify.ts";
import { finishRun, keepAlive, noteInterruption, RunLostError, suspendRun } from "./coordinator.ts";
import { isTransientDbError, withDbRetry } from "./db-faults.ts";
import { type Lease, leaseOf, type Run } from "./types.ts";

export interface JobContext {
  sql: Sql;
  config: Config;
  run: Run;
  lease: Lease;
  /** Aborted as soon as the run stops being ours (cancelled or reclaimed). */
  signal: AbortSignal;
  /** Aborted when the run stops being ours or the invocation's deadline passes: upstream requests listen to it. */
  hopSignal: AbortSignal;
  /** When this invocation should checkpoint and hand over to a continuation (epoch ms). */
  deadline: number;
  /** True once the hop must end: its deadline passed, the CPU limit is near, or beforeunload came. */
  budgetSpent(): boolean;
  /** A step (page) committed: measures its CPU, from which the CPU margin is derived. */
  stepDone(): void;
  /** The stats as of the last committed page: what a failed run records. */
  reportStats(stats: Record<string, unknown>): void;
  log: Logger;
}

export type JobResult =
  | { status: "completed"; stats: Record<string, unknown> }
  | { status: "continue"; checkpoint: unknown; stats: Record<string, unknown>; interruption?: string }
  | { status: "failed"; errorCode: string; errorMessage: string; stats: Record<string, unknown> };

export type Job = (ctx: JobContext) => Promise<JobResult>;

export interface ExecuteDeps {
  sql: Sql;
  config: Config;
  log: Logger;
  now?: () => number;
  /** When this invocation must hand over (default: now + the configured budget). */
  deadline?: number;
  /** The isolate's CPU, age and beforeunload (default: unmetered). */
  isolate?: IsolateMeter;
  /** Called after the run was checkpointed to `continuing`; normally invokes the function again. */
  onSuspended?: (run: Run) => Promise<void>;
  /** Maps a job's error to the code, message and cause the run records (default: by its type). */
  classify?: (err: unknown) => RunErrorClass | null;
}

export type ExecuteOutcome = { run: Run | null; lost: boolean };

export async function executeRun(deps: ExecuteDeps, run: Run, job: Job): Promise<ExecuteOutcome> {
  const now = deps.now ?? Date.now;
  const isolate = deps.isolate ?? unmeteredIsolate();
  const budget = new HopBudget(isolate, deps.config, now, deps.deadline);
  const cpuAtStart = isolate.cpuMs();
  const lease = leaseOf(run);
  const controller = new AbortController();
  let lastStats: Record<string, unknown> | undefined;
  const log: Logger = (level, message, data) =>
    deps.log(level, message, { runId: run.id, source: run.source, ...data });
  const keepAliveStop = keepAlive(deps.sql, lease, deps.config.heartbeatIntervalMs, () => {
    log("warn", "lease lost: the run was cancelled or reclaimed; stopping");
    controller.abort(new RunLostError(run.id, "cancelled"));
  });
  // The runtime is about to stop this worker: say so on the run (best effort; the hop ends at its
  // next page boundary through the budget).
  const unsubscribe = isolate.onBeforeUnload((reason) => {
    log("warn", "beforeunload: ending the hop at the next page boundary", { reason });
    noteInterruption(deps.sql, lease, `the runtime stopped the worker (beforeunload: ${reason})`).catch(
      () => {},
    );
  });
  // The executor's own writes (finish, suspend) retry no later than the isolate's wall clock allows.
  const retry = { deadline: budget.hardDeadline };
  const stop = () => {
    keepAliveStop();
    unsubscribe();
    budget.dispose();
  };
  try {
    const result = await job({
      sql: deps.sql,
      config: deps.config,
      run,
      lease,
      signal: controller.signal,
      hopSignal: AbortSignal.any([controller.signal, budget.signal]),
      deadline: budget.deadline,
      budgetSpent: () => budget.spent(),
      stepDone: () => budget.step(),
      reportStats: (stats) => (lastStats = stats),
      log,
    });
    log("info", "hop ended", {
      status: result.status,
      hopCpuMs: isolate.cpuMs() - cpuAtStart,
      ...budget.report(),
    });
    if (result.status !== "continue") {
      const done = await withDbRetry(
        () =>
          finishRun(
            deps.sql,
            lease,
            result.status === "completed" ? { status: "completed", stats: result.stats } : {
              status: "failed",
              stats: result.stats,
              errorCode: result.errorCode,
              errorMessage: result.errorMessage,
            },
          ),
        retry,
      );
      if (!done) log("warn", "finish lost: the run was cancelled or reclaimed before it could finish");
      return { run: done, lost: !done };
    }
    const suspended = await withDbRetry(
      () =>
        suspendRun(deps.sql, lease, {
          checkpoint: result.checkpoint,
          stats: result.stats,
          interruption: result.interruption,
        }),
      retry,
    );
    if (!suspended) return { run: null, lost: true };
    stop();
    await deps.onSuspended?.(suspended).catch((err) =>
      // The run stays `continuing`; after its lease it is resumed by the next claim or the resumer.
      log("error", "could not start the continuation", { error: String(err) })
    );
    return { run: suspended, lost: false };
  } catch (err) {
    if (err instanceof RunLostError || controller.signal.aborted) {
      log("info", "stopped: the run is no longer ours", { error: String(err) });
      return { run: null, lost: true };
    }
    const classified = (deps.classify ?? classifyRunError)(err);
    // Only an error nothing else claims: a MotoPress reset, say, is the site's, not the database's.
    if (!classified && isTransientDbError(err)) {
      // A dropped connection or a restarting database outside a page's retried transaction (a read
      // before the first page, a chain's look at its child): nothing committed is lost, so the run
      // hands over from its last committed checkpoint instead of failing. Each takeover counts
      // against the run's attempts without progress, so one that keeps meeting it ends NO_PROGRESS.
      log("warn", "database fault outside a page: handing over from the last checkpoint", {
        error: String(err),
      });
      const suspended = await withDbRetry(
        () =>
          suspendRun(deps.sql, lease, {
            interruption: `a database fault (${(err as Error)?.message ?? String(err)})`,
          }),
        retry,
      ).catch(() => null);
      if (suspended) {
        stop();
        await deps.onSuspended?.(suspended).catch((e) =>
          log("error", "could not start the continuation", { error: String(e) })
        );
        return { run: suspended, lost: false };
      }
    }
    const { code, message, cause } = classified ?? {
      code: "INTERNAL_ERROR",
      message: `Unexpected error: ${(err as Error)?.message ?? String(err)}`,
    };
    log("error", "run failed", { code, cause, error: String((err as Error)?.stack ?? err) });
    // The cause joins the stats the run has (this hop's last page's, else those it was claimed with).
    const stats = cause ? { ...(lastStats ?? run.stats ?? {}), cause } : lastStats;
    const failed = await withDbRetry(
      () =>
        finishRun(deps.sql, lease, {
          status: "failed",
          errorCode: code,
          errorMessage: message,
          stats,
        }),
      retry,
    );
    return { run: failed, lost: !failed };
  } finally {
    stop();
  }
}
