// The shape every MotoPress sync shares: phases of pages, each page written in one fenced
// transaction that also advances the checkpoint; a continuation when the invocation's budget is
// spent (its deadline, the CPU limit ahead, or beforeunload); and, after a complete pass, removals
// that are each confirmed by id (MotoPress leaves no tombstones, and a list can shift under a scan
// without its total changing), checked in steps that survive continuations and kills; then the
// placeholders the pass left (units and types no list showed) are asked for by id, in steps too.
import type { Queryable, Tx } from "../db.ts";
import type { Page, ScanState } from "../motopress/client.ts";
import { MotoPressError } from "../motopress/errors.ts";
import { type FenceUpdate, held, RunLostError, withFencedTransaction } from "../runs/coordinator.ts";
import { withDbRetry } from "../runs/db-faults.ts";
import type { JobContext, JobResult } from "../runs/executor.ts";
import { type Progress, progressFrom, STARTING } from "../runs/progress.ts";
import { HopDeadlineError } from "../runs/budget.ts";
import { redactDeep } from "../redact.ts";
import type { Lease } from "../runs/types.ts";

export type Counters = Record<string, number>;
export type Entity = "accommodation_type" | "accommodation" | "booking";

export interface Phase<T> {
  stage: string;
  entity: Entity;
  /**
   * `knownTotal`: the list's total when the previous invocation stopped (to rewind on deletions);
   * `scan`: where the scan stood then (to tell a list that never ends, across invocations).
   */
  pages(startPage: number, knownTotal: number | null, scan: ScanState | null): AsyncIterable<Page<T>>;
  /** One item by id; null when it is gone upstream (404, trash). */
  fetchOne(id: number): Promise<T | null>;
  /**
   * With `commit` (a `selfCommitting` phase's page), `sql` is the pool, and the writer commits the
   * page itself (see `PageCommit`); without, `sql` is the caller's transaction, fenced already.
   */
  write(sql: Queryable, page: Page<T>, commit?: PageCommit): Promise<Counters>;
  /**
   * The writer commits its pages itself, in statements that are each a transaction and each carry
   * the fence, and it counts the page's items. Otherwise the page is a transaction of fence, write
   * and stats: three statements and BEGIN/COMMIT.
   */
  selfCommitting?: boolean;
}

/**
 * What a self-committing writer records besides its rows: every statement that writes passes
 * `lease` to `sync.fence_run` and what it answered to `held`; the statement that ends the page
 * records `checkpoint` and `stats`. A statement before that one writes nothing the page's retry
 * would not write again (a heartbeat, seen ids).
 */
export interface PageCommit {
  lease: Lease;
  checkpoint: Checkpoint;
  /** Throws `RunLostError` unless `owned`: nothing the statement did may be trusted then. */
  held(owned: boolean): Promise<void>;
  /** The run's stats once this page is counted, given the page's counts known so far (unprefixed). */
  stats(counts: Counters): { counters: Counters; progress: Progress };
}

/** A unit or type as MotoPress answers it by id, whatever its status. */
export interface PlaceholderAnswer {
  name: string;
  /** The post status (trash and draft included); null when not sent. */
  status: string | null;
  /** A unit's type. */
  typeId?: number | null;
}

/** Where the placeholders of one entity learn their names: `null` for a 404. */
export interface PlaceholderSource {
  entity: "accommodation" | "accommodation_type";
  fetchAny(id: number): Promise<PlaceholderAnswer | null>;
}

export interface Checkpoint {
  phase: number;
  /** The next page to fetch in that phase. */
  page: number;
  /** The list's total when last read. */
  total: number | null;
  /** The list moved during the pass (reported; removals are confirmed by id either way). */
  unstable: boolean;
  /** The phase's scan after its last committed page (the client's `Page.scan`). */
  scan?: ScanState;
  /** Entities whose removals are already marked (their seen ids are then gone). */
  removalsDone: Entity[];
  /** The removal check in progress: its entity and the last candidate id checked. */
  removal?: { entity: Entity; after: string | null };
  /** Entities whose placeholders were all asked for in this run. */
  placeholdersDone?: Entity[];
  /** The placeholder step in progress: its entity and the last id asked for. */
  placeholder?: { entity: Entity; after: number };
}

