// The local edge runtime's supervisor (runs under Deno): routes /functions/v1/<name> to a worker
// process per function (./worker.ts), reuses that worker for every request until it retires, and
// enforces the platform's limits on it the way supabase/edge-runtime's per-worker supervisor does
// (crates/base/src/worker/supervisor/strategy_per_worker.rs):
//   * CPU accumulated over the worker's life: at the soft limit it retires, at the hard limit it is
//     killed (reason `cpu`);
//   * wall clock since the worker started: retired at 50 %, killed at 100 % (`wall_clock`);
//   * memory: retired at half, killed at the limit (`memory`);
//   * a retired worker takes no new request (a new worker does) and is dropped as soon as it has
//     no request in flight and no pending EdgeRuntime.waitUntil promise (`early_drop`);
//   * `beforeunload` (CustomEvent, detail.reason) is dispatched at EDGE_RUNTIME_BEFOREUNLOAD_PCT of
//     each hard limit; the kill itself is SIGKILL: no `finally`, no graceful close;
//   * a request in flight on a killed worker gets 546 WORKER_LIMIT; a request with no response by
//     the idle timeout gets 504 IDLE_TIMEOUT;
//   * the worker's V8 heap is capped at the memory limit, as the runtime creates every user isolate
//     with `heap_limits(0, memory limit)` (crates/base/src/runtime/mod.rs), limits on or off: V8
//     sizes its heap's growth from that cap, so a worker's heap grows as it would there. A heap that
//     reaches the cap ends the process with V8's fatal error (SIGTRAP), reported as a memory kill,
//     as the runtime's near-heap-limit callback ends the isolate.
// CPU is counted from the moment the worker is ready to serve: the boot (Deno start-up, TypeScript
// transpiling, npm resolution) is not, because the platform boots a prebuilt bundle.
import { CONTROL_PREFIX } from "./protocol.ts";
import type { Limits } from "./limits.ts";
import { rssMb, threadCpuMs } from "./proc.ts";
import { PLATFORM_DENO_BIN } from "./platform-deno.ts";

/**
 * A worker is ./worker.ts under the platform's Deno, whatever Deno runs the supervisor: the function
 * is parsed, type-stripped and run as the hosted runtime would. The function name and entry follow.
 */
export const WORKER_COMMAND = {
  cmd: new URL(`../../../${PLATFORM_DENO_BIN}`, import.meta.url).pathname,
  args: ["run", "-A", "--no-prompt", new URL("./worker.ts", import.meta.url).pathname],
};

type Reason = "cpu" | "wall_clock" | "memory";

interface Worker {
  id: number;
  fn: string;
  child: Deno.ChildProcess;
  pid: number;
  port: number;
  readyAt: number;
  bootCpuMs: number;
  cpuMs: number;
  rssMb: number;
  retired: boolean;
  dropping: boolean;
  inflight: number;
  pending: number;
  killedFor: Reason | null;
  beforeUnloadSent: Set<Reason>;
  exited: Promise<Deno.CommandStatus>;
  stdin: WritableStreamDefaultWriter<Uint8Array>;
  gone: boolean;
  timer?: ReturnType<typeof setInterval>;
}

const encoder = new TextEncoder();
const log = (level: string, message: string, data: Record<string, unknown> = {}) =>
  console.log(
    JSON.stringify({ level, message, component: "edge-runtime", at: new Date().toISOString(), ...data }),
  );

const errorResponse = (status: number, code: string, message: string) =>
  new Response(JSON.stringify({ code, message }), {
    status,
    headers: { "content-type": "application/json", "sb-error-code": code },
  });

const KILL_MESSAGES: Record<Reason, string> = {
  cpu: "CPU time hard limit reached",
  wall_clock: "wall clock duration reached",
  memory: "memory limit reached",
};

export interface SupervisorOptions {
  limits: Limits;
  /** Function name -> the URL of its entry module (which registers its handler under that name). */
  functions: Record<string, string>;
  env: Record<string, string>;
}

