// A bookings page as the sync commits it: one statement or two, each a transaction of its own and
// each fenced (sync.check_bookings_page, sync.commit_bookings_page), against the real migrations.
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, insertTenant, type TestDatabase } from "../helpers/db.ts";
import type { Page } from "../../supabase/functions/_shared/motopress/client.ts";
import { splitJsonArray } from "../../supabase/functions/_shared/motopress/json-items.ts";
import { claimRun, held, RunLostError } from "../../supabase/functions/_shared/runs/coordinator.ts";
import { type Lease, leaseOf } from "../../supabase/functions/_shared/runs/types.ts";
import { entriesOf } from "../../supabase/functions/_shared/sync/booking-entries.ts";
import type { Checkpoint, PageCommit } from "../../supabase/functions/_shared/sync/paged.ts";
import { writeBookingsPage } from "../../supabase/functions/_shared/sync/writers.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(4);
});
afterAll(async () => {
  await db?.drop();
});

const booking = JSON.parse(
  readFileSync(path.join(import.meta.dirname, "../fixtures/motopress/booking-two-rooms.json"), "utf8"),
);
const pageOf = (bookings: unknown[], page = 1): Page<ReturnType<typeof entriesOf>["items"][number]> =>
  entriesOf({
    page,
    totalPages: 9,
    total: 900,
    items: splitJsonArray(JSON.stringify(bookings))!,
    itemErrors: [],
    unstable: false,
  });
const two = () => [booking, { ...booking, id: booking.id + 1 }];

const checkpointAt = (page: number): Checkpoint => ({
  phase: 0,
  page,
  total: 900,
  unstable: false,
  removalsDone: [],
});
const commitFor = (lease: Lease, page: number): PageCommit => ({
  lease,
  checkpoint: checkpointAt(page),
  held: (owned) => held(db.sql, lease, owned),
  stats: (counts) => ({ counters: { ...counts, marker: page }, progress: {} as never }),
});

/** A page of `bookings` written by the sync's writer, ending at checkpoint page `at`. */
const writePage = (
  tenant: string,
  lease: Lease,
  bookings: unknown[],
  at: number,
  checkFirst: boolean,
  page = 1,
) => writeBookingsPage(db.sql, tenant, lease.runId, pageOf(bookings, page), commitFor(lease, at), checkFirst);

async function freshRun() {
  const tenant = await insertTenant(db.sql);
  const claim = await claimRun(db.sql, {
    tenantId: tenant,
    source: "motopress-bookings",
    trigger: "manual",
    leaseSeconds: 60,
  });
  if (claim.outcome !== "claimed") throw new Error("not claimed");
  return { tenant, lease: leaseOf(claim.run) };
}

const runRow = async (id: string) =>
  (await db.sql`select checkpoint, stats from public.sync_runs where id = ${id}`)[0];
const seen = async (id: string) =>
  (await db.sql`select external_id from sync.run_seen where run_id = ${id} order by 1`).map((r) =>
    r.external_id
  );

describe("a bookings page in one statement or two", () => {
  it("written at once, then checked: the check alone ends an unchanged page, with its checkpoint and stats", async () => {
    const { tenant, lease } = await freshRun();
    const first = await writePage(tenant, lease, two(), 2, false);
    expect(first.changed).toBe(2);
    expect(first.counters).toMatchObject({ items: 2, inserted: 2 });
    expect(await runRow(lease.runId)).toMatchObject({
      checkpoint: checkpointAt(2),
      stats: { counters: { marker: 2 } },
    });

    const again = await writePage(tenant, lease, two(), 3, true, 2);
    expect(again.changed).toBe(0);
    expect(again.counters).toMatchObject({ items: 2, inserted: 0, updated: 0 });
    expect(await runRow(lease.runId)).toMatchObject({
      checkpoint: checkpointAt(3),
      stats: { counters: { marker: 3 } },
    });
    expect(await seen(lease.runId)).toEqual([String(booking.id), String(booking.id + 1)]);
  });

  it("a check that finds a change writes only the heartbeat: a page stopped after it is done again, never passed", async () => {
    const { tenant, lease } = await freshRun();
    await writePage(tenant, lease, two(), 2, false);
    await db.sql`delete from sync.run_seen where run_id = ${lease.runId}`;
    const edited = [booking, { ...booking, id: booking.id + 1, total_price: 1 }];
    const entries = pageOf(edited).items;
    const before = await runRow(lease.runId);
    // The page's first statement as the writer sends it, and then the worker is gone.
    const [check] = await db.sql`
      select owned, changed from sync.check_bookings_page(${tenant}, ${lease.runId}, ${lease.fencingToken},
        ${db.sql.json(checkpointAt(3) as never)}, ${entries.map((e) => e.id!)}::int[],
        ${entries.map((e) => e.hash!)}::text[], ${db.sql.json({ counters: { marker: 3 } } as never)})`;
    expect(check).toEqual({ owned: true, changed: [booking.id + 1] });
    expect(await runRow(lease.runId)).toEqual(before);
    expect(await seen(lease.runId)).toEqual([]);

    // The retry (or the next worker) writes it, and only then passes the page.
    const retry = await writePage(tenant, lease, edited, 3, true);
    expect(retry.counters).toMatchObject({ updated: 1, inserted: 0 });
    expect(await runRow(lease.runId)).toMatchObject({ checkpoint: checkpointAt(3) });
    expect(await seen(lease.runId)).toHaveLength(2);
  });

  it("a worker whose run was taken over writes nothing, whichever way its page goes", async () => {
    const { tenant, lease } = await freshRun();
    const stale: Lease = { ...lease, fencingToken: lease.fencingToken - 1 };
    for (const checkFirst of [true, false]) {
      await expect(
        writePage(tenant, stale, two(), 2, checkFirst),
      )
        .rejects.toBeInstanceOf(RunLostError);
    }
    const [{ n }] = await db
      .sql`select count(*)::int as n from public.guest_reservations where tenant_id = ${tenant}`;
    expect(n).toBe(0);
    expect(await seen(lease.runId)).toEqual([]);
    expect((await runRow(lease.runId)).checkpoint).toBeNull();
  });

  it(
    "a page blocked behind a holder of its run's row gives up at the lock timeout, a transient fault",
    async () => {
      const { tenant, lease } = await freshRun();
      const holder = await db.sql.reserve();
      try {
        await holder`begin`;
        await holder`select 1 from public.sync_runs where id = ${lease.runId} for update`;
        const t0 = Date.now();
        const err = await writePage(tenant, lease, two(), 2, false)
          .then(() => null, (e) => e);
        expect(err?.code).toBe("55P03"); // lock_not_available: retried by the page loop
        expect(Date.now() - t0).toBeGreaterThanOrEqual(4_500);
      } finally {
        await holder`rollback`;
        holder.release();
      }
    },
    20_000,
  );
});
