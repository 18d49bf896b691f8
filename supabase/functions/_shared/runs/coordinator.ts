// Run coordination over public.sync_runs. The guarantees live in SQL (see the sync_runs
// migration); this module names the operations and turns rows into typed values.
import type { Sql, Tx } from "../db.ts";
import { withoutControls } from "../motopress/control-chars.ts";
import { redact, redactDeep } from "../redact.ts";
import type { RunStatus } from "./state-machine.ts";
import type { Lease, Run, Source, Trigger } from "./types.ts";

/** The worker no longer owns its run (cancelled, reclaimed or finished): it must stop. */
export class RunLostError extends Error {
  constructor(readonly runId: string, readonly status: RunStatus | "missing") {
    super(`Run ${runId} is no longer owned by this worker (status: ${status}).`);
    this.name = "RunLostError";
  }
}

// deno-lint-ignore no-explicit-any
type Row = Record<string, any>;

const iso = (v: unknown): string | null => (v == null ? null : new Date(v as string).toISOString());

export function toRun(r: Row): Run {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    source: r.source,
    status: r.status,
    trigger: r.trigger,
    parentRunId: r.parent_run_id,
    continuedFromRunId: r.continued_from_run_id ?? null,
    fencingToken: Number(r.fencing_token),
    leaseSeconds: r.lease_seconds,
    invocations: r.invocations,
    attemptsWithoutProgress: r.attempts_without_progress ?? 0,
    lastInterruption: r.last_interruption ?? null,
    startedAt: iso(r.started_at)!,
    heartbeatAt: iso(r.heartbeat_at)!,
    completedAt: iso(r.completed_at),
    errorCode: r.error_code,
    errorMessage: r.error_message,
    stats: r.stats ?? {},
    checkpoint: r.checkpoint ?? null,
  };
}

export type ClaimResult =
  | { outcome: "claimed"; run: Run; reclaimedRunId: string | null }
  | { outcome: "resumed"; run: Run }
  | { outcome: "busy"; holder: Run };

/** A child's claim when its parent is no longer running (cancelled, say). */
export interface ParentInactive {
  outcome: "parent_inactive";
}

export interface ClaimInput {
  tenantId: string | null;
  source: Source;
  trigger: Trigger;
  leaseSeconds: number;
}

export function claimRun(sql: Sql, input: ClaimInput): Promise<ClaimResult>;
export function claimRun(
  sql: Sql,
  input: ClaimInput & { parentRunId: string },
): Promise<ClaimResult | ParentInactive>;
export async function claimRun(
  sql: Sql,
  input: ClaimInput & { parentRunId?: string },
): Promise<ClaimResult | ParentInactive> {
  const [row] = await sql`
    select c.outcome, c.reclaimed_run_id, (c.run).*
    from sync.claim_run(${input.tenantId}, ${input.source}, ${input.trigger},
                        ${input.parentRunId ?? null}, ${input.leaseSeconds}) c`;
  if (row.outcome === "parent_inactive") return { outcome: "parent_inactive" };
  const run = toRun(row);
  if (row.outcome === "busy") return { outcome: "busy", holder: run };
  if (row.outcome === "resumed") return { outcome: "resumed", run };
  return { outcome: "claimed", run, reclaimedRunId: row.reclaimed_run_id };
}

/** Takes over a `continuing` run, or a `running` one whose lease expired; null otherwise. */
export async function resumeRun(sql: Sql, runId: string): Promise<Run | null> {
  const [row] = await sql`select * from sync.resume_run(${runId})`;
  return row ? toRun(row) : null;
}

export async function getRun(sql: Sql | Tx, runId: string): Promise<Run | null> {
  const [row] = await sql`select * from public.sync_runs where id = ${runId}`;
  return row ? toRun(row) : null;
}

/** Extends the lease. False when the run was cancelled, reclaimed or finished: stop working. */
export async function heartbeat(sql: Sql, lease: Lease): Promise<boolean> {
  const rows = await sql`
    update public.sync_runs set heartbeat_at = now()
    where id = ${lease.runId} and fencing_token = ${lease.fencingToken} and status = 'running'
    returning id`;
  return rows.length === 1;
}

export interface FenceUpdate {
  checkpoint?: unknown;
  stats?: Record<string, unknown>;
}

/** Best effort: why this worker is about to stop (kept on the run for an operator). */
export async function noteInterruption(sql: Sql, lease: Lease, what: string): Promise<void> {
  await sql`
    update public.sync_runs set last_interruption = ${what}
    where id = ${lease.runId} and fencing_token = ${lease.fencingToken} and status = 'running'`;
}

/**
 * Runs `fn` in a transaction whose first statement locks the run row and proves this worker still
 * owns it (and, in the same statement, heartbeats and records the checkpoint and stats). A cancel
 * or reclaim either commits before it (and the transaction writes nothing) or waits for it.
 */
