// A worker's CPU time and memory as Linux reports them in /proc.
//
// CPU is the worker's main thread only (/proc/<pid>/task/<pid>/stat, utime + stime): that is the
// thread that runs the isolate's JavaScript, as the edge runtime's per-thread CPU timer measures
// it; V8's background GC/compiler threads and Deno's I/O threads are not counted. Resolution is
// one clock tick (10 ms on Linux).
const TICK_MS = 10; // USER_HZ is 100 on every Linux ABI Deno supports

export function threadCpuMs(pid: number): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return null; // the process is gone
  }
}

/** Resident set size of the whole worker process, in MB. */
export function rssMb(pid: number): number | null {
  try {
    const statm = Deno.readTextFileSync(`/proc/${pid}/statm`).split(" ");
    return (Number(statm[1]) * 4096) / (1024 * 1024);
  } catch {
    return null;
  }
}
