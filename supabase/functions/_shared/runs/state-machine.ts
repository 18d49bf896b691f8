// The run state machine as data. The migration holds the same table (public.sync_run_transitions)
// and a trigger enforces it; tests/integration/state-machine.test.ts checks the two are equal.

export const RUN_STATUSES = ["running", "continuing", "completed", "failed", "cancelled"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const ACTIVE_STATUSES: readonly RunStatus[] = ["running", "continuing"];
export const TERMINAL_STATUSES: readonly RunStatus[] = ["completed", "failed", "cancelled"];

export const TRANSITIONS: ReadonlyArray<readonly [from: RunStatus, to: RunStatus, why: string]> = [
  [
    "running",
    "continuing",
    "the hop's budget is spent (checkpoint and continue), or the reaper hands a dead worker's run over",
  ],
  ["running", "completed", "the sync finished"],
  [
    "running",
    "failed",
    "an error, workers kept dying on one page (POISON_PAGE), or takeovers that committed nothing ran out (NO_PROGRESS)",
  ],
  ["running", "cancelled", "forceCancel"],
  ["running", "running", "takeover of a killed worker's run: same status, new fencing token"],
  ["continuing", "running", "the continuation, or a resume after the lease expired"],
  ["continuing", "completed", "a fan-out parent waiting on its chains: the last one's end completes it"],
  [
    "continuing",
    "failed",
    "workers kept dying on one page (POISON_PAGE), or takeovers that committed nothing ran out (NO_PROGRESS); " +
    "a fan-out parent with a failed chain",
  ],
  ["continuing", "cancelled", "forceCancel"],
];

export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return TRANSITIONS.some(([f, t]) => f === from && t === to);
}

export function isActive(status: RunStatus): boolean {
  return ACTIVE_STATUSES.includes(status);
}
