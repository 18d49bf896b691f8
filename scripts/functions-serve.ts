// npm run functions:serve — runs under Deno (not Node). Serves every function at
// /functions/v1/<name>, as the platform does, reading the platform's env names. Docker is not
// needed: this stands in for `supabase functions serve`.
const port = Number(Deno.env.get("PORT") ?? 54321);
if (!Deno.env.get("SUPABASE_URL")) Deno.env.set("SUPABASE_URL", `http://127.0.0.1:${port}`);
if (!Deno.env.get("SUPABASE_DB_URL") && Deno.env.get("DATABASE_URL")) {
  Deno.env.set("SUPABASE_DB_URL", Deno.env.get("DATABASE_URL")!);
}

type Handler = (req: Request) => Promise<Response>;
const registry = new Map<string, Handler>();
(globalThis as Record<string, unknown>).__motopressSyncFunctions = registry;

// Edge Runtime's waitUntil, where plain Deno has none: keeps the promise referenced until it
// settles and logs a rejection instead of crashing the server.
const pending = new Set<Promise<unknown>>();
const g = globalThis as Record<string, unknown>;
if (!g.EdgeRuntime) {
  g.EdgeRuntime = {
    waitUntil(promise: Promise<unknown>) {
      const tracked = promise.catch((err) => console.error(JSON.stringify({ level: "error", message: "background task failed", error: String(err?.stack ?? err) })))
        .finally(() => pending.delete(tracked));
      pending.add(tracked);
    },
  };
}

const FUNCTIONS = ["motopress-accommodations", "motopress-bookings", "sync-command-center", "room-status"];
for (const name of FUNCTIONS) await import(`../supabase/functions/${name}/index.ts`);

const notFound = (message: string) =>
  new Response(JSON.stringify({ error: { code: "FUNCTION_NOT_FOUND", message } }), {
    status: 404,
    headers: { "content-type": "application/json" },
  });

const server = Deno.serve({
  port,
  hostname: Deno.env.get("HOST") ?? "127.0.0.1",
  onListen: ({ hostname, port }) => console.log(`functions listening on http://${hostname}:${port}/functions/v1/`),
}, (req) => {
  const match = new URL(req.url).pathname.match(/^\/functions\/v1\/([a-z0-9-]+)\/?$/);
  if (!match) return notFound("Use /functions/v1/<name>.");
  const handler = registry.get(match[1]);
  if (!handler) return notFound(`No function named ${match[1]}; have ${[...registry.keys()].join(", ")}.`);
  return handler(req);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    console.log(`${signal}: finishing ${pending.size} background task(s)`);
    await server.shutdown();
    await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, 5000))]);
    Deno.exit(0);
  });
}
