// npm start: the whole local stack, then a full sync with visible progress and the health report.
//   database   embedded PostgreSQL in .data/local on 127.0.0.1:54322 (or DATABASE_URL)
//   migrations supabase/migrations, applied with the Supabase CLI
//   functions  served by Deno at http://127.0.0.1:54321/functions/v1/<name>
//   MotoPress  a simulated site with a sample hotel (or the real site of MOTOPRESS_URL,
//              MOTOPRESS_CONSUMER_KEY, MOTOPRESS_CONSUMER_SECRET)
//   tenant     demo-hotel (or, for a real site, MOTOPRESS_TENANT_SLUG, default from its host name)
//   console    the operator console at http://127.0.0.1:54323/, with a short-lived sign-in link
//              (a local ES256 signing key stands in for Supabase Auth: SUPABASE_JWKS)
// Stays up until Ctrl-C, then stops everything it started.
import "../lib/quiet-node20.ts";
import net from "node:net";
import postgres from "postgres";
import { type Database, startDatabase } from "./lib/database.ts";
import { migrate } from "./lib/migrate.ts";
import { type FunctionsServer, LOCAL_SIMULATOR_HOSTS, startFunctionsServer } from "./lib/functions-server.ts";
import { c, LOCAL_FUNCTIONS_URL, localAdminKey, redact } from "../lib/cli.ts";
import { registerTenant, type TenantInput } from "../lib/tenants.ts";
import { runFullSync } from "../lib/progress.ts";
import { formatHealth } from "../lib/health-report.ts";
import { createSyncClient, isSyncClientError } from "../../shared/index.ts";
import { Simulator } from "../../tools/motopress-simulator/simulator.ts";
import { buildConsole, type ConsoleServer, consoleStale, startConsoleServer } from "./lib/console-server.ts";
import { jwksOf, localSigningKey, operatorToken } from "./lib/local-auth.ts";
import { type SimulatorServer, startSimulatorServer } from "../../tools/motopress-simulator/node-server.ts";

// The contract's ports; overridable for a second stack on the same machine.
const DB_PORT = Number(process.env.LOCAL_DB_PORT ?? 54322);
const FUNCTIONS_PORT = Number(process.env.FUNCTIONS_PORT ?? 54321);
const CONSOLE_PORT = Number(process.env.CONSOLE_PORT ?? 54323);
/** The sign-in link's lifetime: `npm run console:link` prints a fresh one. */
const SIGN_IN_TTL_SECONDS = 3600;
const SAMPLE = { seed: 1, types: 8, units: 40, bookings: 1500, latencyMsPerPage: 150 };

const step = (text: string) => console.log(`${c.cyan("==>")} ${c.bold(text)}`);
const info = (key: string, value: string) => console.log(`    ${key.padEnd(14)} ${value}`);

let db: Database | undefined;
let functions: FunctionsServer | undefined;
let site: SimulatorServer | undefined;
let consoleServer: ConsoleServer | undefined;
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  console.log(`\n${c.cyan("==>")} stopping`);
  const quietly = async (what: string, fn?: () => Promise<void>) => {
    if (!fn) return;
    try {
      await fn();
      console.log(`    ${what} stopped`);
    } catch (err) {
      console.log(`    ${what}: ${(err as Error).message}`);
    }
  };
  await quietly("console", consoleServer && (() => consoleServer!.close()));
  await quietly("functions server", functions && (() => functions!.stop()));
  await quietly("MotoPress simulator", site && (() => site!.close()));
  await quietly("database", db && (() => db!.stop()));
  process.exit(code);
}
let firstSignalAt = 0;
process.on("SIGINT", () => {
  if (stopping) {
    // npm forwards the terminal's Ctrl-C to us again: only a later, deliberate second Ctrl-C forces.
    if (Date.now() - firstSignalAt < 1500) return;
    console.log("forced exit");
    process.exit(130);
  }
  firstSignalAt = Date.now();
  void shutdown(0);
});
process.on("SIGTERM", () => void shutdown(0));

function slugFromHost(siteUrl: string): string {
  const host = new URL(siteUrl).hostname.replace(/^www\./, "");
  return host.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63) ||
    "motopress-site";
}

