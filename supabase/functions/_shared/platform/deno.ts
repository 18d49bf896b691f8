// The Deno/Edge Runtime adapter: the one place (with the entry points) that touches `Deno.*`
// and `EdgeRuntime`. It reads the environment once, builds the shared dependencies and serves.
import { type Config, loadConfig } from "../config.ts";
import { createSql } from "../db.ts";
import { httpInvoker } from "../invoke.ts";
import { jsonLogger } from "../log.ts";
import { denoIsolateMeter } from "./isolate.ts";
import type { Resolver } from "../net/outbound.ts";
import { redact, rememberSecret } from "../redact.ts";
import type { FunctionDeps } from "../types.ts";

type Handler = (req: Request) => Promise<Response>;

/** Set by scripts/stack/functions-serve.ts, which routes /functions/v1/<name> itself. */
const LOCAL_REGISTRY = "__motopressSyncFunctions";

const GUARD = "__motopressSyncProcessGuard";

/** The platform's global (absent under plain Deno); only the member we use is declared. */
declare const EdgeRuntime: { waitUntil(promise: Promise<unknown>): void } | undefined;

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
    log("error", "unhandled rejection (process kept serving)", {
      error: String((e.reason as Error)?.stack ?? e.reason),
    });
  });
  globalThis.addEventListener("error", (e: ErrorEvent) => {
    e.preventDefault();
    log("error", "uncaught exception (process kept serving)", {
      error: String((e.error as Error)?.stack ?? e.message),
    });
  });
}

/** A and AAAA records of a host; a missing record type is an empty list, not an error. */
export const denoResolver: Resolver = async (host) => {
  // Not every runtime build exposes it; then the policy checks names and literals only.
  if (typeof Deno.resolveDns !== "function") return null;
  const lookup = (type: "A" | "AAAA") =>
    Deno.resolveDns(host, type).catch((err: unknown) => {
      if (err instanceof Deno.errors.NotFound) return [] as string[];
      throw err;
    });
  const [v4, v6] = await Promise.all([lookup("A"), lookup("AAAA")]);
  return [...v4, ...v6];
};

function rememberConfigSecrets(config: Config): void {
  for (const key of config.adminKeys) rememberSecret(key);
  try {
    // A short password (the local stack's "postgres") is a common word: redacting it everywhere
    // would garble messages; the URL-password pattern still removes it from connection strings.
    const password = decodeURIComponent(new URL(config.dbUrl).password);
    if (password.length >= 12) rememberSecret(password);
  } catch {
    // Not a URL postgres.js understands either: the connection fails and says so.
  }
}

export function serveFunction(name: string, build: (deps: FunctionDeps) => Handler): Handler {
  let handler: Handler;
  installProcessGuard(jsonLogger({ fn: "process" }));
  try {
    const config: Config = loadConfig(Deno.env.toObject());
    rememberConfigSecrets(config);
    const deps: FunctionDeps = {
      config,
      sql: createSql(config.dbUrl, { max: config.dbPoolMax, statementTimeoutMs: config.statementTimeoutMs }),
      log: jsonLogger({ fn: name }),
      invoke: httpInvoker(config),
      resolveHost: denoResolver,
      waitUntil: (p) => (typeof EdgeRuntime !== "undefined" ? EdgeRuntime.waitUntil(p) : void p),
      isolate: denoIsolateMeter(),
    };
    handler = build(deps);
  } catch (err) {
    // A broken environment is the operator's to fix: the details go to the function's log (which
    // only the project's owners read); an unauthenticated caller learns only that it is broken.
    console.error(
      JSON.stringify({
        level: "error",
        fn: name,
        message: redact(`Function misconfigured: ${(err as Error).message}`),
      }),
    );
    handler = () =>
      Promise.resolve(
        new Response(
          JSON.stringify({
            error: {
              code: "SERVICE_MISCONFIGURED",
              message: "This function is misconfigured; its log says what to fix.",
            },
          }),
          { status: 503, headers: { "content-type": "application/json" } },
        ),
      );
  }
  const registry = (globalThis as Record<string, unknown>)[LOCAL_REGISTRY] as
    | Map<string, Handler>
    | undefined;
  if (registry) registry.set(name, handler);
  else Deno.serve(handler);
  return handler;
}
