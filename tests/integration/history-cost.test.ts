// A page's database cost does not grow with the hotel's history, whichever plan PostgreSQL picks:
// the rows a bookings page reads (every table, triggers and nested functions included, from the
// transaction's own statistics) at ten times the history stay within 1.5x of the small hotel's,
// with plans forced generic or custom, on tables analysed or never analysed. The same for the
// reconciliation of the hotel. Rows read, not time: the same on any machine.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "../../supabase/functions/_shared/db.ts";
import { claimRun } from "../../supabase/functions/_shared/runs/coordinator.ts";
import { entriesOf } from "../../supabase/functions/_shared/sync/booking-entries.ts";
import { writeBookingsPage } from "../../supabase/functions/_shared/sync/writers.ts";
import {
  createScaleHotel,
  growTo,
  type Layout,
  type ScaleHotel,
  windowPages,
} from "../../bench/lib/history-scale.ts";
import { createTestDatabase, insertTenant, type TestDatabase } from "../helpers/db.ts";

const UNITS = 30;
const SMALL = 2_000;
const LARGE = 20_000;
const TABLES = [
  "guest_reservations",
  "reservation_accommodations",
  "accommodation_units",
  "booking_conflicts",
  "sync_quarantine",
  "run_seen",
  "unit_blocks",
];

let db: TestDatabase;

type Mode = "force_generic_plan" | "force_custom_plan";
const MODES: Mode[] = ["force_generic_plan", "force_custom_plan"];

/** Rows read by the transaction so far, by table and way (sequential, through an index). */
async function rowsRead(tx: Sql): Promise<Map<string, number>> {
  const rows = await tx`
    select relname, coalesce(seq_tup_read, 0)::int as seq, coalesce(idx_tup_fetch, 0)::int as idx
    from pg_stat_xact_all_tables where relname = any (${TABLES})`;
  return new Map(rows.flatMap((r) => [[`${r.relname} seq`, r.seq], [`${r.relname} idx`, r.idx]]));
}

/** A measure: the rows `run` read, with where they were read (for the failure's message). */
interface Cost {
  rows: number;
  where: string;
}
async function measure(tx: Sql, run: () => Promise<unknown>): Promise<Cost> {
  const before = await rowsRead(tx);
  await run();
  const after = await rowsRead(tx);
  const parts = [...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const).filter(([, v]) => v > 0);
  return {
    rows: parts.reduce((n, [, v]) => n + v, 0),
    where: parts.sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", "),
  };
}

/** Runs `fn` in a transaction with plans forced `mode`, then rolls it back (nothing it wrote stays). */
async function rolledBack<T>(mode: Mode, fn: (tx: Sql) => Promise<T>): Promise<T> {
  let result!: T;
  await db.sql.begin(async (tx) => {
    await tx.unsafe(`set local plan_cache_mode = ${mode}`);
    result = await fn(tx as unknown as Sql);
    throw ROLLBACK;
  }).catch((err) => {
    if (err !== ROLLBACK) throw err;
  });
  return result;
}
const ROLLBACK = new Error("rollback");

/**
 * Writes the first page of the stays around today (inserted), then the same page changed
 * (updated), and rolls both back: the rows each read.
 */
const pageCost = (hotel: ScaleHotel, runId: string, mode: Mode): Promise<Cost[]> =>
  rolledBack(mode, async (tx) => {
    const costs: Cost[] = [];
    for (const variant of ["", "-changed"]) {
      const [page] = windowPages(hotel, 1, variant);
      costs.push(
        await measure(
          tx,
          () => writeBookingsPage(tx, hotel.tenantId, runId, entriesOf(page), undefined, true),
        ),
      );
    }
    return costs;
  });

const reconcileCost = (hotel: ScaleHotel, mode: Mode): Promise<Cost> =>
  rolledBack(
    mode,
    (tx) => measure(tx, () => tx`select sync.reconcile_room_status(${hotel.tenantId}::uuid, now())`),
  );

const today = new Date().toISOString().slice(0, 10);

const ANALYSE =
  "analyze public.guest_reservations, public.reservation_accommodations, hotels.booking_conflicts";

describe.each<[Layout, boolean]>([
  ["back-to-back", false],
  ["back-to-back", true],
  ["overlapping", false],
  ["overlapping", true],
])("a page's cost against history (%s, analysed %s)", (layout, analysed) => {
  let hotel: ScaleHotel;
  let runId: string;
  const small = new Map<string, Cost[]>();

  // A database of its own: "never analysed" means no statistics at all and stays so; "analysed"
  // means statistics of the current size. (Statistics that do not know a new tenant yet are the
  // importer's to renew: sync/paged.ts analyses as an import grows.)
  beforeAll(async () => {
    db = await createTestDatabase(4);
    for (
      const t of [
        "public.guest_reservations",
        "public.reservation_accommodations",
        "hotels.booking_conflicts",
      ]
    ) {
      await db.sql.unsafe(`alter table ${t} set (autovacuum_enabled = false)`);
    }
    const tenantId = await insertTenant(db.sql);
    hotel = await createScaleHotel(db.sql, tenantId, layout, UNITS, today);
    await growTo(db.sql, hotel, SMALL);
    if (analysed) await db.sql.unsafe(ANALYSE);
    const claim = await claimRun(db.sql, {
      tenantId,
      source: "motopress-bookings",
      trigger: "manual",
      leaseSeconds: 3600,
    });
    if (claim.outcome !== "claimed") throw new Error(claim.outcome);
    runId = claim.run.id;
    for (const mode of MODES) {
      small.set(mode, [...await pageCost(hotel, runId, mode), await reconcileCost(hotel, mode)]);
    }
    await growTo(db.sql, hotel, LARGE);
    if (analysed) await db.sql.unsafe(ANALYSE);
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });

  it.each(MODES)("plans %s: 10x the history reads at most 1.5x the rows", async (mode) => {
    const large = [...await pageCost(hotel, runId, mode), await reconcileCost(hotel, mode)];
    const base = small.get(mode)!;
    const what = ["insert page", "update page", "reconciliation"];
    for (let i = 0; i < large.length; i++) {
      expect(
        large[i].rows,
        `${what[i]}: ${base[i].rows} rows at ${SMALL} stays (${base[i].where}), ${
          large[i].rows
        } at ${LARGE} (${large[i].where})`,
      ).toBeLessThanOrEqual(Math.max(1.5 * base[i].rows, base[i].rows + 200));
    }
  });
});
