// Follows a run in the database and reports it as SSE events. Progress is read from the run row,
// so a stream follows the run across continuations and through the command center's child runs.
import type { Sql } from "../db.ts";
import type { SseSink } from "../http/sse.ts";
import { getRun } from "../runs/coordinator.ts";
import { isActive } from "../runs/state-machine.ts";
import type { Progress } from "../runs/executor.ts";
import type { Run } from "../runs/types.ts";
import { publicRun } from "./run-api.ts";

export function progressOf(run: Run): Progress | null {
  const p = run.stats?.progress as Progress | undefined;
  return p && typeof p === "object" ? p : null;
}

export async function watchRun(
  sql: Sql,
  runId: string,
  sink: SseSink,
  opts: { pollMs?: number; sleep?: (ms: number) => Promise<void> } = {},
): Promise<void> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  let last = "";
  sink.send("progress", { stage: "starting", current: 0, total: null, message: "Run started" } satisfies Progress);
  for (;;) {
    const run = await getRun(sql, runId);
    if (!run) {
      sink.send("error", { error: { code: "RUN_NOT_FOUND", message: `Run ${runId} disappeared.` } });
      return;
    }
    const progress = progressOf(run);
    const key = JSON.stringify(progress);
    if (progress && key !== last) {
      last = key;
      sink.send("progress", progress);
    }
    if (!isActive(run.status)) {
      if (run.status === "completed") sink.send("done", { run: publicRun(run) });
      else {
        sink.send("error", {
          error: { code: run.errorCode ?? "FAILED", message: run.errorMessage ?? `Run ended as ${run.status}.` },
          run: publicRun(run),
        });
      }
      return;
    }
    if (sink.closed) return;
    await sleep(opts.pollMs ?? 250);
  }
}
