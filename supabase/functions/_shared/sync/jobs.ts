// The jobs behind the two source functions: a MotoPress client for the tenant, and the phases.
import { createMotoPressClient } from "../motopress/client.ts";
import { OutboundPolicy } from "../net/outbound.ts";
import type { Job } from "../runs/executor.ts";
import type { FunctionDeps, JobFor } from "../functions/source-function.ts";
import { requireCredentials } from "../tenants.ts";
import { runPhases } from "./paged.ts";
import { writeBookingsPage, writeTypesPage, writeUnitsPage } from "./writers.ts";

/** `signal`: the invocation's deadline and the run's loss; requests and retry waits never outlive it. */
export async function clientFor(deps: Pick<FunctionDeps, "sql" | "config" | "resolveHost">, tenantId: string, signal?: AbortSignal) {
  const creds = await requireCredentials(deps.sql, tenantId);
  const policy = new OutboundPolicy(deps.config.allowPrivateHosts, deps.resolveHost);
  return createMotoPressClient({
    guard: (url) => policy.check(url),
    maxBodyBytes: deps.config.motopress.maxBodyBytes,
    siteUrl: creds.siteUrl,
    consumerKey: creds.consumerKey,
    consumerSecret: creds.consumerSecret,
    timeoutMs: deps.config.motopress.timeoutMs,
    concurrency: deps.config.motopress.concurrency,
    maxRetries: deps.config.motopress.maxRetries,
    signal,
  });
}

// The client is made inside the job, so that a bad site URL or missing credentials fail the run
// with a clear error instead of leaving it to go stale.
export const accommodationsJob: JobFor = (deps, run): Job => async (ctx) => {
  const client = await clientFor(deps, run.tenantId!, ctx.hopSignal);
  const tenantId = run.tenantId!;
  return await runPhases(ctx, [
    {
      stage: "accommodation types",
      entity: "accommodation_type",
      pages: (startPage, knownTotal) => client.accommodationTypes({ startPage, knownTotal }),
      fetchOne: (id) => client.accommodationType(id),
      write: (tx, page) => writeTypesPage(tx, tenantId, run.id, page),
    },
    {
      stage: "accommodations",
      entity: "accommodation",
      pages: (startPage, knownTotal) => client.accommodations({ startPage, knownTotal }),
      fetchOne: (id) => client.accommodation(id),
      write: (tx, page) => writeUnitsPage(tx, tenantId, run.id, page),
    },
  ]);
};

export const bookingsJob: JobFor = (deps, run): Job => async (ctx) => {
  const client = await clientFor(deps, run.tenantId!, ctx.hopSignal);
  const tenantId = run.tenantId!;
  return await runPhases(ctx, [{
    stage: "bookings",
    entity: "booking",
    pages: (startPage, knownTotal) => client.bookings({ startPage, knownTotal }),
    fetchOne: (id) => client.booking(id),
    write: (tx, page) => writeBookingsPage(tx, tenantId, run.id, page),
  }]);
};
