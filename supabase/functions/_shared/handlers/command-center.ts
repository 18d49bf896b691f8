// sync-command-center: one button that syncs a hotel in order (accommodations, then bookings), one
// that cancels everything, and the health report.
import { z } from "zod";
import { invalid, parseWith, readJson, searchParams } from "../http/body.ts";
import { TenantNotConfiguredError } from "../errors.ts";
import { ApiError, json } from "../http/errors.ts";
import { createHandler } from "../http/handler.ts";
import { cancelRuns, claimRun, getRun } from "../runs/coordinator.ts";
import { classifyRunError } from "../runs/classify.ts";
import { executeRun } from "../runs/executor.ts";
import type { Run } from "../runs/types.ts";
import { isMotoPressError } from "../motopress/errors.ts";
import { repairJob, type RepairReport, repairTenant } from "../sync/repair.ts";
import { clientFor } from "../sync/jobs.ts";
import { requireActiveTenant, requireTenant } from "../tenants.ts";
import { advanceFanout, chainJob, fanoutJob } from "../sync/chain.ts";
import { healthReport } from "./health.ts";
import { resumeFor, runInProgress, runRequestSchema, toCommand } from "./run-api.ts";
import type { FunctionDeps } from "../types.ts";
import { healthDetails } from "./health-details.ts";
import { runIdQuery, runResponse } from "./run-query.ts";
import { listRuns } from "./run-views.ts";
import {
  listTenants,
  saveTenant,
  saveTenantSchema,
  testConnection,
  testConnectionSchema,
} from "./tenant-admin.ts";
import { claimAndStart, continueItself, startInBackground } from "./run-start.ts";

const SOURCE = "sync-command-center";
export const commandSchema = runRequestSchema.extend({
  action: z.literal("repair", { message: "One of repair, cancel_run, save_tenant, test_connection." })
    .optional(),
  apply: z.boolean({ message: "Must be true or false." }).optional(),
});
const cancelRunSchema = z.strictObject({
  action: z.literal("cancel_run"),
  runId: z.uuid({ message: "Must be a run id (uuid)." }),
});
export type CommandCenterRequest = z.infer<typeof commandSchema>;
// GET: the health report by default; `view` picks the console's other reads.
const healthQuery = z.strictObject({
  tenantId: z.uuid({ message: "Must be a tenant id (uuid)." }).optional(),
  runId: runIdQuery.optional(),
  view: z.enum(["health", "runs", "tenants", "details"], {
    message: "One of health, runs, tenants, details.",
  }).optional(),
  limit: z.coerce.number({ message: "Must be a number." }).int("Must be a whole number.").min(
    1,
    "At least 1.",
  ).max(200, "At most 200.").optional(),
});

