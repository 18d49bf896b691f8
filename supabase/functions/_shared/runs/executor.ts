// Drives one invocation of a run: keeps its lease alive, runs the job until it completes or the
// invocation's budget is spent, then finishes or checkpoints the run by compare-and-set.
import type { Config } from "../config.ts";
import type { Sql } from "../db.ts";
import type { Logger } from "../http/handler.ts";
import { classifyRunError } from "./classify.ts";
import { finishRun, keepAlive, RunLostError, suspendRun } from "./coordinator.ts";
import { withDbRetry } from "./db-faults.ts";
import { leaseOf, type Lease, type Run } from "./types.ts";

export interface Progress {
  stage: string;
  current: number;
  total: number | null;
  message: string;
}

export interface JobContext {
  sql: Sql;
  config: Config;
  run: Run;
  lease: Lease;
  /** Aborted as soon as the run stops being ours (cancelled or reclaimed). */
  signal: AbortSignal;
  /** When this invocation should checkpoint and hand over to a continuation (epoch ms). */
  deadline: number;
  /** True once the deadline passed. */
  budgetSpent(): boolean;
  /** The stats as of the last committed page: what a failed run records. */
  reportStats(stats: Record<string, unknown>): void;
  log: Logger;
}

export type JobResult =
  | { status: "completed"; stats: Record<string, unknown> }
  | { status: "continue"; checkpoint: unknown; stats: Record<string, unknown> }
  | { status: "failed"; errorCode: string; errorMessage: string; stats: Record<string, unknown> };

export type Job = (ctx: JobContext) => Promise<JobResult>;

export { JobError } from "./classify.ts";

export interface ExecuteDeps {
  sql: Sql;
  config: Config;
  log: Logger;
  now?: () => number;
  /** When this invocation must hand over (default: now + the configured budget). */
  deadline?: number;
  /** Called after the run was checkpointed to `continuing`; normally invokes the function again. */
  onSuspended?: (run: Run) => Promise<void>;
  /** Maps a job's error to the code and message the run records (default: by its type). */
  classify?: (err: unknown) => { code: string; message: string } | null;
}

export type ExecuteOutcome = { run: Run | null; lost: boolean };

export async function executeRun(deps: ExecuteDeps, run: Run, job: Job): Promise<ExecuteOutcome> {
  const now = deps.now ?? Date.now;
  const deadline = deps.deadline ?? now() + deps.config.invocationBudgetMs;
  const lease = leaseOf(run);
  const controller = new AbortController();
  let lastStats: Record<string, unknown> | undefined;
  const log: Logger = (level, message, data) => deps.log(level, message, { runId: run.id, source: run.source, ...data });
  const stop = keepAlive(deps.sql, lease, deps.config.heartbeatIntervalMs, () => {
    log("warn", "lease lost: the run was cancelled or reclaimed; stopping");
    controller.abort(new RunLostError(run.id, "cancelled"));
  });
  try {
    const result = await job({
      sql: deps.sql,
      config: deps.config,
      run,
      lease,
      signal: controller.signal,
      deadline,
      budgetSpent: () => now() >= deadline,
      reportStats: (stats) => (lastStats = stats),
      log,
    });
    if (result.status !== "continue") {
      const done = await withDbRetry(() =>
        finishRun(deps.sql, lease, result.status === "completed"
          ? { status: "completed", stats: result.stats }
          : { status: "failed", stats: result.stats, errorCode: result.errorCode, errorMessage: result.errorMessage })
      );
      if (!done) log("warn", "finish lost: the run was cancelled or reclaimed before it could finish");
      return { run: done, lost: !done };
    }
    const suspended = await withDbRetry(() =>
      suspendRun(deps.sql, lease, { checkpoint: result.checkpoint, stats: result.stats })
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
    const { code, message } = (deps.classify ?? classifyRunError)(err) ?? {
      code: "INTERNAL_ERROR",
      message: `Unexpected error: ${(err as Error)?.message ?? String(err)}`,
    };
    log("error", "run failed", { code, error: String((err as Error)?.stack ?? err) });
    const failed = await withDbRetry(() =>
      finishRun(deps.sql, lease, { status: "failed", errorCode: code, errorMessage: message, stats: lastStats })
    );
    return { run: failed, lost: !failed };
  } finally {
    stop();
  }
}
