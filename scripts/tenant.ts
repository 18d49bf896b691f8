// npm run tenant -- add --slug <slug> --name <name> --timezone <tz> --site-url <url>
//                       --consumer-key <ck_...> [--consumer-secret <cs_...> | --consumer-secret -]
//   The secret: `--consumer-secret -` reads it from stdin, and without the flag it comes from
//   MOTOPRESS_CONSUMER_SECRET, so that it need not sit in the shell history.
// npm run tenant -- list
// The key and secret are always given: a stored secret is sent only to the origin it was entered
// for, so a new site URL takes them anew.
// Registers (or, for an existing slug, updates) a tenant and its MotoPress credentials in
// SUPABASE_DB_URL (or DATABASE_URL; default: the local stack of `npm start`).
import postgres from "postgres";
import { c, databaseUrl, flag, parseArgs, redact, runMain, UsageError } from "./lib/cli.ts";
import { listTenants, registerTenant } from "./lib/tenants.ts";

const USAGE = `usage:
  npm run tenant -- add --slug <slug> --name <name> --timezone <IANA tz> \\
                        --site-url <https://hotel.example> --consumer-key <ck_...> [--consumer-secret -]
  npm run tenant -- list

The consumer secret: --consumer-secret - reads it from stdin (e.g. a password manager's CLI piped in);
without the flag it is taken from MOTOPRESS_CONSUMER_SECRET; --consumer-secret <cs_...> still works
but leaves it in the shell history.

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

  let consumerSecret = "";
  if (command === "add") {
    const missing = ADD_FLAGS.filter((f) => f !== "consumer-secret" && !flag(args, f));
    if (missing.length) throw new UsageError(`Missing ${missing.map((f) => `--${f}`).join(", ")}.`);
    consumerSecret = await secretFrom(flag(args, "consumer-secret"));
  }

  const sql = postgres(databaseUrl(), { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    if (command === "add") {
      const { tenantId, created, movedFrom } = await registerTenant(sql, {
        slug: flag(args, "slug")!,
        name: flag(args, "name")!,
        timezone: flag(args, "timezone")!,
        siteUrl: flag(args, "site-url")!,
        consumerKey: flag(args, "consumer-key")!,
        consumerSecret,
      });
      console.error(
        c.dim(
          `${created ? "registered" : "updated"} tenant ${flag(args, "slug")} in ${redact(databaseUrl())}`,
        ),
      );
      if (movedFrom) {
        console.error(
          c.dim(
            `the site moved from ${movedFrom}: the key and secret given are sent to ${
              new URL(flag(args, "site-url")!).origin
            } only (the functions never send a stored secret to another origin)`,
          ),
        );
      }
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

/** The flag's value; `-` for stdin; without the flag, MOTOPRESS_CONSUMER_SECRET. */
async function secretFrom(value: string | undefined): Promise<string> {
  if (value === "-") {
    if (process.stdin.isTTY) {
      process.stderr.write("consumer secret (input is not hidden; end with Enter, then Ctrl-D): ");
    }
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const secret = Buffer.concat(chunks).toString("utf8").trim();
    if (!secret) throw new UsageError("--consumer-secret -: nothing was read from stdin.", false);
    return secret;
  }
  if (value !== undefined) return value;
  const fromEnv = process.env.MOTOPRESS_CONSUMER_SECRET?.trim();
  if (fromEnv) return fromEnv;
  throw new UsageError(
    "Missing the consumer secret: pass --consumer-secret - (stdin) or set MOTOPRESS_CONSUMER_SECRET.",
  );
}