const START: Checkpoint = { phase: 0, page: 1, total: null, unstable: false, removalsDone: [] };

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

/**
 * A fenced transaction retried whole on a transient database fault (a dropped connection, a
 * restart, a lock or idle timeout): PostgreSQL rolled it back, and its first statement, the fence,
 * re-checks that the run is still ours. So `fn` must keep its results in its return value.
 */
function fencedWithRetry<T>(
  ctx: JobContext,
  counters: Counters,
  fn: (tx: Tx) => Promise<T>,
  update: FenceUpdate,
  where: string,
): Promise<T> {
  return withDbRetry(
    () => withFencedTransaction(ctx.sql, ctx.lease, fn, update),
    pageRetry(ctx, counters, where),
  );
}

/**
 * A page's retries: bounded by the invocation's deadline too, where the fault is thrown as it is
 * and the executor hands the run over from its last checkpoint instead of failing it. A page whose
 * statement the server ends at its statement timeout twice fails the run (STATEMENT_TIMEOUT,
 * naming `where`): a slow page is retried once, never for ever.
 */
function pageRetry(ctx: JobContext, counters: Counters, where: string) {
  return {
    where,
    signal: ctx.signal,
    deadline: ctx.deadline,
    attemptTimeoutMs: PAGE_ATTEMPT_TIMEOUT_MS,
    onRetry: (attempt: number, err: unknown, delayMs: number) => {
      counters["db.retries"] = (counters["db.retries"] ?? 0) + 1;
      ctx.log("warn", "database fault: the page was rolled back; retrying", {
        attempt,
        delayMs,
        error: String((err as Error)?.message ?? err),
      });
    },
  };
}

/** A page's transaction is a few statements: one that has not settled in this long is lost. */
const PAGE_ATTEMPT_TIMEOUT_MS = 30_000;

const onePage = <T>(item: T): Page<T> => ({
  page: 0,
  totalPages: 0,
  total: 0,
  items: [item],
  itemErrors: [],
  unstable: false,
});

export async function runPhases(
  ctx: JobContext,
  // deno-lint-ignore no-explicit-any
  phases: Phase<any>[],
  placeholders: PlaceholderSource[] = [],
): Promise<JobResult> {
  let cp: Checkpoint = { ...START, ...(ctx.run.checkpoint as Partial<Checkpoint> | null ?? {}) };
  const counters: Counters = { ...(ctx.run.stats?.counters as Counters | undefined ?? {}) };
  let progress: Progress = STARTING;
  const stats = (p: Progress = progress) => ({ counters, progress: p });
  try {
    return await runPasses(ctx, phases, placeholders, {
      get cp() {
        return cp;
      },
      set cp(v) {
        cp = v;
      },
      counters,
      setProgress: (p) => (progress = p),
      stats,
    });
  } catch (err) {
    // The invocation's deadline cut an upstream request (or its retries) short: nothing of the page
    // was written; the next invocation starts at the same checkpoint.
    if (err instanceof HopDeadlineError || (ctx.hopSignal.aborted && !ctx.signal.aborted)) {
      const phase = phases[Math.min(cp.phase, phases.length - 1)];
      const where = cp.placeholder
        ? `naming placeholders (${cp.placeholder.entity})`
        : cp.removal
        ? `checking what is gone (${cp.removal.entity})`
        : `${phase.stage} page ${cp.page}`;
      return {
        status: "continue",
        checkpoint: cp,
        stats: stats(),
        interruption: `MotoPress had not answered ${where} when the invocation's deadline came`,
      };
    }
    throw err;
  }
}

interface PassState {
  cp: Checkpoint;
  counters: Counters;
  setProgress(p: Progress): void;
  stats(p?: Progress): { counters: Counters; progress: Progress };
}

