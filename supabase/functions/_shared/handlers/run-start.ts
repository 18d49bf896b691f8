// The one way every function starts a run's invocation: the executor drives it in the background
// (kept alive by the platform's waitUntil), and the caller gets 202 or the run's progress stream.
import { json } from "../http/errors.ts";
import { sseResponse, wantsEventStream } from "../http/sse.ts";
import { type ClaimInput, claimRun } from "../runs/coordinator.ts";
import type { Run } from "../runs/types.ts";
import type { FunctionDeps } from "../types.ts";
import { runInProgress } from "./run-api.ts";
import { watchRun } from "./watch.ts";

/** A function's own continuation: a new invocation that resumes the checkpointed run. */
export const continueItself = (deps: Pick<FunctionDeps, "invoke">) => (run: Run): Promise<void> =>
  deps.invoke(run.source, { runId: run.id });

export function startInBackground(
  deps: Pick<FunctionDeps, "sql" | "log" | "waitUntil">,
  req: Request,
  run: Run,
  drive: (run: Run) => Promise<unknown>,
  extra: Record<string, unknown> = {},
): Response {
  deps.waitUntil(
    drive(run).catch((err) => deps.log("error", "run crashed", { runId: run.id, error: String(err) })),
  );
  if (wantsEventStream(req)) return sseResponse((sink) => watchRun(deps.sql, run.id, sink));
  return json(202, {
    runId: run.id,
    status: "running",
    source: run.source,
    tenantId: run.tenantId,
    ...extra,
  });
}

/** Claims the slot (409 naming the holder when it is taken) and starts the run it got. */
export async function claimAndStart(
  deps: Pick<FunctionDeps, "sql" | "log" | "waitUntil" | "config">,
  req: Request,
  input: Omit<ClaimInput, "leaseSeconds">,
  drive: (run: Run) => Promise<unknown>,
): Promise<Response> {
  const claim = await claimRun(deps.sql, { ...input, leaseSeconds: deps.config.leaseSeconds });
  if (claim.outcome === "busy") throw runInProgress(claim.holder);
  return startInBackground(deps, req, claim.run, drive, claim.outcome === "resumed" ? { resumed: true } : {});
}
