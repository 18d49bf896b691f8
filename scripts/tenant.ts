// npm run tenant -- add --slug <slug> --name <name> --timezone <tz> --site-url <url>
//                       --consumer-key <ck_...> --consumer-secret <cs_...>
// npm run tenant -- list
// Registers (or, for an existing slug, updates) a tenant and its MotoPress credentials in
// SUPABASE_DB_URL (or DATABASE_URL; default: the local stack of `npm start`).
import postgres from "postgres";
import { c, databaseUrl, flag, parseArgs, redact, runMain, UsageError } from "./lib/cli.ts";
import { listTenants, registerTenant } from "./lib/tenants.ts";

const USAGE = `usage:
  npm run tenant -- add --slug <slug> --name <name> --timezone <IANA tz> \\
                        --site-url <https://hotel.example> --consumer-key <ck_...> --consumer-secret <cs_...>
  npm run tenant -- list

Database: SUPABASE_DB_URL, else DATABASE_URL, else the local stack (postgres://...@127.0.0.1:54322/postgres).`;

const ADD_FLAGS = ["slug", "name", "timezone", "site-url", "consumer-key", "consumer-secret"];

runMain(async () => {
  const [command, ...rest] = process.argv.slice(2);
  if (!command || command === "help" || command === "--help" || command === "-h") {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (command !== "add" && command !== "list") {
    throw new UsageError(`Unknown command "${command}"; use add or list.`);
  }
  const args = parseArgs(rest, {
    values: command === "add" ? ADD_FLAGS : [],
    booleans: command === "list" ? ["json"] : [],
  });
  if (args.positional.length) throw new UsageError(`Unexpected argument "${args.positional[0]}".`);

  if (command === "add") {
    const missing = ADD_FLAGS.filter((f) => !flag(args, f));
    if (missing.length) throw new UsageError(`Missing ${missing.map((f) => `--${f}`).join(", ")}.`);
  }

  const sql = postgres(databaseUrl(), { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    if (command === "add") {
      const { tenantId, created } = await registerTenant(sql, {
        slug: flag(args, "slug")!,
        name: flag(args, "name")!,
        timezone: flag(args, "timezone")!,
        siteUrl: flag(args, "site-url")!,
        consumerKey: flag(args, "consumer-key")!,
        consumerSecret: flag(args, "consumer-secret")!,
      });
      console.error(
        c.dim(
          `${created ? "registered" : "updated"} tenant ${flag(args, "slug")} in ${redact(databaseUrl())}`,
        ),
      );
      console.log(tenantId);
      return 0;
    }
    const tenants = await listTenants(sql);
    if (args.flags.has("json")) {
      console.log(JSON.stringify(tenants, null, 2));
      return 0;
    }
    if (!tenants.length) {
      console.log("no tenants yet: npm run tenant -- add ...");
      return 0;
    }
    const head = ["slug", "tenant id", "name", "timezone", "active", "site url"];
    const rows = tenants.map((
      t,
    ) => [
      t.slug,
      t.tenantId,
      t.name,
      t.timezone,
      t.isActive ? "yes" : "no",
      t.siteUrl ?? "(no credentials)",
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const fmt = (r: string[]) => r.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
    console.log(c.bold(fmt(head)));
    for (const r of rows) console.log(fmt(r));
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}, USAGE);
