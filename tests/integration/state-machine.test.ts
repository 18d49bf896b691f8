import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, insertTenant, type TestDatabase } from "../helpers/db.ts";
import {
  canTransition,
  RUN_STATUSES,
  TRANSITIONS,
} from "../../supabase/functions/_shared/runs/state-machine.ts";

let db: TestDatabase;
let tenant: string;
beforeAll(async () => {
  db = await createTestDatabase();
  tenant = await insertTenant(db.sql);
});
afterAll(() => db.drop());

/** Inserts a run directly in `status` (the columns each status requires filled in). */
async function runIn(status: string): Promise<string> {
  const terminal = ["completed", "failed", "cancelled"].includes(status);
  const [row] = await db.sql`
    insert into public.sync_runs (tenant_id, source, status, completed_at, error_code)
    values (${tenant}, 'motopress-bookings', ${status}, ${terminal ? new Date() : null},
            ${status === "failed" || status === "cancelled" ? "X" : null})
    returning id`;
  return row.id;
}

async function move(id: string, to: string) {
  const terminal = ["completed", "failed", "cancelled"].includes(to);
  await db.sql`
    update public.sync_runs
    set status = ${to}, completed_at = ${terminal ? new Date() : null},
        error_code = ${to === "failed" || to === "cancelled" ? "X" : null},
        fencing_token = fencing_token + ${to === "running" ? 1 : 0}
    where id = ${id}`;
}

describe("run state machine", () => {
  it("the SQL table and the TypeScript table are the same machine", async () => {
    const rows = await db.sql`select from_status, to_status from public.sync_run_transitions order by 1, 2`;
    const sqlPairs = rows.map((r) => `${r.from_status}->${r.to_status}`).sort();
    const tsPairs = TRANSITIONS.map(([f, t]) => `${f}->${t}`).sort();
    expect(sqlPairs).toEqual(tsPairs);
  });

  for (const from of RUN_STATUSES) {
    for (const to of RUN_STATUSES) {
      if (from === to && from !== "running") continue; // a same-status write is not a transition
      const allowed = canTransition(from, to);
      it(`${from} -> ${to} is ${allowed ? "allowed" : "rejected"} by the database`, async () => {
        await db.sql.begin(async (tx) => {
          await tx`delete from public.sync_runs where tenant_id = ${tenant}`;
        });
        const id = await runIn(from);
        const result = await move(id, to).then(() => "ok", (e) => String(e.message));
        if (allowed) expect(result).toBe("ok");
        else expect(result).toMatch(/is not allowed/);
      });
    }
  }

  it("the CHECK constraints reject an unknown status and a terminal run without completed_at", async () => {
    await expect(runIn("paused")).rejects.toThrow(/sync_runs_status_check/);
    await expect(
      db.sql`insert into public.sync_runs (tenant_id, source, status) values (${tenant}, 'motopress-bookings', 'completed')`,
    )
      .rejects.toThrow(/sync_runs_terminal_has_completed_at/);
    await expect(
      db.sql`insert into public.sync_runs (tenant_id, source, status, completed_at) values (${tenant}, 'motopress-bookings', 'failed', now())`,
    )
      .rejects.toThrow(/sync_runs_failure_has_code/);
  });
});
