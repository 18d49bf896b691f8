// One user worker of the local edge runtime (runs under Deno, one process per function, started
// by the supervisor in ./supervisor.ts). It loads only its own function, serves it on a loopback
// port the supervisor proxies to, and offers what the platform's user workers have:
// `EdgeRuntime.waitUntil` and a `beforeunload` CustomEvent with `detail.reason`.
//
// Control lines between the two processes: the supervisor writes `beforeunload <reason>` or
// `drop` (early drop: exit now) on stdin; the worker writes `CONTROL_PREFIX {json}` lines on stdout
// (`ready` with its port and Deno version, `pending` with the number of unsettled waitUntil promises).
import { CONTROL_PREFIX } from "./protocol.ts";

const [name, entry] = Deno.args;
if (!name || !/^[a-z0-9-]+$/.test(name) || !entry) {
  console.error(`usage: worker.ts <function-name> <entry module URL> (got ${JSON.stringify(Deno.args)})`);
  Deno.exit(2);
}

const encoder = new TextEncoder();
const control = (msg: Record<string, unknown>) =>
  Deno.stdout.writeSync(encoder.encode(`${CONTROL_PREFIX}${JSON.stringify(msg)}\n`));

type Handler = (req: Request) => Promise<Response>;
const registry = new Map<string, Handler>();
const g = globalThis as Record<string, unknown>;
g.__motopressSyncFunctions = registry;

// EdgeRuntime.waitUntil: the worker stays alive (is not early-dropped) while a promise is pending;
// a rejection is logged, never an unhandled rejection that would crash the worker.
const pending = new Set<Promise<unknown>>();
g.EdgeRuntime = {
  waitUntil(promise: Promise<unknown>) {
    const tracked: Promise<unknown> = Promise.resolve(promise)
      .catch((err) =>
        console.error(
          JSON.stringify({
            level: "error",
            message: "background task failed",
            error: String(err?.stack ?? err),
          }),
        )
      )
      .finally(() => {
        pending.delete(tracked);
        control({ pending: pending.size });
      });
    pending.add(tracked);
    control({ pending: pending.size });
  },
};

function dispatchBeforeUnload(reason: string) {
  globalThis.dispatchEvent(new CustomEvent("beforeunload", { cancelable: true, detail: { reason } }));
}

await import(entry);
const handler = registry.get(name);
if (!handler) {
  console.error(`worker: ${entry} registered no handler named ${name}`);
  Deno.exit(3);
}

const server = Deno.serve({
  port: 0,
  hostname: "127.0.0.1",
  // The Deno this function runs under (the platform's: ./platform-deno.ts), for the supervisor's log.
  onListen: ({ port }) => control({ ready: true, port, deno: Deno.version.deno }),
}, (req) => handler(req));

// Supervisor commands. EOF on stdin means the supervisor is gone: a worker never outlives it.
(async () => {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of Deno.stdin.readable) {
    buffered += decoder.decode(chunk, { stream: true });
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const [command, arg] = buffered.slice(0, nl).trim().split(" ");
      buffered = buffered.slice(nl + 1);
      if (command === "beforeunload") dispatchBeforeUnload(arg);
      if (command === "drop") {
        dispatchBeforeUnload("early_drop");
        Deno.exit(0);
      }
    }
  }
  Deno.exit(0);
})();

// Ctrl-C / SIGTERM of the whole local stack: give background work a few seconds, then exit.
let terminating = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    if (terminating) return;
    terminating = true;
    dispatchBeforeUnload("termination");
    await server.shutdown();
    await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, 5000))]);
    Deno.exit(0);
  });
}