export async function withFencedTransaction<T>(
  sql: Sql,
  lease: Lease,
  fn: (tx: Tx) => Promise<T>,
  update: FenceUpdate = {},
): Promise<T> {
  return await sql.begin(async (tx) => {
    await fence(tx as Tx, lease, update);
    return await fn(tx as Tx);
  }) as T;
}

export async function fence(tx: Tx, lease: Lease, update: FenceUpdate = {}): Promise<void> {
  const [row] = await tx`select ${fenceCall(tx, lease, update)} as owned`;
  await held(tx, lease, row.owned);
}

/** `sync.fence_run(…)` for this lease: a boolean, false when the run is no longer ours. */
function fenceCall(tx: Tx, lease: Lease, update: FenceUpdate) {
  const checkpoint = update.checkpoint === undefined ? null : tx.json(update.checkpoint as never);
  const stats = update.stats === undefined ? null : tx.json(redactDeep(update.stats) as never);
  return tx`sync.fence_run(${lease.runId}, ${lease.fencingToken}, ${checkpoint}::jsonb, ${stats}::jsonb)`;
}

/** After a statement that called `sync.fence_run` for `lease`: throws unless it answered true. */
export async function held(sql: Sql | Tx, lease: Lease, owned: boolean): Promise<void> {
  if (owned !== true) throw new RunLostError(lease.runId, await statusOf(sql, lease.runId));
}

async function statusOf(sql: Sql | Tx, runId: string): Promise<RunStatus | "missing"> {
  const [row] = await sql`select status from public.sync_runs where id = ${runId}`;
  return row ? row.status : "missing";
}

export interface Finish {
  status: "completed" | "failed";
  stats?: Record<string, unknown>;
  errorCode?: string;
  errorMessage?: string;
}

/**
 * A message as a run record keeps it: redacted, and without the control characters a text column
 * refuses (an error may quote a site's answer).
 */
const recordable = (message: string) => withoutControls(redact(message));

/** Compare-and-set to a terminal status. A cancelled or reclaimed run is left as it is. */
export async function finishRun(sql: Sql, lease: Lease, finish: Finish): Promise<Run | null> {
  // Run records are read by the health report, SSE and dashboards: nothing secret goes in.
  const stats = finish.stats === undefined ? null : sql.json(redactDeep(finish.stats) as never);
  const failed = finish.status === "failed";
  const [row] = await sql`
    select * from sync.finish_run(${lease.runId}, ${lease.fencingToken}, ${finish.status}, ${stats}::jsonb,
                                  ${failed ? finish.errorCode ?? null : null},
                                  ${
    failed && finish.errorMessage !== undefined ? recordable(finish.errorMessage) : null
  })`;
  return row ? toRun(row) : null;
}

/** Checkpoint and hand over to a new invocation: `continuing` keeps the slot. */
export async function suspendRun(
  sql: Sql,
  lease: Lease,
  update: FenceUpdate & { interruption?: string },
): Promise<Run | null> {
  const checkpoint = update.checkpoint === undefined ? null : sql.json(update.checkpoint as never);
  const stats = update.stats === undefined ? null : sql.json(redactDeep(update.stats) as never);
  const [row] = await sql`
    select * from sync.suspend_run(${lease.runId}, ${lease.fencingToken}, ${checkpoint}::jsonb, ${stats}::jsonb,
                                   ${
    update.interruption === undefined ? null : recordable(update.interruption)
  })`;
  return row ? toRun(row) : null;
}

export interface CancelFilter {
  source?: Source | null;
  tenantId?: string | null;
  reason?: string;
}

export async function cancelRuns(sql: Sql, filter: CancelFilter): Promise<string[]> {
  const rows = await sql`
    select run_id from sync.cancel_runs(${filter.source ?? null}, ${filter.tenantId ?? null}, ${
    filter.reason ?? null
  })`;
  return rows.map((r) => r.run_id as string);
}

export interface ReapedRun {
  runId: string;
  tenantId: string | null;
  source: Source;
  lastHeartbeatAt: string;
}

export async function reapStaleRuns(sql: Sql, source: Source | null = null): Promise<ReapedRun[]> {
  const rows = await sql`select * from sync.reap_stale_runs(${source})`;
  return rows.map((r) => ({
    runId: r.run_id,
    tenantId: r.tenant_id,
    source: r.source,
    lastHeartbeatAt: iso(r.last_heartbeat_at)!,
  }));
}

/**
 * Keeps the lease alive while a worker waits on slow upstream pages. Stops, and calls `onLost`,
 * as soon as the run is no longer this worker's.
 */
export function keepAlive(sql: Sql, lease: Lease, intervalMs: number, onLost: () => void): () => void {
  let stopped = false;
  const timer = setInterval(async () => {
    if (stopped) return;
    const alive = await heartbeat(sql, lease).catch(() => true); // a DB blip is not a lost lease
    if (!alive && !stopped) {
      stopped = true;
      clearInterval(timer);
      onLost();
    }
  }, intervalMs);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
