// What the per-source functions and the command center share: the request body, the 409 for a
// held slot, and the run as the API shows it.
import { z } from "zod";
import { ApiError } from "../http/errors.ts";
import { invalid } from "../http/body.ts";
import type { Sql } from "../db.ts";
import { getRun, resumeRun } from "../runs/coordinator.ts";
import { isActive } from "../runs/state-machine.ts";
import type { Run, Source } from "../runs/types.ts";
import { redactDeep } from "../redact.ts";

export const runRequestSchema = z
  .strictObject({
    tenantId: z.uuid({ message: "Must be a tenant id (uuid)." }).optional(),
    forceCancel: z.literal(true, { message: "Must be true when present." }).optional(),
    runId: z.uuid({ message: "Must be a run id (uuid)." }).optional(),
    trigger: z.enum(["manual", "cron"]).optional(),
  });
export type RunRequest = z.infer<typeof runRequestSchema>;

export type RunCommand =
  | { kind: "start"; tenantId: string | null; trigger: "manual" | "cron" }
  | { kind: "cancel"; tenantId: string | null }
  | { kind: "continue"; runId: string };

/** Turns a valid body into one command; `tenantRequired` for the per-source functions. */
export function toCommand(body: RunRequest, tenantRequired: boolean): RunCommand {
  if (body.runId) {
    const extra = (["tenantId", "forceCancel", "trigger"] as const).filter((k) => body[k] !== undefined);
    if (extra.length) {
      throw invalid(extra.map((field) => ({ field, message: "Not allowed with runId (a continuation)." })));
    }
    return { kind: "continue", runId: body.runId };
  }
  if (body.forceCancel) {
    if (body.trigger) throw invalid([{ field: "trigger", message: "Not allowed with forceCancel." }]);
    return { kind: "cancel", tenantId: body.tenantId ?? null };
  }
  if (tenantRequired && !body.tenantId) {
    throw invalid([{ field: "tenantId", message: "Required: the tenant to sync." }]);
  }
  return { kind: "start", tenantId: body.tenantId ?? null, trigger: body.trigger ?? "manual" };
}

export function runInProgress(holder: Run): ApiError {
  // A chain's child belongs to its chain: the caller is told which chain to wait for or cancel.
  const chain = holder.parentRunId
    ? ` It is part of chain run ${holder.parentRunId}; only that chain drives it (forceCancel the chain to stop it).`
    : "";
  return new ApiError(
    409,
    "RUN_IN_PROGRESS",
    `A ${holder.source} run is already active for this tenant (started ${holder.startedAt}, last heartbeat ${holder.heartbeatAt}).${chain}`,
    {
      runId: holder.id,
      ...(holder.parentRunId ? { chainRunId: holder.parentRunId } : {}),
      status: holder.status,
      source: holder.source,
      tenantId: holder.tenantId,
      startedAt: holder.startedAt,
      heartbeatAt: holder.heartbeatAt,
    },
  );
}

export function publicRun(run: Run) {
  const { fencingToken: _token, checkpoint: _checkpoint, ...rest } = run;
  // The precise cause behind a general error code (UPSTREAM_ERROR: MOTOPRESS_TLS, …), beside it.
  const cause = run.stats?.cause;
  // Run records are redacted when written; this covers rows written before that, or by hand.
  return redactDeep({ ...rest, errorCause: typeof cause === "string" ? cause : null });
}

/**
 * Takes over `runId` for a continuation of `source`: the run must exist, belong to that source, and
 * be `continuing` (or `running` with an expired lease). The source is checked first, so a runId of
 * another function is never taken over.
 */
export async function resumeFor(sql: Sql, runId: string, source: Source): Promise<Run> {
  const current = await getRun(sql, runId);
  if (!current || current.source !== source) {
    throw new ApiError(404, "RUN_NOT_FOUND", `No ${source} run with id ${runId}.`, { runId });
  }
  // A source run inside an active chain is resumed by that chain only, never by a direct call.
  if (current.parentRunId && current.source !== "sync-command-center") {
    const parent = await getRun(sql, current.parentRunId);
    if (parent && isActive(parent.status)) throw runInProgress(current);
  }
  const run = await resumeRun(sql, runId);
  if (run) return run;
  const now = await getRun(sql, runId);
  if (now?.status === "running") throw runInProgress(now);
  throw new ApiError(
    409,
    "RUN_NOT_RESUMABLE",
    `Run ${runId} is ${now?.status}; only a continuing or stale run can be resumed.`,
    {
      runId,
      status: now?.status,
    },
  );
}
