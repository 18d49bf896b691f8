// Small helpers the operator scripts share: flags, the database URL, the admin key, colours.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { parseArgs as nodeParseArgs } from "node:util";
import { projectRoot } from "../stack/lib/migrate.ts";

/** A mistake of the caller: printed without a stack trace (with the usage when `showUsage`). */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(message: string, readonly showUsage = true) {
    super(message);
  }
}

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

/**
 * Node's `util.parseArgs`, strict: `--name value` or `--name=value` for a value, a bare `--name` for a
 * boolean. An unknown flag, a missing value or a value given to a boolean is a UsageError that names
 * the flag (and the known ones), instead of Node's own message.
 */
export function parseArgs(argv: string[], known: { values: string[]; booleans?: string[] }): ParsedArgs {
  const booleans = known.booleans ?? [];
  const options = Object.fromEntries([
    ...known.values.map((name) => [name, { type: "string" as const }]),
    ...booleans.map((name) => [name, { type: "boolean" as const }]),
  ]);
  let parsed: ReturnType<typeof nodeParseArgs>;
  try {
    parsed = nodeParseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw usageErrorOf(err, [...known.values, ...booleans]);
  }
  const flags = new Map<string, string | true>();
  for (const [name, value] of Object.entries(parsed.values)) {
    if (typeof value === "string") flags.set(name, value);
    else if (value === true) flags.set(name, true);
  }
  return { positional: parsed.positionals, flags };
}

function usageErrorOf(err: unknown, known: string[]): Error {
  const { code, message } = err as { code?: string; message?: string };
  const name = /'(-[^ ']+)/.exec(message ?? "")?.[1] ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const all = known.map((f) => `--${f}`).join(", ");
    return new UsageError(
      `Unknown option ${name}${all ? ` (known: ${all})` : " (this command takes none)"}.`,
    );
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    return new UsageError(
      /does not take an argument/.test(message ?? "") ? `${name} takes no value.` : `${name} needs a value.`,
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

export function flag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === "string" ? v : undefined;
}

/** The local stack's database when nothing else is said (what `npm start` runs on). */
export const LOCAL_DB_URL = "postgres://postgres:postgres@127.0.0.1:54322/postgres";
export const LOCAL_FUNCTIONS_URL = "http://127.0.0.1:54321";

export function databaseUrl(): string {
  return process.env.SUPABASE_DB_URL || process.env.DATABASE_URL || LOCAL_DB_URL;
}

export function functionsBaseUrl(): string {
  return (process.env.SUPABASE_URL || LOCAL_FUNCTIONS_URL).replace(/\/+$/, "");
}

/** Where `npm start` keeps the admin key it generated, so the other scripts find it. */
export const LOCAL_KEY_FILE = path.join(projectRoot, ".data", "local-admin-key");

export async function readLocalAdminKey(): Promise<string | undefined> {
  try {
    const key = (await readFile(LOCAL_KEY_FILE, "utf8")).trim();
    return key || undefined;
  } catch {
    return undefined;
  }
}

/** SYNC_ADMIN_KEY, else (for the local stack only) the key `npm start` generated. */
export async function adminKey(): Promise<string> {
  const fromEnv = process.env.SYNC_ADMIN_KEY;
  if (fromEnv) return fromEnv;
  if (["127.0.0.1", "localhost", "[::1]"].includes(new URL(functionsBaseUrl()).hostname)) {
    const local = await readLocalAdminKey();
    if (local) return local;
  }
  throw new UsageError("Set SYNC_ADMIN_KEY to the functions' admin key (npm start prints the local one).");
}

export async function localAdminKey(): Promise<{ key: string; generated: boolean; source: string }> {
  if (process.env.SYNC_ADMIN_KEY) {
    return { key: process.env.SYNC_ADMIN_KEY, generated: false, source: "SYNC_ADMIN_KEY" };
  }
  const existing = await readLocalAdminKey();
  if (existing) {
    return { key: existing, generated: false, source: path.relative(projectRoot, LOCAL_KEY_FILE) };
  }
  const key = `local-${randomBytes(24).toString("hex")}`;
  await mkdir(path.dirname(LOCAL_KEY_FILE), { recursive: true });
  await writeFile(LOCAL_KEY_FILE, `${key}\n`, { mode: 0o600 });
  return { key, generated: true, source: path.relative(projectRoot, LOCAL_KEY_FILE) };
}

const useColour = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (s: string) => (useColour ? `\x1b[${code}m${s}\x1b[0m` : s);
export const c = {
  bold: paint(1),
  dim: paint(2),
  red: paint(31),
  green: paint(32),
  yellow: paint(33),
  cyan: paint(36),
  enabled: useColour,
};

/** Runs a script's main: usage errors print without a stack trace; exit code 2 for usage, 1 otherwise. */
export function runMain(main: () => Promise<number | void>, usage?: string): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (err) => {
      if (err instanceof UsageError) {
        console.error(`${c.red("error:")} ${err.message}`);
        if (usage && err.showUsage) console.error(`\n${usage}`);
        process.exit(2);
      }
      const e = err as { code?: string; status?: number; message?: string; name?: string };
      if (e?.name === "SyncClientError") {
        console.error(`${c.red("error:")} ${e.status ? `${e.status} ` : ""}${e.code}: ${e.message}`);
        if (e.code === "NETWORK_ERROR") {
          console.error(
            `       (functions at ${functionsBaseUrl()}: is \`npm start\` running, or is SUPABASE_URL set?)`,
          );
        }
      } else if (e?.code === "ECONNREFUSED" || /ECONNREFUSED/.test(String(e?.message))) {
        console.error(
          `${c.red("error:")} cannot connect to the database at ${
            redact(databaseUrl())
          } (is \`npm start\` running, or is SUPABASE_DB_URL set?)`,
        );
      } else if (e?.code === "42P01") {
        console.error(
          `${c.red("error:")} ${e.message} in ${redact(databaseUrl())}: not migrated? (npm run db:migrate)`,
        );
      } else {
        console.error(`${c.red("error:")} ${e?.message ?? String(err)}`);
      }
      process.exit(1);
    },
  );
}

export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}