async function main(): Promise<void> {
  const started = Date.now();
  const { key, generated, source: keySource } = await localAdminKey();

  step("database");
  if (!process.env.DATABASE_URL && !(await portFree(DB_PORT))) {
    throw new Error(
      `port ${DB_PORT} is taken (another npm start or PostgreSQL?); stop it, set LOCAL_DB_PORT, or set DATABASE_URL.`,
    );
  }
  if (!(await portFree(CONSOLE_PORT))) {
    throw new Error(`port ${CONSOLE_PORT} is taken (another npm start?); stop it or set CONSOLE_PORT.`);
  }
  if (!(await portFree(FUNCTIONS_PORT))) {
    throw new Error(
      `port ${FUNCTIONS_PORT} is taken (another npm start or functions:serve?); stop it or set FUNCTIONS_PORT.`,
    );
  }
  db = await startDatabase({ dataDir: ".data/local", port: DB_PORT }).catch((err) => {
    throw new Error(
      `could not start PostgreSQL on 127.0.0.1:${DB_PORT} (${
        (err as Error).message
      }); is another npm start running? Or set DATABASE_URL.`,
    );
  });
  info(
    "url",
    redact(db.url) + (process.env.DATABASE_URL ? "  (DATABASE_URL)" : "  (embedded, data in .data/local)"),
  );

  step("migrations (Supabase CLI)");
  const migrationLines: string[] = [];
  await migrate(db.url, (line) => migrationLines.push(line));
  const applied = migrationLines.filter((l) => /^Applying migration/i.test(l));
  for (const line of migrationLines.filter((l) => /baseline/i.test(l))) info("", c.dim(line));
  for (const line of applied) info("", c.dim(line));
  info("", applied.length ? `${applied.length} migration(s) applied` : "up to date");

  step("functions (Deno)");
  const functionsUrl = FUNCTIONS_PORT === 54321 ? LOCAL_FUNCTIONS_URL : `http://127.0.0.1:${FUNCTIONS_PORT}`;
  // No auth server runs locally: a local signing key plays Supabase Auth's, and its public half
  // reaches the functions the way the platform gives them the project's keys (SUPABASE_JWKS).
  const signingKey = await localSigningKey(".data");
  functions = await startFunctionsServer({
    SUPABASE_DB_URL: db.url,
    SUPABASE_URL: functionsUrl,
    SYNC_ADMIN_KEY: key,
    // The sample hotel is the simulator, plain http on loopback; a real MOTOPRESS_URL must be a
    // public https site unless the operator lists its host too.
    SYNC_ALLOW_PRIVATE_HOSTS: process.env.SYNC_ALLOW_PRIVATE_HOSTS ??
      (process.env.MOTOPRESS_URL ? "" : LOCAL_SIMULATOR_HOSTS),
    SUPABASE_JWKS: jwksOf(signingKey),
  }, FUNCTIONS_PORT).catch((err) => {
    throw new Error(
      `could not serve the functions on 127.0.0.1:${FUNCTIONS_PORT}: ${(err as Error).message}`,
    );
  });
  info(
    "url",
    `${functionsUrl}/functions/v1/{motopress-accommodations,motopress-bookings,sync-command-center,room-status}`,
  );
  info(
    "admin key",
    `${key}  ${c.dim(generated ? `(generated; saved in ${keySource})` : `(from ${keySource})`)}`,
  );

  const real = process.env.MOTOPRESS_URL;
  let tenant: TenantInput;
  if (real) {
    const consumerKey = process.env.MOTOPRESS_CONSUMER_KEY;
    const consumerSecret = process.env.MOTOPRESS_CONSUMER_SECRET;
    if (!consumerKey || !consumerSecret) {
      throw new Error("MOTOPRESS_URL is set: set MOTOPRESS_CONSUMER_KEY and MOTOPRESS_CONSUMER_SECRET too.");
    }
    step("MotoPress site (real)");
    const slug = process.env.MOTOPRESS_TENANT_SLUG ?? slugFromHost(real);
    tenant = {
      slug,
      name: process.env.MOTOPRESS_TENANT_NAME ?? new URL(real).hostname,
      timezone: process.env.MOTOPRESS_TIMEZONE ?? "UTC",
      siteUrl: real,
      consumerKey,
      consumerSecret,
    };
    info("site", real);
  } else {
    step("MotoPress site (simulated)");
    const simulator = new Simulator({
      seed: SAMPLE.seed,
      hotel: { types: SAMPLE.types, units: SAMPLE.units, bookings: SAMPLE.bookings },
    });
    // A little latency per page, so the progress is visible.
    simulator.setFaults({ latencyMsPerPage: SAMPLE.latencyMsPerPage });
    site = await startSimulatorServer({ simulator });
    const s = simulator.summary();
    info("site", `${site.url}  (REST base ${site.url}/wp-json/mphb/v1)`);
    info(
      "hotel",
      `${s.types} types, ${s.units} units (${s.hiddenUnitIds.length} hidden), ${s.bookings} bookings, today ${s.today}`,
    );
    tenant = {
      slug: "demo-hotel",
      name: "Demo Hotel (simulated)",
      timezone: "Europe/Madrid",
      siteUrl: site.url,
      ...simulator.credentials,
    };
  }

  step(`tenant ${tenant.slug}`);
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  let tenantId: string;
  try {
    ({ tenantId } = await registerTenant(sql, tenant));
    info("tenant id", tenantId);
    // Start-up validation and repair of room status (seed incident 3), before anything reads it.
    step("room status reconciliation (every active tenant)");
    const [{ report }] = await sql`select sync.reconcile_room_status() as report`;
    printRoomReconciliation(report);
  } finally {
    await sql.end({ timeout: 5 });
  }

  step("full sync through the dashboard client (accommodations, then bookings)");
  const client = createSyncClient({ url: functionsUrl, key });
  let syncOk = false;
  try {
    const result = await runFullSync(client, tenantId);
    syncOk = result.ok;
  } catch (err) {
    console.log(`    ${c.red("sync could not run:")} ${describe(err)}`);
  }

  step("health and integrity");
  try {
    const report = await client.health({ tenantId });
    console.log(formatHealth(report).split("\n").map((l) => (l ? `    ${l}` : "")).join("\n"));
  } catch (err) {
    console.log(`    ${c.yellow("health report unavailable:")} ${describe(err)}`);
  }

  step("operator console");
  let signIn = "";
  try {
    if (await consoleStale()) {
      info("", c.dim("building console/ (npm run console:build)"));
      await buildConsole();
    }
    consoleServer = await startConsoleServer({ port: CONSOLE_PORT, config: { supabaseUrl: functionsUrl } });
    const token = operatorToken(signingKey, {
      supabaseUrl: functionsUrl,
      ttlSeconds: SIGN_IN_TTL_SECONDS,
      email: "operator@localhost",
    });
    signIn = `${consoleServer.url}/#access_token=${token}`;
    info("url", `${consoleServer.url}/`);
  } catch (err) {
    console.log(`    ${c.yellow("console unavailable:")} ${(err as Error).message}`);
  }

  console.log();
  console.log(
    `${c.green("==>")} ${c.bold(`ready in ${Math.round((Date.now() - started) / 1000)} s`)}${
      syncOk ? "" : c.red("  (the sync did not complete; see above)")
    }`,
  );
  if (signIn) {
    console.log(`    console        ${consoleServer!.url}/`);
    console.log(`    sign in        ${signIn}`);
    console.log(
      c.dim(
        `                   (an operator for ${
          SIGN_IN_TTL_SECONDS / 60
        } min; a new link: npm run console:link)`,
      ),
    );
  }
  console.log(`    functions      ${functionsUrl}/functions/v1/<name>`);
  console.log(`    database       ${redact(db.url)}`);
  if (site) console.log(`    simulator      ${site.url}`);
  console.log(`    admin key      ${key}`);
  const envPrefix = [
    functionsUrl !== LOCAL_FUNCTIONS_URL ? `SUPABASE_URL=${functionsUrl}` : "",
    DB_PORT !== 54322 || process.env.DATABASE_URL ? `SUPABASE_DB_URL=${db.url}` : "",
  ].filter(Boolean).join(" ");
  const pre = envPrefix ? `${envPrefix} ` : "";
  console.log(c.dim(`    try:  ${pre}npm run sync -- --tenant ${tenant.slug}`));
  console.log(c.dim(`          ${pre}npm run health`));
  console.log(c.dim(`          ${pre}npm run tenant -- list`));
  console.log(
    c.dim(
      `          curl -H 'Authorization: Bearer ${key}' ${functionsUrl}/functions/v1/sync-command-center`,
    ),
  );
  console.log(
    c.dim(
      `          curl -H 'Authorization: Bearer ${key}' '${functionsUrl}/functions/v1/room-status?tenantId=${tenantId}'`,
    ),
  );
  console.log(c.dim("    Ctrl-C stops everything."));
  // Keeps the process alive until a signal.
  setInterval(() => {}, 1 << 30);
}

