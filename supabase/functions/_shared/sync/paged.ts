// The shape every MotoPress sync shares: phases of pages, each page written in one fenced
// transaction that also advances the checkpoint; a continuation when the invocation's budget is
// spent; and, after a complete pass, removals that are each confirmed by id (MotoPress leaves no
// tombstones, and a list can shift under a scan without its total changing).
import type { Tx } from "../db.ts";
import type { Page } from "../motopress/client.ts";
import { type FenceUpdate, RunLostError, withFencedTransaction } from "../runs/coordinator.ts";
import { withDbRetry } from "../runs/db-faults.ts";
import type { JobContext, JobResult, Progress } from "../runs/executor.ts";

export type Counters = Record<string, number>;
export type Entity = "accommodation_type" | "accommodation" | "booking";

export interface Phase<T> {
  stage: string;
  entity: Entity;
  /** `knownTotal`: the list's total when the previous invocation stopped (to rewind on deletions). */
  pages(startPage: number, knownTotal: number | null): AsyncIterable<Page<T>>;
  /** One item by id; null when it is gone upstream (404, trash). */
  fetchOne(id: number): Promise<T | null>;
  write(tx: Tx, page: Page<T>): Promise<Counters>;
}

export interface Checkpoint {
  phase: number;
  /** The next page to fetch in that phase. */
  page: number;
  /** The list's total when last read. */
  total: number | null;
  /** The list moved during the pass (reported; removals are confirmed by id either way). */
  unstable: boolean;
  /** Entities whose removals are already marked (their seen ids are then gone). */
  removalsDone: Entity[];
}

const START: Checkpoint = { phase: 0, page: 1, total: null, unstable: false, removalsDone: [] };
/** Removal candidates confirmed per entity and pass; the rest wait for the next pass. */
export const VERIFY_LIMIT = 200;

export function addCounters(into: Counters, more: Counters): Counters {
  for (const [k, v] of Object.entries(more)) into[k] = (into[k] ?? 0) + v;
  return into;
}

// A first import into a fresh database outgrows the plans PostgreSQL cached while the tables were
// empty (foreign-key checks above all): the cost of a page then grows with the table. ANALYZE at a
// few sizes gives the planner the real sizes and invalidates those plans.
const ANALYZE_AT = [1_000, 5_000, 25_000, 125_000];
const TABLES: Record<Entity, string> = {
  booking: "public.guest_reservations, public.reservation_accommodations",
  accommodation: "hotels.accommodation_units",
  accommodation_type: "hotels.accommodation_types",
};

async function analyzeIfGrown(ctx: JobContext, entity: Entity, before: number, after: number) {
  if (!ANALYZE_AT.some((n) => before < n && after >= n)) return;
  await ctx.sql.unsafe(`analyze ${TABLES[entity]}`).catch((err) =>
    ctx.log("warn", "analyze failed; the import goes on", { error: String(err) })
  );
}

const onePage = <T>(item: T): Page<T> => ({ page: 0, totalPages: 0, total: 0, items: [item], itemErrors: [], unstable: false });

