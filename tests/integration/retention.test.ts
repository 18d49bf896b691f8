// Hygiene: a run's scratch rows go when it ends, in any state; sync.prune_history (the daily
// pg_cron job) removes old finished runs and resolved quarantine, never what is still in use.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, insertTenant, type TestDatabase } from "../helpers/db.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(2);
});
afterAll(() => db?.drop());

async function run(
  tenant: string,
  status: string,
  opts: { source?: string; daysAgo?: number } = {},
): Promise<string> {
  const days = opts.daysAgo ?? 0;
  const terminal = ["completed", "failed", "cancelled"].includes(status);
  const [row] = await db.sql`
    insert into public.sync_runs (tenant_id, source, status, started_at, heartbeat_at, completed_at, error_code)
    values (${tenant}, ${opts.source ?? "motopress-bookings"}, ${status},
            now() - make_interval(days => ${days}) - interval '1 minute', now() - make_interval(days => ${days}),
            ${terminal ? db.sql`now() - make_interval(days => ${days})` : null},
            ${status === "failed" || status === "cancelled" ? "X" : null})
    returning id`;
  return row.id;
}

const seen = async (runId: string) =>
  (await db.sql`select count(*)::int as n from sync.run_seen where run_id = ${runId}`)[0].n as number;

describe("sync.run_seen is cleared when a run ends, in any state", () => {
  it.each(["completed", "failed", "cancelled"])("%s", async (status) => {
    const tenant = await insertTenant(db.sql);
    const id = await run(tenant, "running");
    await db
      .sql`insert into sync.run_seen (run_id, entity, external_id) values (${id}, 'booking', '1'), (${id}, 'booking', '2')`;
    await db.sql`update public.sync_runs set status = 'continuing' where id = ${id}`;
    expect(await seen(id)).toBe(2); // a checkpoint keeps them: the pass is not over
    await db.sql`update public.sync_runs set status = 'running' where id = ${id}`;
    await db.sql`
      update public.sync_runs set status = ${status}, completed_at = now(),
        error_code = ${status === "completed" ? null : "X"} where id = ${id}`;
    expect(await seen(id)).toBe(0);
  });
});

describe("sync.prune_history", () => {
  it("deletes old finished runs (keeping each source's latest success), their scratch rows and resolved quarantine", async () => {
    const tenant = await insertTenant(db.sql);
    const keepLatest = await run(tenant, "completed", { daysAgo: 50 });
    const oldSuccess = await run(tenant, "completed", { daysAgo: 60 });
    const oldFailure = await run(tenant, "failed", { daysAgo: 40 });
    const oldCancel = await run(tenant, "cancelled", { daysAgo: 40, source: "motopress-accommodations" });
    const recentFailure = await run(tenant, "failed", { daysAgo: 5 });
    const active = await run(tenant, "continuing", { daysAgo: 45 });
    await db.sql`
      insert into public.sync_quarantine (tenant_id, entity, external_id, reason, resolved_at) values
        (${tenant}, 'booking', 'q-old', 'bad', now() - interval '40 days'),
        (${tenant}, 'booking', 'q-recent', 'bad', now() - interval '3 days'),
        (${tenant}, 'booking', 'q-open', 'bad', null)`;
    await db
      .sql`update public.sync_quarantine set first_seen_at = now() - interval '90 days' where external_id = 'q-open'`;

    const [{ result }] = await db.sql`select sync.prune_history() as result`;
    expect(result).toMatchObject({ runs: 3, quarantine: 1 });
    const left = (await db.sql`select id from public.sync_runs where tenant_id = ${tenant}`).map((r) => r.id)
      .sort();
    expect(left).toEqual([keepLatest, recentFailure, active].sort());
    expect(left).not.toContain(oldSuccess);
    expect(left).not.toContain(oldFailure);
    expect(left).not.toContain(oldCancel);
    const quarantine =
      (await db.sql`select external_id from public.sync_quarantine where tenant_id = ${tenant} order by 1`)
        .map((r) => r.external_id);
    expect(quarantine).toEqual(["q-open", "q-recent"]);
  });

  it("takes its age from the retention_days setting, and refuses a nonsensical one", async () => {
    const tenant = await insertTenant(db.sql);
    await run(tenant, "completed", { daysAgo: 1 }); // the latest success: kept whatever the age
    const failure = await run(tenant, "failed", { daysAgo: 3 });
    await db.sql`insert into private.sync_settings (key, value) values ('retention_days', '2')`;
    try {
      await db.sql`select sync.prune_history()`;
      expect(await db.sql`select 1 from public.sync_runs where id = ${failure}`).toHaveLength(0);
      await db.sql`update private.sync_settings set value = 'forever' where key = 'retention_days'`;
      const err = await db.sql`select sync.prune_history()`.then(() => null, (e: Error) => e);
      expect(err?.message).toMatch(/retention_days must be a whole number of days/);
      const tooShort = await db.sql`select sync.prune_history(interval '1 hour')`.then(
        () => null,
        (e: Error) => e,
      );
      expect(tooShort?.message).toMatch(/at least one day/);
    } finally {
      await db.sql`delete from private.sync_settings where key = 'retention_days'`;
    }
  });
});
