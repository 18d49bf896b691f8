// The isolate's own resource meter, for hops that budget the platform's limits (runs/budget.ts).
// Part of the platform adapter: the one place besides the entry points that touches `Deno.*`.
//
// CPU: the calling thread's utime + stime from /proc/thread-self/stat, the thread that runs this
// isolate's JavaScript (what the edge runtime's per-thread CPU timer counts, and what the local
// runtime's supervisor reads from outside). Where /proc cannot be read (a sandbox), the wall time
// since the isolate started stands in: a thread never uses more CPU than wall time, so the bound
// is safe, only pessimistic.
import type { IsolateMeter } from "../types.ts";

const TICK_MS = 10;

function readThreadCpuMs(): number | null {
  try {
    const stat = Deno.readTextFileSync("/proc/thread-self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ms = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
    return Number.isFinite(ms) ? ms : null;
  } catch {
    return null;
  }
}

export function denoIsolateMeter(): IsolateMeter {
  const startedAt = Date.now();
  const baseline = readThreadCpuMs();
  const listeners = new Set<(reason: string) => void>();
  // The runtime's beforeunload is a CustomEvent with detail.reason; Deno's own beforeunload at the
  // end of the event loop has no detail and is not a shutdown we must react to.
  globalThis.addEventListener("beforeunload", (event) => {
    const reason = (event as CustomEvent<{ reason?: string } | null>).detail?.reason;
    if (typeof reason === "string") { for (const fn of listeners) fn(reason); }
  });
  return {
    startedAt,
    cpuMs: baseline === null
      ? () => Date.now() - startedAt
      : () => (readThreadCpuMs() ?? baseline) - baseline,
    onBeforeUnload(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}
