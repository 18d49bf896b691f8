// The jobs behind the two source functions: a MotoPress client for the tenant, and the phases.
import { authNotice } from "../motopress/auth-notice.ts";
import {
  createMotoPressClient,
  type MotoPressClient,
  type MotoPressClientConfig,
  type Page,
} from "../motopress/client.ts";
import type { JsonItem } from "../motopress/json-items.ts";
import { OutboundPolicy } from "../net/outbound.ts";
import type { Job, JobContext, JobResult } from "../runs/executor.ts";
import type { Run } from "../runs/types.ts";
import { reconcileRoomStatus } from "../rooms/reconcile.ts";
import { type MotoPressCredentials, requireCredentials } from "../tenants.ts";
import type { FunctionDeps } from "../types.ts";
import { entriesOf, validatedEntry } from "./booking-entries.ts";
import { type PlaceholderSource, runPhases } from "./paged.ts";
import { bookingsWriter, writeTypesPage, writeUnitsPage } from "./writers.ts";

/** The job that syncs `run`. */
export type JobFor = (deps: FunctionDeps, run: Run) => Job;

/** `signal`: the invocation's deadline and the run's loss; requests and retry waits never outlive it. */
export async function clientFor(
  deps: Pick<FunctionDeps, "sql" | "config" | "resolveHost">,
  tenantId: string,
  signal?: AbortSignal,
) {
  const creds = await requireCredentials(deps.sql, tenantId);
  return clientForCredentials(deps, creds, { signal });
}

/**
 * The one way the functions make a MotoPress client: every request it sends (redirects included)
 * passes the outbound policy (SYNC_ALLOW_PRIVATE_HOSTS) and reads a capped body. `options` may
 * only tune it (a connection test's shorter timeout), never drop the guard.
 */
export function clientForCredentials(
  deps: Pick<FunctionDeps, "config" | "resolveHost">,
  creds: Pick<MotoPressCredentials, "siteUrl" | "consumerKey" | "consumerSecret">,
  options: Pick<MotoPressClientConfig, "signal" | "timeoutMs" | "maxRetries" | "concurrency" | "perPage"> =
    {},
) {
  const policy = new OutboundPolicy(deps.config.allowPrivateHosts, deps.resolveHost);
  return createMotoPressClient({
    timeoutMs: deps.config.motopress.timeoutMs,
    concurrency: deps.config.motopress.concurrency,
    maxRetries: deps.config.motopress.maxRetries,
    ...options,
    guard: (url) => policy.check(url),
    maxBodyBytes: deps.config.motopress.maxBodyBytes,
    siteUrl: creds.siteUrl,
    consumerKey: creds.consumerKey,
    consumerSecret: creds.consumerSecret,
  });
}

/**
 * Runs a job whose stats carry the query-string notice once the client fell back to it
 * (motopress/auth-notice.ts): a completed, continued or failed run records it, and the log says it once.
 */
async function withAuthNotice(
  ctx: JobContext,
  client: MotoPressClient,
  job: (ctx: JobContext) => Promise<JobResult>,
): Promise<JobResult> {
  let warned = false;
  // What the run records when it fails before a page reports: the stats it was claimed with.
  let last: Record<string, unknown> = ctx.run.stats ?? {};
  const note = (stats: Record<string, unknown>) => {
    const notice = authNotice(client.describe());
    if (!notice) return stats;
    if (!warned) {
      warned = true;
      ctx.log("warn", "the site ignores the Authorization header: keys sent in the query string", {
        warning: notice.warning,
      });
    }
    return { ...stats, auth: notice };
  };
  try {
    const result = await job({ ...ctx, reportStats: (stats) => ctx.reportStats(note(last = stats)) });
    return { ...result, stats: note(result.stats) } as JobResult;
  } catch (err) {
    const noted = note(last);
    if (noted !== last) ctx.reportStats(noted);
    throw err;
  }
}

/**
 * A tenant's sync starts by reconciling its room status (seed incident 3: validate and repair at
 * start-up). It writes only what differs; a failure is logged and the sync goes on.
 */
async function reconcileFirst(ctx: JobContext, tenantId: string) {
  if (ctx.run.checkpoint) return; // a continuation: the run's start already did it
  try {
    const report = await reconcileRoomStatus(ctx.sql, tenantId);
    if (report.changed) {
      ctx.log("info", "room status reconciled before the sync", { tenantId, changed: report.changed });
    }
  } catch (err) {
    ctx.log("warn", "room status reconciliation failed; the sync goes on", { tenantId, error: String(err) });
  }
}

/**
 * Placeholders are named after either source's pass: units first, since naming a unit can create
 * its type as a placeholder, which the types' step then names.
 */
const placeholdersOf = (client: Awaited<ReturnType<typeof clientFor>>): PlaceholderSource[] => [
  {
    entity: "accommodation",
    fetchAny: async (id) => {
      const unit = await client.accommodationAnyStatus(id);
      return unit && { name: unit.title, status: unit.status, typeId: unit.accommodationTypeId };
    },
  },
  {
    entity: "accommodation_type",
    fetchAny: async (id) => {
      const type = await client.accommodationTypeAnyStatus(id);
      return type && { name: type.title, status: type.status };
    },
  },
];

// The client is made inside the job, so that a bad site URL or missing credentials fail the run
// with a clear error instead of leaving it to go stale.
export const accommodationsJob: JobFor = (deps, run): Job => async (ctx) => {
  const client = await clientFor(deps, run.tenantId!, ctx.hopSignal);
  const tenantId = run.tenantId!;
  await reconcileFirst(ctx, tenantId);
  return await withAuthNotice(ctx, client, (ctx) =>
    runPhases(ctx, [
      {
        stage: "accommodation types",
        entity: "accommodation_type",
        pages: (startPage, knownTotal, scan) => client.accommodationTypes({ startPage, knownTotal, scan }),
        fetchOne: (id) => client.accommodationType(id),
        write: (tx, page) => writeTypesPage(tx, tenantId, run.id, page),
      },
      {
        stage: "accommodations",
        entity: "accommodation",
        pages: (startPage, knownTotal, scan) => client.accommodations({ startPage, knownTotal, scan }),
        fetchOne: (id) => client.accommodation(id),
        write: (tx, page) => writeUnitsPage(tx, tenantId, run.id, page),
      },
    ], placeholdersOf(client)));
};

export const bookingsJob: JobFor = (deps, run): Job => async (ctx) => {
  const client = await clientFor(deps, run.tenantId!, ctx.hopSignal);
  const tenantId = run.tenantId!;
  await reconcileFirst(ctx, tenantId);
  const write = bookingsWriter(tenantId, run.id);
  return await withAuthNotice(ctx, client, (ctx) =>
    runPhases(ctx, [{
      stage: "bookings",
      entity: "booking",
      pages: (startPage, knownTotal, scan) =>
        entryPages(client.bookingItems({ startPage, knownTotal, scan })),
      fetchOne: async (id) => {
        const booking = await client.booking(id);
        return booking && validatedEntry(booking);
      },
      write,
      selfCommitting: true,
    }], placeholdersOf(client)));
};

async function* entryPages(pages: AsyncIterable<Page<JsonItem>>) {
  for await (const page of pages) yield entriesOf(page);
}
