// npm run tenant -- add: the consumer secret from stdin (`--consumer-secret -`), from
// MOTOPRESS_CONSUMER_SECRET, or (as before) from the flag. The real script, run with tsx.
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../scripts/stack/lib/migrate.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(2);
});
afterAll(() => db?.drop());

function tenantCli(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(path.join(projectRoot, "node_modules/.bin/tsx"), ["scripts/tenant.ts", ...args], {
      cwd: projectRoot,
      env: {
        ...process.env,
        SUPABASE_DB_URL: db.url,
        MOTOPRESS_CONSUMER_SECRET: "",
        NO_COLOR: "1",
        ...opts.env,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdin.end(opts.stdin ?? "");
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const add = (slug: string) => [
  "add",
  "--slug",
  slug,
  "--name",
  "CLI Hotel",
  "--timezone",
  "Europe/Madrid",
  "--site-url",
  "https://hotel.example",
  "--consumer-key",
  "ck_cli",
];
const storedSecret = async (slug: string) =>
  (await db.sql`select c.consumer_secret from private.motopress_credentials c
                join public.tenant_registry t using (tenant_id) where t.slug = ${slug}`)[0]?.consumer_secret;

describe("npm run tenant -- add: the consumer secret outside the shell history", () => {
  it("reads it from stdin with --consumer-secret -", async () => {
    const r = await tenantCli([...add("cli-stdin"), "--consumer-secret", "-"], { stdin: "cs_from_stdin\n" });
    expect(r.code, r.stderr).toBe(0);
    expect(await storedSecret("cli-stdin")).toBe("cs_from_stdin");
    expect(r.stdout + r.stderr).not.toContain("cs_from_stdin");
  }, 30_000);

  it("takes it from MOTOPRESS_CONSUMER_SECRET without the flag", async () => {
    const r = await tenantCli(add("cli-env"), { env: { MOTOPRESS_CONSUMER_SECRET: "cs_from_env" } });
    expect(r.code, r.stderr).toBe(0);
    expect(await storedSecret("cli-env")).toBe("cs_from_env");
  }, 30_000);

  it("still accepts the flag, and says what to do when the secret is missing", async () => {
    const r = await tenantCli([...add("cli-flag"), "--consumer-secret", "cs_from_flag"]);
    expect(r.code, r.stderr).toBe(0);
    expect(await storedSecret("cli-flag")).toBe("cs_from_flag");
    const missing = await tenantCli(add("cli-none"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--consumer-secret - \(stdin\) or set MOTOPRESS_CONSUMER_SECRET/);
    expect(await storedSecret("cli-none")).toBeUndefined();
  }, 30_000);
});
