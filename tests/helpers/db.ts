import { inject } from "vitest";
import postgres from "postgres";
import { createDatabaseFrom } from "../../scripts/stack/lib/database.ts";
import { createSql, type Sql } from "../../supabase/functions/_shared/db.ts";

export interface TestDatabase {
  url: string;
  sql: Sql;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one test file. */
export async function createTestDatabase(max = 10): Promise<TestDatabase> {
  const admin = inject("dbAdminUrl");
  const name = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  for (let attempt = 1;; attempt++) {
    try {
      await createDatabaseFrom(admin, name, inject("dbTemplate"));
      break;
    } catch (err) {
      // Two files copying the template at the same instant can collide; the copy is retried.
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  const url = u.toString();
  const sql = createSql(url, { max, applicationName: "motopress-sync-tests" });
  return {
    url,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      const a = postgres(admin, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists "${name}" with (force)`);
      await a.end();
    },
  };
}

export async function insertTenant(
  sql: Sql,
  slug = `hotel-${crypto.randomUUID().slice(0, 8)}`,
): Promise<string> {
  const [row] = await sql`
    insert into public.tenant_registry (slug, name, timezone) values (${slug}, ${
    "Hotel " + slug
  }, 'Europe/Madrid')
    returning tenant_id`;
  return row.tenant_id;
}

/** Moves a run's last heartbeat into the past: the database clock's view of time passing. */
export async function ageRun(sql: Sql, runId: string, seconds: number): Promise<void> {
  await sql`update public.sync_runs set heartbeat_at = heartbeat_at - make_interval(secs => ${seconds}) where id = ${runId}`;
}
