// How much of the platform's limits one invocation may spend before it checkpoints and hands over
// to a continuation. The runtime kills an isolate at its CPU hard limit (CPU accumulated over the
// isolate's whole life, every request it served included) and at its wall clock (counted from the
// isolate's start), so both are read from the isolate, not from the request.
//
// The CPU margin is measured, not guessed: the CPU of each step (a committed page, one removal
// check) is recorded, and the hop stops while two of the largest steps seen so far plus a reserve
// for handing over still fit under the limit. On a slower machine the steps cost more CPU, so the
// margin grows with them.
import type { IsolateMeter } from "../types.ts";

/** An isolate that reports nothing (tests, Node): no CPU, no beforeunload, its wall clock from now. */
export const unmeteredIsolate = (): IsolateMeter => ({
  cpuMs: () => 0,
  startedAt: Date.now(),
  onBeforeUnload: () => () => {},
});

export interface HopLimits {
  /** The platform's CPU hard limit per isolate (SYNC_CPU_LIMIT_MS). */
  cpuLimitMs: number;
  /** The platform's wall clock per isolate (SYNC_WALL_CLOCK_LIMIT_MS). */
  wallClockLimitMs: number;
  /** The invocation's own work time (SYNC_INVOCATION_BUDGET_MS). */
  invocationBudgetMs: number;
}

/** CPU kept for handing over: the checkpoint write and the continuation's HTTP call. */
export const CPU_RESERVE_MS = 150;
/** Wall clock kept for handing over before the isolate's wall-clock kill. */
export const WALL_RESERVE_MS = 5_000;

export class HopBudget {
  /** When this invocation should hand over at its next step boundary (epoch ms). */
  readonly deadline: number;
  /**
   * When upstream work is cut off, whatever it is doing: shortly before the isolate's wall-clock
   * kill. Later than `deadline`, so a hop always has the time to finish the step it started.
   */
  readonly hardDeadline: number;
  private lastCpu: number;
  private maxStepCpu = 0;
  private unloadReason: string | null = null;
  private readonly stopListening: () => void;
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly isolate: IsolateMeter,
    private readonly limits: HopLimits,
    private readonly now: () => number = Date.now,
    deadline?: number,
  ) {
    const start = now();
    this.hardDeadline = isolate.startedAt + limits.wallClockLimitMs - WALL_RESERVE_MS;
    this.deadline = Math.min(deadline ?? start + limits.invocationBudgetMs, this.hardDeadline);
    this.lastCpu = isolate.cpuMs();
    this.stopListening = isolate.onBeforeUnload((reason) => {
      this.unloadReason ??= reason;
    });
    // Upstream requests and their retries are bounded by the isolate's wall clock: this signal
    // aborts them before the runtime kills the worker.
    this.timer = setTimeout(
      () => this.controller.abort(new HopDeadlineError(this.hardDeadline)),
      Math.min(2 ** 31 - 1, Math.max(0, this.hardDeadline - start)),
    );
  }

  /** Aborted at the hard deadline: what upstream requests and retry waits listen to. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** A step (page) committed: its CPU feeds the margin. */
  step(): void {
    const cpu = this.isolate.cpuMs();
    this.maxStepCpu = Math.max(this.maxStepCpu, cpu - this.lastCpu);
    this.lastCpu = cpu;
  }

  /** CPU the next steps and the handover may need. */
  cpuMarginMs(): number {
    return CPU_RESERVE_MS + 2 * this.maxStepCpu;
  }

  /** Why the hop must end now, or null: the deadline, the CPU limit ahead, or beforeunload. */
  reason(): string | null {
    if (this.unloadReason) return `the runtime is stopping the worker (beforeunload: ${this.unloadReason})`;
    if (this.now() >= this.deadline) return "the invocation's deadline";
    const cpu = this.isolate.cpuMs();
    if (cpu + this.cpuMarginMs() >= this.limits.cpuLimitMs) {
      return `the CPU limit ahead (${cpu} ms used of ${this.limits.cpuLimitMs} ms, margin ${this.cpuMarginMs()} ms)`;
    }
    return null;
  }

  spent(): boolean {
    return this.reason() !== null;
  }

  /** The stats a hop reports about itself. */
  report() {
    return { cpuMs: this.isolate.cpuMs(), maxStepCpuMs: this.maxStepCpu, stoppedBy: this.reason() };
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.stopListening();
  }
}

/** Upstream work was cut off because the invocation's deadline passed: checkpoint and continue. */
export class HopDeadlineError extends Error {
  constructor(readonly deadline: number) {
    super(`The invocation's deadline (${new Date(deadline).toISOString()}) passed.`);
    this.name = "HopDeadlineError";
  }
}