function printRoomReconciliation(
  report: {
    checked: number;
    changed: number;
    changes: { cause: string; from: string; to: string; unitId: string }[];
  },
) {
  const byCause = new Map<string, number>();
  for (const ch of report.changes) byCause.set(ch.cause, (byCause.get(ch.cause) ?? 0) + 1);
  const causes = [...byCause].map(([k, n]) => `${n} ${k}`).join(", ");
  info("units checked", String(report.checked));
  info(
    "changed",
    report.changed === 0 ? c.green("0") : `${report.changed}  ${c.dim(`(${causes})`)}`,
  );
  const drift = byCause.get("drift") ?? 0;
  if (drift) {
    info("", c.red(`${drift} unit(s) had a status no stay explained: repaired and recorded as drift`));
  }
  for (const ch of report.changes.slice(0, 5)) {
    info("", c.dim(`${ch.unitId}: ${ch.from} -> ${ch.to} (${ch.cause})`));
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

function describe(err: unknown): string {
  if (isSyncClientError(err)) return `${err.status ? `${err.status} ` : ""}${err.code}: ${err.message}`;
  return (err as Error)?.message ?? String(err);
}

main().catch(async (err) => {
  console.error(`${c.red("error:")} ${(err as Error)?.message ?? err}`);
  if (functions) console.error(c.dim(functions.output().split("\n").slice(-15).join("\n")));
  await shutdown(1);
});