export function commandCenter(deps: FunctionDeps) {
  const { sql, config, log } = deps;
  const chain = chainJob(deps);
  const fanout = fanoutJob(deps);

  /** One invocation of a run: a tenant's chain (then, if it is a fan-out's, the next tenant), or the fan-out. */
  async function drive(run: Run): Promise<void> {
    if (run.tenantId === null) {
      // The all-tenants run never continues itself: its chains and the reaper advance it.
      await executeRun({ ...deps, onSuspended: (r) => advanceFanout(deps, r.id) }, run, fanout(run));
      return;
    }
    const { run: after } = await executeRun({ ...deps, onSuspended: continueItself(deps) }, run, chain(run));
    // A fan-out's chain that ended (or was cancelled) frees its slot: start the next tenant.
    if (run.parentRunId && after?.status !== "continuing") await advanceFanout(deps, run.parentRunId);
  }

  /**
   * Re-links reservations without junction rows from MotoPress; dry-run unless `apply: true`.
   * Applying is a normal job on the tenant's bookings slot (claim, heartbeat, fenced writes,
   * finish), so a slow site never loses the slot to another claim; the caller waits for its report.
   */
  async function repair(body: z.infer<typeof commandSchema>): Promise<Response> {
    const others = (["forceCancel", "runId", "trigger"] as const).filter((k) => body[k] !== undefined);
    const fields = [
      ...(body.action !== "repair" ? [{ field: "action", message: 'Required with apply: "repair".' }] : []),
      ...(!body.tenantId ? [{ field: "tenantId", message: "Required: the tenant to repair." }] : []),
      ...others.map((field) => ({ field, message: 'Not allowed with action "repair".' })),
    ];
    if (fields.length) throw invalid(fields);
    const tenantId = body.tenantId!;
    await requireTenant(sql, tenantId);
    const client = await clientFor(deps, tenantId).catch((err) => {
      // A stored site URL that is not a URL is the tenant's data to fix, not our failure.
      if (isMotoPressError(err) && err.code === "MOTOPRESS_INVALID_CONFIG") {
        throw new TenantNotConfiguredError(tenantId, `${err.message} Fix it with \`npm run tenant -- add\`.`);
      }
      throw err;
    });
    if (!body.apply) {
      try {
        return json(200, { ...await repairTenant(sql, client, tenantId, null), runId: null });
      } catch (err) {
        const classified = classifyRunError(err);
        if (classified?.code === "UPSTREAM_ERROR") {
          throw new ApiError(502, "UPSTREAM_ERROR", classified.message);
        }
        throw err;
      }
    }
    const claim = await claimRun(sql, {
      tenantId,
      source: "motopress-bookings",
      trigger: "repair",
      leaseSeconds: config.leaseSeconds,
    });
    if (claim.outcome === "busy") throw runInProgress(claim.holder);
    let report: RepairReport | null = null;
    const { run, lost } = await executeRun(deps, claim.run, repairJob(client, (r) => (report = r)));
    if (lost || !run) {
      throw new ApiError(
        409,
        "RUN_IN_PROGRESS",
        "The repair's run was cancelled or taken over before it finished; nothing more was written.",
        {
          runId: claim.run.id,
        },
      );
    }
    if (run.status === "failed") {
      if (run.errorCode === "UPSTREAM_ERROR") {
        throw new ApiError(502, "UPSTREAM_ERROR", run.errorMessage ?? "MotoPress failed.", { runId: run.id });
      }
      throw new ApiError(500, "INTERNAL_ERROR", `The repair failed (${run.errorCode}); it has been logged.`, {
        runId: run.id,
      });
    }
    return json(200, { ...report!, runId: run.id });
  }

  return createHandler({
    GET: async (req) => {
      const { tenantId, runId, view, limit } = searchParams(req, healthQuery);
      if (runId) {
        const extra = (["tenantId", "view", "limit"] as const).filter((k) =>
          ({ tenantId, view, limit })[k] !== undefined
        );
        if (extra.length) {
          throw invalid(extra.map((field) => ({ field, message: "Not allowed with runId." })));
        }
        return await runResponse(sql, req, runId);
      }
      if (view === "details" && !tenantId) {
        throw invalid([{ field: "tenantId", message: "Required with view=details." }]);
      }
      if (limit !== undefined && view !== "runs") {
        throw invalid([{ field: "limit", message: "Only with view=runs." }]);
      }
      if (tenantId) await requireTenant(sql, tenantId);
      if (view === "runs") {
        return json(200, await listRuns(sql, { tenantId: tenantId ?? null, limit: limit ?? 30 }));
      }
      if (view === "tenants") return json(200, await listTenants(sql));
      if (view === "details") return json(200, await healthDetails(sql, tenantId!));
      return json(200, await healthReport(sql, tenantId ?? null));
    },
    POST: async (req) => {
      const raw = await readJson(req, z.unknown());
      const action = raw && typeof raw === "object" && !Array.isArray(raw)
        ? (raw as { action?: unknown }).action
        : undefined;
      if (action === "save_tenant") {
        const saved = await saveTenant(sql, parseWith(saveTenantSchema, raw));
        log("info", "tenant saved", saved);
        return json(saved.created ? 201 : 200, saved);
      }
      if (action === "cancel_run") {
        const { runId } = parseWith(cancelRunSchema, raw);
        const rows =
          await sql`select run_id from sync.cancel_run(${runId}, 'Cancelled from the operator console.')`;
        if (rows.length === 0) {
          const run = await getRun(sql, runId);
          if (!run) throw new ApiError(404, "RUN_NOT_FOUND", `No run with id ${runId}.`, { runId });
          throw new ApiError(409, "INVALID_OPERATION", `Run ${runId} is already ${run.status}.`, {
            reasons: [`The run is ${run.status}; only a running or continuing run can be cancelled.`],
          });
        }
        const runIds = rows.map((r) => r.run_id as string);
        log("info", "run cancelled", { runIds });
        return json(200, { cancelled: runIds.length, runIds });
      }
      if (action === "test_connection") {
        return json(200, await testConnection(deps, parseWith(testConnectionSchema, raw)));
      }
      const body = parseWith(commandSchema, raw);
      if (body.action === "repair" || body.apply !== undefined) return await repair(body);
      const command = toCommand(body, false);
      if (command.kind === "cancel") {
        if (command.tenantId) {
          throw new ApiError(
            400,
            "INVALID_REQUEST",
            "The command center's forceCancel cancels every run of every tenant; to cancel one tenant, call each source's function with its tenantId.",
            {
              fields: [{ field: "tenantId", message: "Not allowed with forceCancel here." }],
            },
          );
        }
        const runIds = await cancelRuns(sql, { reason: "Global forceCancel from sync-command-center." });
        log("info", "global forceCancel", { runIds });
        return json(200, { cancelled: runIds.length, runIds });
      }
      if (command.kind === "continue") {
        return startInBackground(deps, req, await resumeFor(sql, command.runId, SOURCE), drive, {
          resumed: true,
        });
      }
      if (command.tenantId) await requireActiveTenant(sql, command.tenantId);
      return claimAndStart(deps, req, {
        tenantId: command.tenantId,
        source: SOURCE,
        trigger: command.trigger,
      }, drive);
    },
  }, { adminKeys: () => config.adminKeys, jwt: () => config.jwt, log });
}
