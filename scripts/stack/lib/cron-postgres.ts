// Starts a Debian PostgreSQL 15 with pg_cron preloaded, in a data directory of its own (Node side:
// the cron test). The embedded PostgreSQL has no pg_cron, so the schedule can only be proven here.
// Installs `postgresql-15-cron` with apt when it is missing and we are root; otherwise says why
// pg_cron is unavailable instead of throwing.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { access, mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { freePort } from "./database.ts";
import { projectRoot } from "./migrate.ts";
import { dataDirFor, isRoot, postgresUser, relocatedDir } from "./pg-user.ts";

const run = promisify(execFile);

export const PG_BIN = "/usr/lib/postgresql/15/bin";
export const PG_CRON_SO = "/usr/lib/postgresql/15/lib/pg_cron.so";
export const PG_CRON_PACKAGE = "postgresql-15-cron";

export interface CronPostgres {
  available: true;
  /** Superuser URL of the database pg_cron runs its jobs in (cron.database_name). */
  url: string;
  database: string;
  port: number;
  /** Everything the server logged so far. */
  output(): string;
  stop(): Promise<void>;
}

export interface CronUnavailable {
  available: false;
  reason: string;
}

export interface CronPostgresOptions {
  dataDir?: string;
  /** cron.database_name: the database the migrations go to and the jobs run in. */
  database?: string;
  port?: number;
  /** Install postgresql-15-cron with apt-get when missing (only as root). Default true. */
  install?: boolean;
  /** Keep the data directory after stop() (default: removed). */
  keepData?: boolean;
  log?: (line: string) => void;
}

const exists = (p: string) => access(p).then(() => true, () => false);

async function apt(args: string[], log: (line: string) => void): Promise<void> {
  log(`apt-get ${args.join(" ")}`);
  await run("apt-get", args, {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 300_000,
  });
}

/** Makes sure pg_cron.so is there: installs the Debian package when root. Returns a reason when not. */
export async function ensurePgCron(
  opts: { install?: boolean; log?: (line: string) => void } = {},
): Promise<string | null> {
  const log = opts.log ?? (() => {});
  if (!(await exists(path.join(PG_BIN, "postgres"))) || !(await exists(path.join(PG_BIN, "initdb")))) {
    return `PostgreSQL 15 server binaries not found in ${PG_BIN} (apt-get install postgresql-15).`;
  }
  if (await exists(PG_CRON_SO)) return null;
  if (opts.install === false) return `${PG_CRON_SO} is missing and installing was not allowed.`;
  if (!isRoot()) {
    return `${PG_CRON_SO} is missing and we are not root, so ${PG_CRON_PACKAGE} cannot be installed (sudo apt-get install -y ${PG_CRON_PACKAGE}).`;
  }
  try {
    await apt(["install", "-y", "--no-install-recommends", PG_CRON_PACKAGE], log);
  } catch {
    // Stale or missing package lists: refresh them once, then try again.
    try {
      await apt(["update"], log);
      await apt(["install", "-y", "--no-install-recommends", PG_CRON_PACKAGE], log);
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      return `apt-get install -y ${PG_CRON_PACKAGE} failed: ${(e.stderr || e.message).trim().slice(-500)}`;
    }
  }
  return (await exists(PG_CRON_SO))
    ? null
    : `${PG_CRON_PACKAGE} was installed but ${PG_CRON_SO} is still missing.`;
}

export async function startCronPostgres(
  opts: CronPostgresOptions = {},
): Promise<CronPostgres | CronUnavailable> {
  const log = opts.log ?? (() => {});
  const reason = await ensurePgCron({ install: opts.install, log });
  if (reason) return { available: false, reason };

  const database = opts.database ?? "motopress_sync";
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`invalid database name ${database}`);
  let dataDir = path.resolve(projectRoot, opts.dataDir ?? ".data/cron-db");
  const port = opts.port ?? (await freePort());

  // PostgreSQL refuses to run as root: run initdb and the server as the `postgres` system user
  // (the Debian postgresql package creates it), in a data directory it can reach (pg-user.ts).
  let ids: { uid: number; gid: number } | undefined;
  await rm(dataDir, { recursive: true, force: true });
  if (isRoot()) {
    const pgUser = await postgresUser().catch(() => null);
    if (!pgUser) {
      return {
        available: false,
        reason: "running as root but there is no `postgres` system user to run PostgreSQL as.",
      };
    }
    ids = pgUser;
    await rm(relocatedDir(projectRoot, dataDir), { recursive: true, force: true });
    dataDir = await dataDirFor(pgUser, projectRoot, dataDir);
  } else {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
  }

  let out = "";
  const spawnOpts = { cwd: "/", env: { ...process.env, LC_ALL: "C", LANG: "C" }, ...(ids ?? {}) };
  await new Promise<void>((resolve, reject) => {
    const initdb = spawn(path.join(PG_BIN, "initdb"), [
      "-D",
      dataDir,
      "-U",
      "postgres",
      "--auth=trust",
      "--encoding=UTF8",
      "--locale=C",
      "--no-sync",
    ], { ...spawnOpts, stdio: ["ignore", "pipe", "pipe"] });
    initdb.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    initdb.stderr!.on("data", (c: Buffer) => (out += c.toString()));
    initdb.once("error", reject);
    initdb.once(
      "exit",
      (code) => (code === 0 ? resolve() : reject(new Error(`initdb failed (${code}):\n${out}`))),
    );
  });

  const child: ChildProcess = spawn(path.join(PG_BIN, "postgres"), [
    "-D",
    dataDir,
    "-p",
    String(port),
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "unix_socket_directories=",
    "-c",
    "shared_preload_libraries=pg_cron",
    "-c",
    `cron.database_name=${database}`,
    // pg_cron runs each job over a libpq connection to itself (trust on 127.0.0.1, see initdb).
    "-c",
    "cron.host=127.0.0.1",
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
    "-c",
    "max_connections=100",
    "-c",
    "timezone=UTC",
  ], { ...spawnOpts, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const base = `postgres://postgres:postgres@127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`PostgreSQL 15 exited (${child.exitCode}):\n${out}`);
    const admin = postgres(`${base}/postgres`, { max: 1, onnotice: () => {}, connect_timeout: 2 });
    try {
      await admin`select 1`;
      await admin.unsafe(`create database "${database}"`);
      await admin.end();
      break;
    } catch (err) {
      await admin.end({ timeout: 1 }).catch(() => {});
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`PostgreSQL 15 did not accept connections in 30 s (${String(err)}):\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  log(`PostgreSQL 15 with pg_cron on port ${port}, cron.database_name=${database}`);

  return {
    available: true,
    url: `${base}/${database}`,
    database,
    port,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGINT"); // fast shutdown
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (!opts.keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Applies the pg_net stand-in (schema `net`); needed before the migrations on a server without pg_net. */
export async function applyPgNetStandin(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(await readFile(path.join(projectRoot, "scripts/stack/lib/pg-net-standin.sql"), "utf8"));
  } finally {
    await sql.end();
  }
}

/**
 * Fills private.sync_settings (created by the schedule migration), where sync.invoke_function
 * finds the project URL and the admin key when the database has no Vault.
 */
export async function setSyncSettings(
  url: string,
  settings: { projectUrl: string; adminKey: string },
): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`
      insert into private.sync_settings (key, value)
      values ('project_url', ${settings.projectUrl}), ('sync_admin_key', ${settings.adminKey})
      on conflict (key) do update set value = excluded.value, updated_at = now()`;
  } finally {
    await sql.end();
  }
}