export function createSupervisor(options: SupervisorOptions) {
  const { limits } = options;
  const current = new Map<string, Worker>();
  const booting = new Map<string, Promise<Worker>>();
  const all = new Set<Worker>();
  let nextId = 1;

  function send(w: Worker, line: string) {
    w.stdin.write(encoder.encode(line + "\n")).catch(() => {});
  }

  function kill(w: Worker, reason: Reason) {
    if (w.gone || w.killedFor) return;
    w.killedFor = reason;
    w.retired = true;
    log("error", `worker killed: ${KILL_MESSAGES[reason]}`, {
      fn: w.fn,
      worker: w.id,
      reason,
      cpuMs: w.cpuMs,
      wallMs: Math.round(performance.now() - w.readyAt),
      rssMb: Math.round(w.rssMb),
      inflight: w.inflight,
      pending: w.pending,
    });
    try {
      w.child.kill("SIGKILL");
    } catch { /* already gone */ }
  }

  function retire(w: Worker, why: string) {
    if (w.retired) return;
    w.retired = true;
    if (current.get(w.fn) === w) current.delete(w.fn);
    log("info", `worker retired: ${why}`, {
      fn: w.fn,
      worker: w.id,
      cpuMs: w.cpuMs,
      rssMb: Math.round(w.rssMb),
    });
    maybeDrop(w);
  }

  function maybeDrop(w: Worker) {
    if (!w.retired || w.dropping || w.gone || w.killedFor || w.inflight > 0 || w.pending > 0) return;
    w.dropping = true;
    send(w, "drop");
    // A worker that ignores the drop (busy) is not left behind.
    setTimeout(() => !w.gone && w.child.kill("SIGKILL"), 2000);
  }

  function beforeUnload(w: Worker, reason: Reason) {
    if (w.beforeUnloadSent.has(reason)) return;
    w.beforeUnloadSent.add(reason);
    send(w, `beforeunload ${reason}`);
  }

  function watch(w: Worker) {
    const pct = limits.beforeUnloadPct / 100;
    w.timer = setInterval(() => {
      if (w.gone) return;
      const cpu = threadCpuMs(w.pid);
      const rss = rssMb(w.pid);
      if (cpu === null || rss === null) return;
      w.cpuMs = cpu - w.bootCpuMs;
      w.rssMb = rss;
      if (!limits.enforced) return;
      const wall = performance.now() - w.readyAt;
      const wallLimit = limits.wallClockMs > 0 ? limits.wallClockMs : Infinity;
      if (w.cpuMs >= limits.cpuHardMs) return kill(w, "cpu");
      if (wall >= wallLimit) return kill(w, "wall_clock");
      if (w.rssMb >= limits.memoryMb) return kill(w, "memory");
      if (w.cpuMs >= limits.cpuHardMs * pct) beforeUnload(w, "cpu");
      if (wall >= wallLimit * pct) beforeUnload(w, "wall_clock");
      if (w.rssMb >= limits.memoryMb * pct) beforeUnload(w, "memory");
      if (w.cpuMs >= limits.cpuSoftMs) retire(w, "CPU time soft limit reached");
      else if (wall >= wallLimit / 2) retire(w, "half the wall clock spent");
      else if (w.rssMb >= limits.memoryMb / 2) retire(w, "half the memory limit used");
    }, limits.pollMs);
  }

  async function boot(fn: string): Promise<Worker> {
    const child = new Deno.Command(WORKER_COMMAND.cmd, {
      args: [...WORKER_COMMAND.args, fn, options.functions[fn]],
      env: {
        ...options.env,
        DENO_V8_FLAGS: [`--max-heap-size=${limits.memoryMb}`, options.env.DENO_V8_FLAGS].filter(Boolean).join(
          ",",
        ),
      },
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const w: Worker = {
      id: nextId++,
      fn,
      child,
      pid: child.pid,
      port: 0,
      readyAt: 0,
      bootCpuMs: 0,
      cpuMs: 0,
      rssMb: 0,
      retired: false,
      dropping: false,
      inflight: 0,
      pending: 0,
      killedFor: null,
      beforeUnloadSent: new Set(),
      exited: child.status,
      stdin: child.stdin.getWriter(),
      gone: false,
    };
    all.add(w);
    let onReady!: (ready: { port: number; deno: string }) => void;
    const ready = new Promise<{ port: number; deno: string }>((resolve) => (onReady = resolve));
    // The worker's stdout: control lines are ours, everything else is the function's log.
    (async () => {
      const decoder = new TextDecoder();
      let buffered = "";
      for await (const chunk of child.stdout) {
        buffered += decoder.decode(chunk, { stream: true });
        let out = "";
        for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (!line.startsWith(CONTROL_PREFIX)) {
            out += line + "\n";
            continue;
          }
          const msg = JSON.parse(line.slice(CONTROL_PREFIX.length));
          if (msg.ready) onReady(msg);
          if (typeof msg.pending === "number") {
            w.pending = msg.pending;
            maybeDrop(w);
          }
        }
        if (out) Deno.stdout.writeSync(encoder.encode(out));
      }
    })().catch(() => {});
    w.exited.then((status) => {
      if (status.signal === "SIGTRAP" && !w.killedFor) {
        w.killedFor = "memory";
        log("error", `worker killed: ${KILL_MESSAGES.memory}`, {
          fn,
          worker: w.id,
          reason: "memory",
          heapLimitMb: limits.memoryMb,
          cpuMs: w.cpuMs,
          rssMb: Math.round(w.rssMb),
          inflight: w.inflight,
        });
      }
      w.gone = true;
      clearInterval(w.timer);
      all.delete(w);
      if (current.get(fn) === w) current.delete(fn);
      // One line per worker life, with the CPU it used: what `npm run bench` reads.
      log(w.killedFor || w.dropping ? "info" : "warn", "worker stopped", {
        fn,
        worker: w.id,
        reason: w.killedFor ?? (w.dropping ? "early_drop" : "exited"),
        cpuMs: w.cpuMs,
        code: status.code,
        signal: status.signal,
      });
    });
    const { port, deno } = await Promise.race([
      ready,
      w.exited.then((s) => Promise.reject(new Error(`the worker exited during boot (code ${s.code})`))),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("the worker did not boot in 60 s")), 60_000)
      ),
    ]);
    w.port = port;
    w.readyAt = performance.now();
    w.bootCpuMs = threadCpuMs(w.pid) ?? 0;
    watch(w);
    log("info", "worker started", { fn, worker: w.id, pid: w.pid, deno, bootCpuMs: w.bootCpuMs });
    return w;
  }

  async function acquire(fn: string): Promise<Worker> {
    const w = current.get(fn);
    if (w && !w.retired && !w.gone) return w;
    let b = booting.get(fn);
    if (!b) {
      b = boot(fn).then((w) => {
        current.set(fn, w);
        return w;
      }).finally(() => booting.delete(fn));
      booting.set(fn, b);
    }
    return await b;
  }

  function tracked(body: ReadableStream<Uint8Array>, onEnd: () => void): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    let ended = false;
    const end = () => {
      if (!ended) {
        ended = true;
        onEnd();
      }
    };
    return new ReadableStream({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            end();
            controller.close();
          } else controller.enqueue(value);
        } catch (err) {
          end();
          controller.error(err);
        }
      },
      cancel(reason) {
        end();
        return reader.cancel(reason);
      },
    });
  }

  async function handle(req: Request, fn: string): Promise<Response> {
    if (!(fn in options.functions)) {
      return errorResponse(
        404,
        "FUNCTION_NOT_FOUND",
        `No function named ${fn}; have ${Object.keys(options.functions).join(", ")}.`,
      );
    }
    let w: Worker;
    try {
      w = await acquire(fn);
    } catch (err) {
      log("error", "worker boot failed", { fn, error: String(err) });
      return errorResponse(503, "BOOT_ERROR", `Function failed to start: ${(err as Error).message}`);
    }
    w.inflight++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      w.inflight--;
      maybeDrop(w);
    };
    const url = new URL(req.url);
    const headers = new Headers(req.headers);
    headers.delete("host");
    const idle = AbortSignal.timeout(limits.requestIdleTimeoutMs);
    try {
      const body = req.body ? await req.arrayBuffer() : undefined;
      const res = await fetch(`http://127.0.0.1:${w.port}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
        body,
        signal: idle,
        redirect: "manual",
      });
      // The worker's Deno.serve compresses by the request's Accept-Encoding, as the platform's does;
      // this fetch hands the body over decoded, so the headers that described the encoded bytes go.
      const resHeaders = new Headers(res.headers);
      if (resHeaders.has("content-encoding")) {
        resHeaders.delete("content-encoding");
        resHeaders.delete("content-length");
      }
      if (!res.body) {
        release();
        return new Response(null, { status: res.status, headers: resHeaders });
      }
      return new Response(tracked(res.body, release), { status: res.status, headers: resHeaders });
    } catch (err) {
      release();
      // A worker that died on its own closed the connection before its exit status is known.
      if (!w.killedFor) await Promise.race([w.exited, new Promise((r) => setTimeout(r, 1000))]);
      if (w.killedFor) {
        return errorResponse(
          546,
          "WORKER_LIMIT",
          `Function failed due to not having enough compute resources (${w.killedFor}).`,
        );
      }
      if (idle.aborted) {
        return errorResponse(
          504,
          "IDLE_TIMEOUT",
          "The function did not respond before the request idle timeout.",
        );
      }
      log("error", "worker request failed", { fn, worker: w.id, error: String(err) });
      return errorResponse(500, "WORKER_ERROR", "Function exited due to an error (please check logs).");
    }
  }

  async function shutdown(signal: Deno.Signal) {
    for (const w of all) {
      try {
        w.child.kill(signal);
      } catch { /* gone */ }
    }
    await Promise.race([
      Promise.allSettled([...all].map((w) => w.exited)),
      new Promise((r) => setTimeout(r, 6000)),
    ]);
    for (const w of all) {
      try {
        w.child.kill("SIGKILL");
      } catch { /* gone */ }
    }
  }

  return { handle, shutdown, workers: () => [...all] };
}