async function runPasses(
  ctx: JobContext,
  // deno-lint-ignore no-explicit-any
  phases: Phase<any>[],
  placeholders: PlaceholderSource[],
  state: PassState,
): Promise<JobResult> {
  const { counters } = state;
  const lost = () => new RunLostError(ctx.lease.runId, "cancelled");

  while (state.cp.phase < phases.length) {
    const phaseIndex = state.cp.phase;
    const phase = phases[phaseIndex];
    for await (const page of phase.pages(state.cp.page, state.cp.total, state.cp.scan ?? null)) {
      if (ctx.signal.aborted) throw lost();
      const cp = state.cp;
      const unstable = cp.unstable || page.unstable || (cp.total !== null && page.total !== cp.total);
      // The last page's checkpoint is the next phase's start: a run resumed after a kill there
      // must not read (and count) a page past the end.
      const last = page.page >= page.totalPages;
      const { scan: _phaseScan, ...rest } = cp;
      const next: Checkpoint = last ? { ...rest, phase: cp.phase + 1, page: 1, total: null, unstable } : {
        ...rest,
        page: page.page + 1,
        total: page.total,
        unstable,
        ...(page.scan ? { scan: page.scan } : {}),
      };
      const progress = progressFrom({
        stage: phase.stage,
        activity: "pages",
        step: state.cp.phase + 1,
        steps: phases.length,
        current: page.page,
        total: page.totalPages,
      });
      // Counted once the page committed: a rolled-back page counts nothing.
      // The counters commit with the page they count, after its writes (the write's counts are
      // known only then), so a run resumed after a kill has exactly what its pages wrote.
      const stats = (counts: Counters) =>
        redactDeep({
          counters: addCounters({ ...counters }, prefix(phase.entity, { pages: 1, ...counts })),
          progress,
        });
      const commit: PageCommit = {
        lease: ctx.lease,
        checkpoint: next,
        held: (owned) => held(ctx.sql, ctx.lease, owned),
        stats,
      };
      const pageCounters = phase.selfCommitting
        ? await withDbRetry(
          async () => addCounters({ pages: 1 }, await phase.write(ctx.sql, page, commit)),
          pageRetry(ctx, counters, `${phase.stage} page ${page.page}`),
        )
        : await fencedWithRetry(
          ctx,
          counters,
          async (tx) => {
            const written = addCounters(
              { items: page.items.length, itemErrors: page.itemErrors.length },
              await phase.write(tx, page),
            );
            await tx`update public.sync_runs set stats = ${
              tx.json(stats(written) as never)
            } where id = ${ctx.lease.runId}`;
            return addCounters({ pages: 1 }, written);
          },
          { checkpoint: next },
          `${phase.stage} page ${page.page}`,
        );
      const insertedKey = `${phase.entity}.inserted`;
      const insertedBefore = counters[insertedKey] ?? 0;
      addCounters(counters, prefix(phase.entity, pageCounters));
      state.setProgress(progress);
      ctx.reportStats(state.stats());
      ctx.stepDone();
      await analyzeIfGrown(ctx, phase.entity, insertedBefore, counters[insertedKey] ?? 0);
      state.cp = next;
      if (last) break;
      if (ctx.budgetSpent()) return { status: "continue", checkpoint: state.cp, stats: state.stats() };
    }
    // A list always ends with its last page; a phase whose pages end early is over all the same.
    if (state.cp.phase === phaseIndex) {
      const { scan: _phaseScan, ...rest } = state.cp;
      state.cp = { ...rest, phase: phaseIndex + 1, page: 1, total: null };
    }
    if (state.cp.phase < phases.length && ctx.budgetSpent()) {
      return { status: "continue", checkpoint: state.cp, stats: state.stats() };
    }
  }

  for (const phase of phases) {
    if (state.cp.removalsDone.includes(phase.entity)) continue;
    const result = await checkRemovals(ctx, phase, state);
    if (result) return result;
  }
  for (const source of placeholders) {
    if (state.cp.placeholdersDone?.includes(source.entity)) continue;
    const result = await namePlaceholders(ctx, source, state);
    if (result) return result;
  }

  const done = progressFrom({
    stage: "done",
    activity: "done",
    step: null,
    steps: null,
    current: 1,
    total: 1,
  });
  return { status: "completed", stats: { ...state.stats(done), listMovedDuringPass: state.cp.unstable } };
}

/** Candidates read per query: the check goes on through any number of them, batch after batch. */
export const REMOVAL_BATCH = 50;

/**
 * After a complete pass: each row the pass did not see is fetched by id and marked removed on a 404,
 * or written (it is still there: the list shifted under the scan). Each verdict commits with the
 * position reached and the counters, so a continuation (or a resume after a kill) goes on after
 * the last id checked and never checks a confirmed id again.
 */
