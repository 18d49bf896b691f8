// Applies supabase/migrations with the real Supabase CLI. On a plain PostgreSQL (no Supabase
// roles) it first applies the small baseline the migrations assume.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import path from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";

const run = promisify(execFile);
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export async function isPlainPostgres(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [{ supabase }] =
      await sql`select exists (select 1 from pg_roles where rolname = 'supabase_admin') as supabase`;
    return !supabase;
  } finally {
    await sql.end();
  }
}

/** Supabase Vault (vault.secrets), where `db push` stores config.toml's [db.vault] secrets. */
export async function hasVault(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [{ vault }] = await sql`select to_regclass('vault.secrets') is not null as vault`;
    return vault;
  } finally {
    await sql.end();
  }
}

export async function applyBaseline(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(await readFile(path.join(projectRoot, "supabase/baseline/plain-postgres.sql"), "utf8"));
  } finally {
    await sql.end();
  }
}

export async function migrate(url: string, log: (line: string) => void = () => {}): Promise<void> {
  if (await isPlainPostgres(url)) {
    await applyBaseline(url);
    log("baseline applied (plain PostgreSQL: roles anon, authenticated, service_role; schema extensions)");
  }
  const cli = path.join(projectRoot, "node_modules/.bin/supabase");
  // `--remote=<url>` is CLI v3's spelling of `db push --db-url <url>` (which it still accepts,
  // with a deprecation warning).
  // Without Vault (plain PostgreSQL) the [db.vault] secrets of config.toml have nowhere to go;
  // the schedule reads private.sync_settings there instead (docs/scheduling.md).
  const vault = (await hasVault(url)) ? [] : ["--skip-vault"];
  const { stdout, stderr } = await run(cli, [
    "db",
    "push",
    `--remote=${url}`,
    "--yes",
    "--include-all",
    ...vault,
  ], {
    cwd: projectRoot,
    env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
  }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`supabase db push failed: ${err.stderr || err.stdout || err.message}`);
  });
  for (const line of `${stdout}\n${stderr}`.split("\n")) if (line.trim()) log(line.trim());
}
