// The shape every MotoPress sync shares: phases of pages, each page written in one fenced
// transaction that also advances the checkpoint, a continuation when the invocation's budget is
// spent, and deletion marking only after a complete, stable pass.
import type { Tx } from "../db.ts";
import type { Page } from "../motopress/client.ts";
import { RunLostError, withFencedTransaction } from "../runs/coordinator.ts";
import type { JobContext, JobResult, Progress } from "../runs/executor.ts";

export type Counters = Record<string, number>;
export type Entity = "accommodation_type" | "accommodation" | "booking";

export interface Phase<T> {
  stage: string;
  entity: Entity;
  pages(startPage: number): AsyncIterable<Page<T>>;
  write(tx: Tx, page: Page<T>): Promise<Counters>;
}

export interface Checkpoint {
  phase: number;
  /** The next page to fetch in that phase. */
  page: number;
  /** The list's total when last read: a change means the list moved under the scan. */
  total: number | null;
  /** Set when the list moved during the pass: then nothing is marked removed. */
  unstable: boolean;
}

const START: Checkpoint = { phase: 0, page: 1, total: null, unstable: false };

export function addCounters(into: Counters, more: Counters): Counters {
  for (const [k, v] of Object.entries(more)) into[k] = (into[k] ?? 0) + v;
  return into;
}

export async function runPhases(
  ctx: JobContext,
  // deno-lint-ignore no-explicit-any
  phases: Phase<any>[],
): Promise<JobResult> {
  let cp: Checkpoint = { ...START, ...(ctx.run.checkpoint as Partial<Checkpoint> | null ?? {}) };
  const counters: Counters = { ...(ctx.run.stats?.counters as Counters | undefined ?? {}) };
  const stats = (progress: Progress) => ({ counters, progress });

  for (; cp.phase < phases.length; cp = { ...cp, phase: cp.phase + 1, page: 1, total: null }) {
    const phase = phases[cp.phase];
    const step = `Step ${cp.phase + 1}/${phases.length}`;
    for await (const page of phase.pages(cp.page)) {
      if (ctx.signal.aborted) throw new RunLostError(ctx.lease.runId, "cancelled");
      const unstable = cp.unstable || page.unstable || (cp.total !== null && page.total !== cp.total);
      const next: Checkpoint = { phase: cp.phase, page: page.page + 1, total: page.total, unstable };
      const progress: Progress = {
        stage: phase.stage,
        current: page.page,
        total: page.totalPages,
        message: `${step}: ${phase.stage} page ${page.page} of ${page.totalPages}`,
      };
      // The counters are updated only once the page committed; a rolled-back page counts nothing.
      const pageCounters = { pages: 1, items: page.items.length, itemErrors: page.itemErrors.length };
      await withFencedTransaction(ctx.sql, ctx.lease, async (tx) => {
        addCounters(pageCounters, await phase.write(tx, page));
      }, { checkpoint: next, stats: stats(progress) });
      addCounters(counters, prefix(phase.entity, pageCounters));
      ctx.reportStats(stats(progress));
      cp = next;
      const more = page.page < page.totalPages || cp.phase < phases.length - 1;
      if (more && ctx.budgetSpent()) {
        return { status: "continue", checkpoint: nextInvocation(cp, page.page >= page.totalPages), stats: stats(progress) };
      }
    }
  }

  // A complete pass: whatever it did not see is gone upstream, unless the list moved under it.
  const removed: Counters = {};
  if (!cp.unstable) {
    await withFencedTransaction(ctx.sql, ctx.lease, async (tx) => {
      for (const entity of new Set(phases.map((p) => p.entity))) {
        const [row] = await tx`select sync.mark_removed_upstream(${ctx.run.tenantId}, ${ctx.run.id}, ${entity}) as n`;
        removed[`${entity}.removedUpstream`] = row.n;
      }
    });
  }
  addCounters(counters, removed);
  const done: Progress = { stage: "done", current: 1, total: 1, message: "Sync complete" };
  return {
    status: "completed",
    stats: { ...stats(done), deletionsChecked: !cp.unstable, ...(cp.unstable ? { deletionsSkipped: "the upstream list changed during the pass" } : {}) },
  };
}

/** Where a continuation starts: the next page, or the next phase when this one is finished. */
function nextInvocation(cp: Checkpoint, phaseDone: boolean): Checkpoint {
  return phaseDone ? { ...cp, phase: cp.phase + 1, page: 1, total: null } : cp;
}

function prefix(entity: string, c: Counters): Counters {
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [`${entity}.${k}`, v]));
}