async function checkRemovals(
  ctx: JobContext,
  // deno-lint-ignore no-explicit-any
  phase: Phase<any>,
  state: PassState,
): Promise<JobResult | null> {
  const { counters } = state;
  const lost = () => new RunLostError(ctx.lease.runId, "cancelled");
  let after = state.cp.removal?.entity === phase.entity ? state.cp.removal.after : null;
  const progress = (): Progress =>
    progressFrom({
      stage: phase.stage,
      activity: "removals",
      step: null,
      steps: null,
      current: (counters[`${phase.entity}.removedUpstream`] ?? 0) +
        (counters[`${phase.entity}.verifiedPresent`] ?? 0),
      total: null,
    });
  // Each verdict's transaction: the fence (with the new position), the write, then the counters.
  const commit = async (write: (tx: Tx) => Promise<Counters>, position: string) => {
    const checkpoint: Checkpoint = { ...state.cp, removal: { entity: phase.entity, after: position } };
    const add = await fencedWithRetry(
      ctx,
      counters,
      async (tx) => {
        const add = await write(tx);
        const next = addCounters({ ...counters }, prefix(phase.entity, add));
        await tx`update public.sync_runs set stats = ${
          tx.json(redactDeep({ counters: next, progress: progress() }) as never)
        }
               where id = ${ctx.lease.runId}`;
        return add;
      },
      { checkpoint },
      `checking what is gone (${phase.entity})`,
    );
    addCounters(counters, prefix(phase.entity, add));
    state.cp = checkpoint;
    state.setProgress(progress());
    ctx.reportStats(state.stats());
    ctx.stepDone();
  };

  for (;;) {
    const batch = await withDbRetry(
      () =>
        ctx.sql`
      select external_id from sync.removal_candidates(${ctx.run.tenantId}, ${ctx.run.id}, ${phase.entity}, ${after}, ${REMOVAL_BATCH})`,
      { signal: ctx.signal, deadline: ctx.deadline },
    );
    if (batch.length === 0) break;
    for (const { external_id: id } of batch) {
      if (ctx.signal.aborted) throw lost();
      if (ctx.budgetSpent()) {
        return {
          status: "continue",
          checkpoint: { ...state.cp, removal: { entity: phase.entity, after } },
          stats: state.stats(progress()),
        };
      }
      after = id as string;
      const numeric = Number(id);
      if (!Number.isInteger(numeric) || numeric <= 0) continue; // not a MotoPress id: never ours to remove
      const item = await phase.fetchOne(numeric);
      if (item === null) {
        await commit(async (tx) => {
          const [row] =
            await tx`select sync.mark_removed_upstream(${ctx.run.tenantId}, ${ctx.run.id}, ${phase.entity}, ${[
              id,
            ]}, false) as n`;
          return { removedUpstream: row.n };
        }, after);
      } else {
        // Still there: the scan missed it (the list shifted). Write it now, which also marks it seen.
        await commit(async (tx) => {
          await phase.write(tx, onePage(item));
          return { verifiedPresent: 1 };
        }, after);
      }
    }
  }
  // The check is complete: forget what the pass saw and record the entity as done.
  const { removal: _done, ...rest } = state.cp;
  const checkpoint: Checkpoint = { ...rest, removalsDone: [...state.cp.removalsDone, phase.entity] };
  addCounters(counters, prefix(phase.entity, { removedUpstream: 0, verifiedPresent: 0 }));
  await fencedWithRetry(
    ctx,
    counters,
    async (tx) => {
      await tx`select sync.mark_removed_upstream(${ctx.run.tenantId}, ${ctx.run.id}, ${phase.entity}, ${[]}::text[], true)`;
    },
    { checkpoint, stats: state.stats(progress()) },
    `checking what is gone (${phase.entity})`,
  );
  state.cp = checkpoint;
  return null;
}

/**
 * After the pass: each unit or type that exists only as a placeholder is asked for by id. A trashed
 * or draft one gets its real name and type and is marked removed; a 404 is marked removed under its
 * placeholder name; a live one gets its name and is an ordinary row from then on. Each verdict
 * commits with the position reached, as the removal check's do. An answer that is not a valid item
 * leaves the placeholder as it is (counted), never failing the sync.
 */
