// The handler behind motopress-accommodations and motopress-bookings: start (202 or SSE),
// forceCancel, and continuation of a checkpointed run.
import type { Config } from "../config.ts";
import type { Sql } from "../db.ts";
import { z } from "zod";
import { readJson, searchParams } from "../http/body.ts";
import { json } from "../http/errors.ts";
import { createHandler, type Logger } from "../http/handler.ts";
import { sseResponse, wantsEventStream } from "../http/sse.ts";
import type { Invoker } from "../invoke.ts";
import type { Resolver } from "../net/outbound.ts";
import { cancelRuns, claimRun } from "../runs/coordinator.ts";
import { executeRun, type Job } from "../runs/executor.ts";
import type { Run, SyncSource } from "../runs/types.ts";
import type { IsolateMeter } from "../runs/budget.ts";
import { requireSyncableTenant, requireTenant } from "../tenants.ts";
import { resumeFor, runInProgress, runRequestSchema, toCommand } from "./run-api.ts";
import { runIdQuery, runResponse } from "./run-query.ts";
import { watchRun } from "./watch.ts";

export interface FunctionDeps {
  config: Config;
  sql: Sql;
  log: Logger;
  invoke: Invoker;
  /** DNS lookups for the outbound policy (net/outbound.ts); resolved by the platform adapter. */
  resolveHost: Resolver;
  /** The platform's EdgeRuntime.waitUntil: keeps the isolate alive for background work. */
  waitUntil: (promise: Promise<unknown>) => void;
  /** The isolate's CPU, age and beforeunload: what hops budget against. */
  isolate: IsolateMeter;
}

/** The job that syncs `run`. */
export type JobFor = (deps: FunctionDeps, run: Run) => Job;

export function sourceFunction(source: SyncSource, deps: FunctionDeps, jobFor: JobFor) {
  const { sql, config, log } = deps;

  const execute = (run: Run) =>
    executeRun({
      sql,
      config,
      log,
      isolate: deps.isolate,
      onSuspended: (r) => deps.invoke(source, { runId: r.id }),
    }, run, jobFor(deps, run));

  function startInBackground(req: Request, run: Run, status: number, extra: Record<string, unknown>): Response {
    deps.waitUntil(execute(run).catch((err) => log("error", "run crashed", { runId: run.id, error: String(err) })));
    if (wantsEventStream(req)) return sseResponse((sink) => watchRun(sql, run.id, sink));
    return json(status, { runId: run.id, status: "running", source, tenantId: run.tenantId, ...extra });
  }

  const runQuery = z.strictObject({ runId: runIdQuery });

  return createHandler({
    GET: async (req) => await runResponse(sql, req, searchParams(req, runQuery).runId),
    POST: async (req) => {
      const command = toCommand(await readJson(req, runRequestSchema), true);
      if (command.kind === "cancel") {
        if (command.tenantId) await requireTenant(sql, command.tenantId);
        const runIds = await cancelRuns(sql, { source, tenantId: command.tenantId, reason: `forceCancel on ${source}.` });
        log("info", "forceCancel", { source, tenantId: command.tenantId, runIds });
        return json(200, { cancelled: runIds.length, runIds });
      }
      if (command.kind === "continue") {
        return startInBackground(req, await resumeFor(sql, command.runId, source), 202, { resumed: true });
      }
      await requireSyncableTenant(sql, command.tenantId!);
      const claim = await claimRun(sql, {
        tenantId: command.tenantId,
        source,
        trigger: command.trigger,
        leaseSeconds: config.leaseSeconds,
      });
      if (claim.outcome === "busy") throw runInProgress(claim.holder);
      return startInBackground(req, claim.run, 202, claim.outcome === "resumed" ? { resumed: true } : {});
    },
  }, { adminKeys: () => config.adminKeys, jwt: () => config.jwt, log });
}
