// npm run functions:serve — runs under Deno (not Node). Serves every function at
// /functions/v1/<name> under the platform's limits: the local edge runtime (scripts/stack/edge-runtime/)
// runs each function in its own worker process, reused across requests until it retires, and
// kills it at the CPU, wall-clock and memory limits as the hosted runtime does. Docker is not
// needed: this stands in for `supabase functions serve`. Limits: EDGE_RUNTIME_* (README).
import { limitsFromEnv } from "./edge-runtime/limits.ts";
import { createSupervisor, WORKER_COMMAND } from "./edge-runtime/supervisor.ts";
import { PLATFORM_DENO_BIN } from "./edge-runtime/platform-deno.ts";

try {
  Deno.statSync(WORKER_COMMAND.cmd);
} catch {
  console.error(
    `error: the functions' Deno (${PLATFORM_DENO_BIN}, the platform's version) is missing: run npm ci`,
  );
  Deno.exit(1);
}

const port = Number(Deno.env.get("PORT") ?? 54321);
if (!Deno.env.get("SUPABASE_URL")) Deno.env.set("SUPABASE_URL", `http://127.0.0.1:${port}`);
if (!Deno.env.get("SUPABASE_DB_URL") && Deno.env.get("DATABASE_URL")) {
  Deno.env.set("SUPABASE_DB_URL", Deno.env.get("DATABASE_URL")!);
}

const FUNCTIONS = ["motopress-accommodations", "motopress-bookings", "sync-command-center", "room-status"];
const limits = limitsFromEnv(Deno.env.toObject());
const supervisor = createSupervisor({
  limits,
  functions: Object.fromEntries(
    FUNCTIONS.map((
      name,
    ) => [name, new URL(`../../supabase/functions/${name}/index.ts`, import.meta.url).href]),
  ),
  env: Deno.env.toObject(),
});

const notFound = (message: string) =>
  new Response(JSON.stringify({ error: { code: "FUNCTION_NOT_FOUND", message } }), {
    status: 404,
    headers: { "content-type": "application/json" },
  });

const server = Deno.serve({
  port,
  hostname: Deno.env.get("HOST") ?? "127.0.0.1",
  onListen: ({ hostname, port }) =>
    console.log(
      `functions listening on http://${hostname}:${port}/functions/v1/ (limits ${
        limits.enforced
          ? `on: CPU ${limits.cpuSoftMs}/${limits.cpuHardMs} ms, wall clock ${limits.wallClockMs} ms, ${limits.memoryMb} MB`
          : "off"
      })`,
    ),
}, (req) => {
  const match = new URL(req.url).pathname.match(/^\/functions\/v1\/([a-z0-9-]+)\/?$/);
  if (!match) return notFound("Use /functions/v1/<name>.");
  if (!FUNCTIONS.includes(match[1])) {
    return notFound(`No function named ${match[1]}; have ${FUNCTIONS.join(", ")}.`);
  }
  return supervisor.handle(req, match[1]);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    console.log(`${signal}: stopping the workers`);
    await Promise.all([server.shutdown(), supervisor.shutdown(signal)]);
    Deno.exit(0);
  });
}
