// npm run sync -- --tenant <slug or id> [--only accommodations|bookings]
// Runs a sync through the dashboard client (supabase-js functions.invoke) and shows its progress
// until the run ends. Exit code 0 when it completed, 1 when it failed.
//   SUPABASE_URL   functions base (default http://127.0.0.1:54321, the local stack)
//   SYNC_ADMIN_KEY the admin key (for the local stack, defaults to the key npm start generated)
//   SUPABASE_DB_URL / DATABASE_URL: only needed to turn a slug into a tenant id
import "./lib/quiet-node20.ts";
import { createSyncClient, type SyncSource } from "../shared/index.ts";
import { adminKey, c, flag, functionsBaseUrl, parseArgs, runMain, UsageError } from "./lib/cli.ts";
import { runFullSync } from "./lib/progress.ts";
import { tenantFromArg } from "./lib/tenants.ts";

const USAGE = `usage: npm run sync -- --tenant <slug or tenant id> [--only accommodations|bookings]`;

runMain(async () => {
  const args = parseArgs(process.argv.slice(2), { values: ["tenant", "only"] });
  if (args.positional.length) throw new UsageError(`Unexpected argument "${args.positional[0]}".`);
  const tenantArg = flag(args, "tenant");
  if (!tenantArg) throw new UsageError("Missing --tenant <slug or id>.");
  const onlyArg = flag(args, "only");
  let only: SyncSource | undefined;
  if (onlyArg !== undefined) {
    if (onlyArg === "accommodations" || onlyArg === "motopress-accommodations") {
      only = "motopress-accommodations";
    } else if (onlyArg === "bookings" || onlyArg === "motopress-bookings") only = "motopress-bookings";
    else throw new UsageError(`--only must be accommodations or bookings, not "${onlyArg}".`);
  }

  const { tenantId, label } = await tenantFromArg(tenantArg);

  const url = functionsBaseUrl();
  const client = createSyncClient({ url, key: await adminKey() });
  console.log(`Syncing ${c.bold(label)} via ${url}/functions/v1/${only ? `: ${only} only` : ""}`);
  const abort = new AbortController();
  process.once("SIGINT", () => {
    // Leaving stops watching; the run itself goes on server-side (cancel it with forceCancel).
    console.log(
      c.yellow("\nstopped watching; the run continues on the server (npm run health to follow it)"),
    );
    abort.abort();
    process.exit(130);
  });
  const result = await runFullSync(client, tenantId, { only, signal: abort.signal });
  console.log(result.ok ? c.green("sync completed") : c.red("sync failed"));
  return result.ok ? 0 : 1;
}, USAGE);
