// The Deno/Edge Runtime adapter: the one place (with the entry points) that touches `Deno.*`
// and `EdgeRuntime`. It reads the environment once, builds the shared dependencies and serves.
import { type Config, loadConfig } from "../config.ts";
import { createSql } from "../db.ts";
import type { FunctionDeps } from "../functions/source-function.ts";
import { httpInvoker } from "../invoke.ts";
import { jsonLogger } from "../log.ts";
import { denoIsolateMeter } from "./isolate.ts";

declare const EdgeRuntime: { waitUntil(promise: Promise<unknown>): void } | undefined;

type Handler = (req: Request) => Promise<Response>;

/** Set by scripts/functions-serve.ts, which routes /functions/v1/<name> itself. */
const LOCAL_REGISTRY = "__motopressSyncFunctions";

const GUARD = "__motopressSyncProcessGuard";

/**
 * Process-level handlers: an error that escapes every await (postgres.js 3.4.9 throws from a socket
 * callback when the server drops a connection) is logged and the process keeps serving. Without
 * them one dropped connection ends every run in flight in this process. Installed once.
 */
function installProcessGuard(log: (level: "error", message: string, data: Record<string, unknown>) => void) {
  const g = globalThis as Record<string, unknown>;
  if (g[GUARD]) return;
  g[GUARD] = true;
  globalThis.addEventListener("unhandledrejection", (e: PromiseRejectionEvent) => {
    e.preventDefault();
    log("error", "unhandled rejection (process kept serving)", { error: String((e.reason as Error)?.stack ?? e.reason) });
  });
  globalThis.addEventListener("error", (e: ErrorEvent) => {
    e.preventDefault();
    log("error", "uncaught exception (process kept serving)", { error: String((e.error as Error)?.stack ?? e.message) });
  });
}

export function serveFunction(name: string, build: (deps: FunctionDeps) => Handler): Handler {
  let handler: Handler;
  installProcessGuard(jsonLogger({ fn: "process" }));
  try {
    const config: Config = loadConfig(Deno.env.toObject());
    const deps: FunctionDeps = {
      config,
      sql: createSql(config.dbUrl),
      log: jsonLogger({ fn: name }),
      invoke: httpInvoker(config),
      waitUntil: (p) => (typeof EdgeRuntime !== "undefined" ? EdgeRuntime.waitUntil(p) : void p),
      isolate: denoIsolateMeter(),
    };
    handler = build(deps);
  } catch (err) {
    // A broken environment is the operator's to fix: say so on every request instead of crashing.
    const message = `Function misconfigured: ${(err as Error).message}`;
    console.error(message);
    handler = () =>
      Promise.resolve(
        new Response(JSON.stringify({ error: { code: "SERVICE_MISCONFIGURED", message } }), {
          status: 503,
          headers: { "content-type": "application/json" },
        }),
      );
  }
  const registry = (globalThis as Record<string, unknown>)[LOCAL_REGISTRY] as Map<string, Handler> | undefined;
  if (registry) registry.set(name, handler);
  else Deno.serve(handler);
  return handler;
}
