// Runs the real `supabase db advisors` against the migrated database: any SECURITY finding at
// WARN or ERROR fails. A deliberately unsafe table proves the check can fail.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate, projectRoot } from "../../scripts/stack/lib/migrate.ts";
import { ensurePgCron, startCronPostgres } from "../../scripts/stack/lib/cron-postgres.ts";
import { createTestDatabase, insertTenant, type TestDatabase } from "../helpers/db.ts";
import postgres from "postgres";

const run = promisify(execFile);
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

interface Finding {
  name: string;
  level: "INFO" | "WARN" | "ERROR";
  categories: string[];
  detail: string;
}

async function advisors(url: string): Promise<Finding[]> {
  const { stdout } = await run(path.join(projectRoot, "node_modules/.bin/supabase"), [
    "db",
    "advisors",
    `--remote=${url}`,
    "--type",
    "security",
    "--level",
    "info",
    "--output-format",
    "json",
  ], { cwd: projectRoot, env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: "1" } });
  return JSON.parse(stdout.slice(stdout.indexOf("{"))).results ?? [];
}

const serious = (f: Finding[]) => f.filter((x) => x.categories.includes("SECURITY") && x.level !== "INFO");

describe("database security", () => {
  it("supabase db advisors reports no SECURITY warning on the migrated schema", async () => {
    const findings = await advisors(db.url);
    expect(serious(findings).map((f) => `${f.name}: ${f.detail}`)).toEqual([]);
    // What remains is deliberate: RLS on with no policy means the API roles can read nothing.
    expect(findings.every((f) => f.name === "rls_enabled_no_policy")).toBe(true);
  }, 60_000);

  it(
    "the check fails on an unsafe schema (a public table exposed to the API roles without RLS)",
    async () => {
      const scratch = await createTestDatabase();
      try {
        // No default grants any more (baseline = a current hosted project): a leak is a table
        // someone granted to the API roles and left without RLS.
        await scratch.sql`create table public.leaky (id int primary key)`;
        await scratch.sql`grant select on public.leaky to anon, authenticated`;
        const names = serious(await advisors(scratch.url)).map((f) => f.name);
        expect(names).toContain("rls_disabled_in_public");
      } finally {
        await scratch.drop();
      }
    },
    60_000,
  );

  it("anon and authenticated cannot read credentials, tenants or reservations", async () => {
    const tenant = await insertTenant(db.sql);
    await db
      .sql`insert into private.motopress_credentials (tenant_id, site_url, consumer_key, consumer_secret)
                 values (${tenant}, 'https://hotel.example', 'ck_x', 'cs_x')`;
    const as = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      for (const role of ["anon", "authenticated"]) {
        for (
          const table of [
            "private.motopress_credentials",
            "public.tenant_registry",
            "public.guest_reservations",
            "public.sync_runs",
          ]
        ) {
          const result = await as.begin(async (tx) => {
            await tx.unsafe(`set local role ${role}`);
            return await tx.unsafe(`select count(*)::int as n from ${table}`).then(
              (r) => `rows:${r[0].n}`,
              (e) => e.code,
            );
          }).catch((e) => e.code);
          // Either no privilege at all (42501) or RLS hides every row.
          expect([`42501`, "rows:0"]).toContain(result);
        }
      }
    } finally {
      await as.end();
    }
  });

  it("every table in public has row-level security, every function a fixed search_path", async () => {
    const noRls = await db.sql`
      select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'r' and not c.relrowsecurity`;
    expect(noRls).toEqual([]);
    const mutable = await db.sql`
      select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('public', 'sync', 'hotels', 'private')
        and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) c where c like 'search_path=%')`;
    expect(mutable).toEqual([]);
  });
});

// On a server where pg_cron is installed but not enabled, the first schedule migration used to
// create it in `public` (advisor extension_in_public). CI installs postgresql-15-cron, so this
// path is covered there; elsewhere it is skipped loudly unless CI_REQUIRE_CRON=1.
const cronUnavailable = await ensurePgCron({ log: (l) => console.log(`[advisors/pg_cron] ${l}`) });
const requireCron = process.env.CI_REQUIRE_CRON === "1";
if (cronUnavailable && !requireCron) {
  console.warn(`!!! SKIPPING the pg_cron advisors test: ${cronUnavailable}`);
}

describe.skipIf(!!cronUnavailable && !requireCron)("database security with pg_cron installed", () => {
  it("migrates with pg_cron in pg_catalog and supabase db advisors reports 0 SECURITY warnings", async () => {
    expect(cronUnavailable, "pg_cron is required (CI_REQUIRE_CRON=1)").toBeNull();
    const pg = await startCronPostgres({ dataDir: `.data/cron-advisors-${process.pid}` });
    if (!pg.available) throw new Error(pg.reason);
    try {
      await migrate(pg.url);
      const conn = postgres(pg.url, { max: 1, onnotice: () => {} });
      try {
        const [ext] = await conn`
          select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_cron'`;
        expect(ext?.nspname).toBe("pg_catalog");
        // No pg_net and no settings here: only the jobs that need neither (retention, room-status
        // reconciliation), and the migration said why.
        const jobs = await conn`select jobname from cron.job order by jobname`;
        expect(jobs.map((j) => j.jobname)).toEqual([
          "motopress-prune-history",
          "motopress-room-status-reconcile",
        ]);
      } finally {
        await conn.end();
      }
      const findings = await advisors(pg.url);
      expect(serious(findings).map((f) => `${f.name}: ${f.detail}`)).toEqual([]);
    } finally {
      await pg.stop();
    }
  }, 120_000);
});
