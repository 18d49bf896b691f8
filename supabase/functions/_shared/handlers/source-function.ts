// The handler behind motopress-accommodations and motopress-bookings: start (202 or SSE),
// forceCancel, and continuation of a checkpointed run.
import { z } from "zod";
import { readJson, searchParams } from "../http/body.ts";
import { json } from "../http/errors.ts";
import { createHandler } from "../http/handler.ts";
import { cancelRuns } from "../runs/coordinator.ts";
import { executeRun } from "../runs/executor.ts";
import type { Run, SyncSource } from "../runs/types.ts";
import type { JobFor } from "../sync/jobs.ts";
import { requireSyncableTenant, requireTenant } from "../tenants.ts";
import type { FunctionDeps } from "../types.ts";
import { resumeFor, runRequestSchema, toCommand } from "./run-api.ts";
import { runIdQuery, runResponse } from "./run-query.ts";
import { claimAndStart, continueItself, startInBackground } from "./run-start.ts";

export function sourceFunction(source: SyncSource, deps: FunctionDeps, jobFor: JobFor) {
  const { sql, config, log } = deps;

  const drive = (run: Run) =>
    executeRun({ ...deps, onSuspended: continueItself(deps) }, run, jobFor(deps, run));

  const runQuery = z.strictObject({ runId: runIdQuery });

  return createHandler({
    GET: async (req) => await runResponse(sql, req, searchParams(req, runQuery).runId),
    POST: async (req) => {
      const command = toCommand(await readJson(req, runRequestSchema), true);
      if (command.kind === "cancel") {
        if (command.tenantId) await requireTenant(sql, command.tenantId);
        const runIds = await cancelRuns(sql, {
          source,
          tenantId: command.tenantId,
          reason: `forceCancel on ${source}.`,
        });
        log("info", "forceCancel", { source, tenantId: command.tenantId, runIds });
        return json(200, { cancelled: runIds.length, runIds });
      }
      if (command.kind === "continue") {
        return startInBackground(deps, req, await resumeFor(sql, command.runId, source), drive, {
          resumed: true,
        });
      }
      await requireSyncableTenant(sql, command.tenantId!);
      return claimAndStart(deps, req, {
        tenantId: command.tenantId,
        source,
        trigger: command.trigger,
      }, drive);
    },
  }, { adminKeys: () => config.adminKeys, jwt: () => config.jwt, log });
}