async function namePlaceholders(
  ctx: JobContext,
  source: PlaceholderSource,
  state: PassState,
): Promise<JobResult | null> {
  const { counters } = state;
  const { entity } = source;
  let after = state.cp.placeholder?.entity === entity ? state.cp.placeholder.after : 0;
  const stage = entity === "accommodation" ? "accommodations" : "accommodation types";
  const where = `naming placeholders (${entity})`;
  const progress = (): Progress =>
    progressFrom({
      stage,
      activity: "placeholders",
      step: null,
      steps: null,
      current: (counters[`${entity}.placeholdersNamed`] ?? 0) +
        (counters[`${entity}.placeholdersRemoved`] ?? 0),
      total: null,
    });
  // The verdict's counters commit with it, in its transaction.
  const counted = (verdict: Counters) => ({
    counters: addCounters({ ...counters }, prefix(entity, verdict)),
    progress: progress(),
  });
  for (;;) {
    const batch = await withDbRetry(
      () =>
        ctx
          .sql`select motopress_id from sync.placeholder_candidates(${ctx.run.tenantId}, ${entity}, ${after}, ${REMOVAL_BATCH})`,
      { signal: ctx.signal, deadline: ctx.deadline },
    );
    if (batch.length === 0) break;
    for (const { motopress_id: id } of batch) {
      if (ctx.signal.aborted) throw new RunLostError(ctx.lease.runId, "cancelled");
      after = id as number;
      let verdict: Counters;
      let answer: PlaceholderAnswer | null | undefined;
      try {
        answer = await source.fetchAny(after);
      } catch (err) {
        if (!(err instanceof MotoPressError) || err.code !== "MOTOPRESS_BAD_RESPONSE") throw err;
        ctx.log("warn", "a placeholder's answer by id was not a valid item; it stays a placeholder", {
          entity,
          id: after,
          error: err.message,
        });
        answer = undefined;
      }
      const checkpoint: Checkpoint = { ...state.cp, placeholder: { entity, after } };
      if (answer === undefined) {
        verdict = { placeholdersUnresolved: 1 };
        await fencedWithRetry(ctx, counters, async () => {}, { checkpoint, stats: counted(verdict) }, where);
      } else {
        const item = answer && { name: answer.name, status: answer.status, type_id: answer.typeId ?? null };
        verdict = await fencedWithRetry(
          ctx,
          counters,
          async (tx) => {
            const [row] =
              await tx`select sync.resolve_placeholder(${ctx.run.tenantId}, ${entity}, ${after}, ${
                item === null ? null : tx.json(item as never)
              }::jsonb) as outcome`;
            const v: Counters = row.outcome === "named"
              ? { placeholdersNamed: 1 }
              : row.outcome === "named_removed"
              ? { placeholdersNamed: 1, placeholdersRemoved: 1 }
              : { placeholdersRemoved: 1 };
            await tx`update public.sync_runs set stats = ${
              tx.json(redactDeep(counted(v)) as never)
            } where id = ${ctx.lease.runId}`;
            return v;
          },
          { checkpoint },
          where,
        );
      }
      addCounters(counters, prefix(entity, verdict));
      state.cp = checkpoint;
      state.setProgress(progress());
      ctx.reportStats(state.stats());
      ctx.stepDone();
      // After the verdict, as after a page: every hop commits at least one, so the step always moves on.
      if (ctx.budgetSpent()) return { status: "continue", checkpoint: state.cp, stats: state.stats() };
    }
  }
  const { placeholder: _done, ...rest } = state.cp;
  const checkpoint: Checkpoint = {
    ...rest,
    placeholdersDone: [...(state.cp.placeholdersDone ?? []), entity],
  };
  // With none to name (the usual case) nothing was written, and nothing needs to be.
  if (after > 0) {
    await fencedWithRetry(
      ctx,
      counters,
      async () => {},
      { checkpoint, stats: state.stats(progress()) },
      where,
    );
  }
  state.cp = checkpoint;
  return null;
}

function prefix(entity: string, c: Counters): Counters {
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [`${entity}.${k}`, v]));
}
