import type { Source, Trigger } from "../types.ts";
import type { RunStatus } from "./state-machine.ts";

// The run core's callers name a run's source and trigger from here, beside the run itself.
export type { Source, SyncSource, Trigger } from "../types.ts";

export interface Run {
  id: string;
  tenantId: string | null;
  source: Source;
  status: RunStatus;
  trigger: Trigger;
  parentRunId: string | null;
  /** The failed run of the same slot this one continued from its last committed page. */
  continuedFromRunId: string | null;
  fencingToken: number;
  leaseSeconds: number;
  invocations: number;
  /** Takeovers in a row that committed no page; past the run's maximum it fails with NO_PROGRESS. */
  attemptsWithoutProgress: number;
  /** Why its last worker stopped, when known (beforeunload, a deadline, a dead worker). */
  lastInterruption: string | null;
  startedAt: string;
  heartbeatAt: string;
  completedAt: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  stats: Record<string, unknown>;
  checkpoint: unknown;
}

/** What a worker holds while it owns a run: every write it makes is fenced on both values. */
export interface Lease {
  runId: string;
  fencingToken: number;
}

export const leaseOf = (run: Run): Lease => ({ runId: run.id, fencingToken: run.fencingToken });