export async function runPhases(
  ctx: JobContext,
  // deno-lint-ignore no-explicit-any
  phases: Phase<any>[],
): Promise<JobResult> {
  let cp: Checkpoint = { ...START, ...(ctx.run.checkpoint as Partial<Checkpoint> | null ?? {}) };
  const counters: Counters = { ...(ctx.run.stats?.counters as Counters | undefined ?? {}) };
  const stats = (progress: Progress) => ({ counters, progress });
  const lost = () => new RunLostError(ctx.lease.runId, "cancelled");
  // A page's transaction is retried whole on a transient database fault (rolled back, then fenced
  // again); the callback must therefore keep its results in its own return value.
  const fenced = <T>(fn: (tx: Tx) => Promise<T>, update?: FenceUpdate): Promise<T> =>
    withDbRetry(() => withFencedTransaction(ctx.sql, ctx.lease, fn, update), {
      signal: ctx.signal,
      onRetry: (attempt, err, delayMs) => {
        counters["db.retries"] = (counters["db.retries"] ?? 0) + 1;
        ctx.log("warn", "database fault: page rolled back, retrying", { attempt, delayMs, error: String((err as Error)?.message ?? err) });
      },
    });

  for (; cp.phase < phases.length; cp = { ...cp, phase: cp.phase + 1, page: 1, total: null }) {
    const phase = phases[cp.phase];
    const step = `Step ${cp.phase + 1}/${phases.length}`;
    for await (const page of phase.pages(cp.page, cp.total)) {
      if (ctx.signal.aborted) throw lost();
      const unstable = cp.unstable || page.unstable || (cp.total !== null && page.total !== cp.total);
      const next: Checkpoint = { ...cp, page: page.page + 1, total: page.total, unstable };
      const progress: Progress = {
        stage: phase.stage,
        current: page.page,
        total: page.totalPages,
        message: `${step}: ${phase.stage} page ${page.page} of ${page.totalPages}`,
      };
      // Counted once the page committed: a rolled-back page counts nothing.
      const written = await fenced((tx) => phase.write(tx, page), { checkpoint: next, stats: stats(progress) });
      const pageCounters = addCounters({ pages: 1, items: page.items.length, itemErrors: page.itemErrors.length }, written);
      const insertedKey = `${phase.entity}.inserted`;
      const insertedBefore = counters[insertedKey] ?? 0;
      addCounters(counters, prefix(phase.entity, pageCounters));
      ctx.reportStats(stats(progress));
      await analyzeIfGrown(ctx, phase.entity, insertedBefore, counters[insertedKey] ?? 0);
      cp = next;
      const more = page.page < page.totalPages || cp.phase < phases.length - 1;
      if (more && ctx.budgetSpent()) {
        const handover = page.page >= page.totalPages ? { ...cp, phase: cp.phase + 1, page: 1, total: null } : cp;
        return { status: "continue", checkpoint: handover, stats: stats(progress) };
      }
    }
  }

  for (const phase of phases) {
    if (cp.removalsDone.includes(phase.entity)) continue;
    const progress: Progress = { stage: phase.stage, current: 0, total: null, message: `Checking what is gone: ${phase.stage}` };
    const candidates = await withDbRetry(() => ctx.sql`
      select external_id from sync.removal_candidates(${ctx.run.tenantId}, ${ctx.run.id}, ${phase.entity}, ${VERIFY_LIMIT})`, { signal: ctx.signal });
    const gone: string[] = [];
    const c: Counters = { removedUpstream: 0, verifiedPresent: 0 };
    for (const { external_id: id } of candidates) {
      if (ctx.signal.aborted) throw lost();
      if (ctx.budgetSpent()) return { status: "continue", checkpoint: cp, stats: stats(progress) };
      const numeric = Number(id);
      if (!Number.isInteger(numeric) || numeric <= 0) continue; // not a MotoPress id: never ours to remove
      const item = await phase.fetchOne(numeric);
      if (item === null) {
        gone.push(id);
        continue;
      }
      // Still there: the scan missed it (the list shifted). Write it now, which also marks it seen.
      await fenced((tx) => phase.write(tx, onePage(item)));
      c.verifiedPresent++;
    }
    cp = { ...cp, removalsDone: [...cp.removalsDone, phase.entity] };
    c.removedUpstream = await fenced(async (tx) => {
      const [row] = await tx`select sync.mark_removed_upstream(${ctx.run.tenantId}, ${ctx.run.id}, ${phase.entity}, ${gone}) as n`;
      return row.n as number;
    }, { checkpoint: cp, stats: stats(progress) });
    addCounters(counters, prefix(phase.entity, c));
  }

  const done: Progress = { stage: "done", current: 1, total: 1, message: "Sync complete" };
  return { status: "completed", stats: { ...stats(done), listMovedDuringPass: cp.unstable } };
}

function prefix(entity: string, c: Counters): Counters {
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [`${entity}.${k}`, v]));
}
