// Sync pages, operator actions and the reconciler interleaved on the same units: in every snapshot a
// reader takes, each unit's stored status is what the rule derives from the committed stays (and
// no drift is ever recorded). Seeded, so a failure replays.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OperatorAction, performAction } from "../../supabase/functions/_shared/rooms/actions.ts";
import { reconcileRoomStatus } from "../../supabase/functions/_shared/rooms/reconcile.ts";
import { createTestDatabase, insertTenant, type TestDatabase } from "../helpers/db.ts";
import { addUnits, at, type BookingSpec, reservationId, writeBookings } from "../helpers/rooms.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(12);
});
afterAll(async () => {
  await db?.drop();
});

function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOW = at("2027-09-15T14:00:00Z"); // 16:00 in Madrid: today's arrivals are in house by the time rule
const UNITS = [301, 302, 303];
const DATES: [string, string][] = [
  ["2027-09-13", "2027-09-15"], // left this morning
  ["2027-09-14", "2027-09-17"], // in house
  ["2027-09-15", "2027-09-16"], // arrived today
  ["2027-09-16", "2027-09-18"], // tomorrow
];
const ROUNDS = 40;

describe("room status under interleaved writers", () => {
  it(
    "sync pages, operator actions and reconciliations never leave a status the stays do not explain",
    async () => {
      const rnd = prng(12);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
      const tenantId = await insertTenant(db.sql);
      const units = await addUnits(db.sql, tenantId, UNITS);
      const booking = (id: number): BookingSpec => {
        const [checkIn, checkOut] = pick(DATES);
        return {
          id,
          units: [pick(UNITS)],
          checkIn,
          checkOut,
          status: rnd() < 0.8 ? "confirmed" : "cancelled",
        };
      };
      await writeBookings(db.sql, tenantId, [1, 2, 3, 4, 5, 6].map(booking), NOW);
      const res = await Promise.all([1, 2, 3, 4, 5, 6].map((b) => reservationId(db.sql, tenantId, b)));

      const violations: unknown[] = [];
      const errors: string[] = [];
      let done = false;
      const counts = { pages: 0, actions: 0, refused: 0, reconciles: 0, checks: 0 };

      const syncLoop = async () => {
        for (let i = 0; i < ROUNDS; i++) {
          const ids = [...new Set([pick([1, 2, 3, 4, 5, 6]), pick([1, 2, 3, 4, 5, 6])])];
          await writeBookings(db.sql, tenantId, ids.map(booking), NOW);
          counts.pages++;
        }
      };
      const operatorLoop = async () => {
        const blocks: string[] = [];
        for (let i = 0; i < ROUNDS; i++) {
          const kind = pick(
            [
              "check_in",
              "check_out",
              "undo_check_in",
              "undo_check_out",
              "set_housekeeping",
              "block",
              "unblock",
            ] as const,
          );
          let a: OperatorAction;
          if (kind === "set_housekeeping") {
            a = {
              tenantId,
              action: kind,
              unitId: units[pick(UNITS)],
              housekeeping: pick(["clean", "dirty", "inspected"] as const),
            };
          } else if (kind === "block") {
            a = {
              tenantId,
              action: kind,
              unitId: units[pick(UNITS)],
              kind: "out_of_order",
              startsOn: "2027-09-15",
              endsOn: "2027-09-16",
              reason: "Race",
              force: rnd() < 0.5,
            };
          } else if (kind === "unblock") {
            if (!blocks.length) continue;
            a = { tenantId, action: kind, blockId: blocks.shift()! };
          } else {
            a = { tenantId, action: kind, reservationId: pick(res) };
          }
          try {
            const r = await performAction(db.sql, a, "race", NOW);
            if (r.blockId && kind === "block") blocks.push(r.blockId);
            counts.actions++;
          } catch (e) {
            if ((e as { code?: string }).code === "INVALID_OPERATION") counts.refused++;
            else throw e;
          }
        }
      };
      const reconcileLoop = async () => {
        for (let i = 0; i < ROUNDS / 2; i++) {
          await reconcileRoomStatus(db.sql, tenantId, NOW);
          counts.reconciles++;
        }
      };
      const checker = async () => {
        while (!done) {
          const bad = await db.sql`select * from sync.room_status_unexplained(${tenantId})`;
          if (bad.length) violations.push(...bad);
          counts.checks++;
        }
      };

      const check = checker();
      await Promise.all(
        [syncLoop(), syncLoop(), operatorLoop(), reconcileLoop()].map((p) =>
          p.catch((e) => errors.push(String(e)))
        ),
      );
      done = true;
      await check;

      expect(errors).toEqual([]); // no deadlock, no failed page
      expect(violations).toEqual([]);
      expect(counts.checks).toBeGreaterThan(10);
      expect(counts.actions).toBeGreaterThan(5);
      // The writers kept it exact: a last reconciliation has nothing to fix, and none ever found drift.
      expect((await reconcileRoomStatus(db.sql, tenantId, NOW)).changed).toBe(0);
      const [{ drift }] = await db.sql`
      select count(*)::int as drift from hotels.room_status_changes where tenant_id = ${tenantId} and cause = 'drift'`;
      expect(drift).toBe(0);
      // Stored stay states are the rule's too.
      const stale = await db.sql`
      select ra.id from public.reservation_accommodations ra join public.guest_reservations r on r.id = ra.reservation_id
      where ra.tenant_id = ${tenantId} and ra.stay_state <> sync.stay_state(r.status, r.removed_upstream_at is not null,
        sync.local_moment(r.check_in_date, coalesce(r.check_in_time, sync.default_check_in_time()), 'Europe/Madrid'),
        sync.local_moment(r.check_out_date, coalesce(r.check_out_time, sync.default_check_out_time()), 'Europe/Madrid'),
        ra.checked_in_at, ra.checked_out_at, ra.hold_arrival, ra.hold_departure, ${NOW})`;
      expect(stale).toEqual([]);
      console.log(`[room-status races] ${JSON.stringify(counts)}`);
    },
    120_000,
  );
});
