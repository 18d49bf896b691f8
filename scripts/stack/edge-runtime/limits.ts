// The local edge runtime's resource limits, from the environment. Defaults are the hosted
// platform's (supabase/edge-runtime .cargo/config.toml and the free plan's wall clock):
// CPU soft 1000 ms (retire) / hard 2000 ms (kill), wall clock 150 s (retire at half), 256 MB.
export interface Limits {
  /**
   * False with EDGE_RUNTIME_LIMITS=off: workers are still one per function and reused, never retired
   * or killed by the supervisor; their heap is still capped at `memoryMb`, as every isolate's is there.
   */
  enforced: boolean;
  cpuSoftMs: number;
  cpuHardMs: number;
  /** 0 disables the wall clock, as worker_timeout_ms = 0 does in the runtime. */
  wallClockMs: number;
  memoryMb: number;
  /** A request with no response after this long gets 504 (the platform's request idle timeout). */
  requestIdleTimeoutMs: number;
  /** `beforeunload` is dispatched at this percentage of the hard CPU, wall-clock and memory limits. */
  beforeUnloadPct: number;
  /** How often the supervisor reads each worker's CPU and RSS from /proc. */
  pollMs: number;
}

export class LimitsError extends Error {}

function num(env: Record<string, string | undefined>, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new LimitsError(`${name} must be an integer >= ${min} (got ${JSON.stringify(raw)}).`);
  }
  return n;
}

export function limitsFromEnv(env: Record<string, string | undefined>): Limits {
  const flag = (env.EDGE_RUNTIME_LIMITS ?? "on").toLowerCase();
  if (!["on", "off"].includes(flag)) {
    throw new LimitsError(`EDGE_RUNTIME_LIMITS must be on or off (got ${JSON.stringify(flag)}).`);
  }
  const limits: Limits = {
    enforced: flag === "on",
    cpuSoftMs: num(env, "EDGE_RUNTIME_CPU_SOFT_MS", 1000, 1),
    cpuHardMs: num(env, "EDGE_RUNTIME_CPU_HARD_MS", 2000, 1),
    wallClockMs: num(env, "EDGE_RUNTIME_WALL_CLOCK_MS", 150_000, 0),
    memoryMb: num(env, "EDGE_RUNTIME_MEMORY_MB", 256, 16),
    requestIdleTimeoutMs: num(env, "EDGE_RUNTIME_REQUEST_IDLE_TIMEOUT_MS", 150_000, 1),
    beforeUnloadPct: num(env, "EDGE_RUNTIME_BEFOREUNLOAD_PCT", 90, 1),
    pollMs: num(env, "EDGE_RUNTIME_POLL_MS", 20, 1),
  };
  if (limits.cpuSoftMs > limits.cpuHardMs) {
    throw new LimitsError("EDGE_RUNTIME_CPU_SOFT_MS must not exceed EDGE_RUNTIME_CPU_HARD_MS.");
  }
  if (limits.beforeUnloadPct > 100) {
    throw new LimitsError("EDGE_RUNTIME_BEFOREUNLOAD_PCT must be at most 100.");
  }
  return limits;
}
