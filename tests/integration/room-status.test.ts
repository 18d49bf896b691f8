// Room status against the real migrations: stays and the time rule (with DST), derivation on every
// writer, drift repair, overbooking conflicts, the guest chat's view, and operator validation.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { performAction } from "../../supabase/functions/_shared/rooms/actions.ts";
import { reconcileRoomStatus } from "../../supabase/functions/_shared/rooms/reconcile.ts";
import { createTestDatabase, insertTenant, type TestDatabase } from "../helpers/db.ts";
import { addUnits, at, unitStatus, writeBookings } from "../helpers/rooms.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(6);
});
afterAll(async () => {
  await db?.drop();
});

async function hotel(units = [101, 102, 103]) {
  const tenantId = await insertTenant(db.sql); // Europe/Madrid
  const ids = await addUnits(db.sql, tenantId, units);
  return { tenantId, ids };
}

const stayState = async (tenantId: string, booking: number) => {
  const [r] = await db.sql`
    select ra.stay_state from public.reservation_accommodations ra join public.guest_reservations g on g.id = ra.reservation_id
    where g.tenant_id = ${tenantId} and g.external_booking_id = ${
    String(booking)
  } order by ra.position limit 1`;
  return r.stay_state;
};

describe("time rule at the hotel's local times, across DST (Europe/Madrid)", () => {
  it("spring forward (2027-03-28): check-in 15:00 CEST = 13:00 UTC, check-out 11:00 CEST = 09:00 UTC", async () => {
    const { tenantId, ids } = await hotel();
    await writeBookings(db.sql, tenantId, [{
      id: 1,
      units: [101],
      checkIn: "2027-03-28",
      checkOut: "2027-03-30",
    }], at("2027-03-27T12:00:00Z"));
    expect((await unitStatus(db.sql, ids[101])).room_status).toBe("available");
    expect(await stayState(tenantId, 1)).toBe("expected");

    const steps: [string, string, string, string][] = [
      ["2027-03-27T23:30:00Z", "reserved", "expected", "schedule"], // 00:30 local on the 28th: arrival day
      ["2027-03-28T12:59:00Z", "reserved", "expected", ""],
      ["2027-03-28T13:00:00Z", "occupied", "in_house", "schedule"], // 15:00 CEST (14:00 UTC would be the CET mistake)
      ["2027-03-30T08:59:00Z", "occupied", "in_house", ""],
      ["2027-03-30T09:00:00Z", "dirty", "departed", "schedule"], // 11:00 CEST
    ];
    for (const [now, status, state, cause] of steps) {
      const report = await reconcileRoomStatus(db.sql, tenantId, at(now));
      const u = await unitStatus(db.sql, ids[101]);
      expect([now, u.room_status, await stayState(tenantId, 1)]).toEqual([now, status, state]);
      const mine = report.changes.filter((c) => c.unitId === ids[101]);
      expect(mine.map((c) => c.cause)).toEqual(cause ? [cause] : []);
    }
    expect((await unitStatus(db.sql, ids[101])).housekeeping).toBe("dirty"); // a check-out makes it dirty
    expect((await unitStatus(db.sql, ids[101])).room_status_reason).toMatch(
      /^Dirty: guest checked out at 2027-03-30 11:00/,
    );
  });

  it("fall back (2027-10-31) with the booking's own times: 14:00 CEST = 12:00 UTC in, 12:00 CET = 11:00 UTC out", async () => {
    const { tenantId, ids } = await hotel();
    await writeBookings(db.sql, tenantId, [{
      id: 2,
      units: [102],
      checkIn: "2027-10-30",
      checkOut: "2027-10-31",
      checkInTime: "14:00:00",
      checkOutTime: "12:00:00",
    }], at("2027-10-29T12:00:00Z"));
    const statusAt = async (now: string) => {
      await reconcileRoomStatus(db.sql, tenantId, at(now));
      return (await unitStatus(db.sql, ids[102])).room_status;
    };
    expect(await statusAt("2027-10-30T11:59:00Z")).toBe("reserved");
    expect(await statusAt("2027-10-30T12:00:00Z")).toBe("occupied");
    expect(await statusAt("2027-10-31T10:59:00Z")).toBe("occupied"); // 11:59 CET
    expect(await statusAt("2027-10-31T11:00:00Z")).toBe("dirty"); // 12:00 CET (10:00 UTC would be the CEST mistake)
  });
});

describe("every writer recomputes in its own transaction", () => {
  it("a sync page that cancels, moves or removes a stay updates both units at once, cause sync", async () => {
    const { tenantId, ids } = await hotel();
    const now = at("2027-05-10T14:00:00Z"); // 16:00 local: arrivals of the 10th are in house
    await writeBookings(db.sql, tenantId, [{
      id: 10,
      units: [101],
      checkIn: "2027-05-10",
      checkOut: "2027-05-12",
    }], now);
    expect((await unitStatus(db.sql, ids[101])).room_status).toBe("occupied");
    // Moved upstream to 102.
    await writeBookings(db.sql, tenantId, [{
      id: 10,
      units: [102],
      checkIn: "2027-05-10",
      checkOut: "2027-05-12",
    }], now);
    expect((await unitStatus(db.sql, ids[101])).room_status).toBe("available");
    expect((await unitStatus(db.sql, ids[102])).room_status).toBe("occupied");
    // Cancelled upstream.
    await writeBookings(db.sql, tenantId, [{
      id: 10,
      units: [102],
      checkIn: "2027-05-10",
      checkOut: "2027-05-12",
      status: "cancelled",
    }], now);
    expect((await unitStatus(db.sql, ids[102])).room_status).toBe("available");
    expect(await stayState(tenantId, 10)).toBe("cancelled");
    // Confirmed again, then removed upstream (the removal marking is a plain update).
    await writeBookings(db.sql, tenantId, [{
      id: 10,
      units: [102],
      checkIn: "2027-05-10",
      checkOut: "2027-05-12",
    }], now);
    expect((await unitStatus(db.sql, ids[102])).room_status).toBe("occupied");
    await db.sql.begin(async (tx) => {
      await tx`select set_config('sync.room_status_now', ${now.toISOString()}, true)`;
      await tx`update public.guest_reservations set removed_upstream_at = now() where tenant_id = ${tenantId} and external_booking_id = '10'`;
    });
    expect((await unitStatus(db.sql, ids[102])).room_status).toBe("available");
    const changes = await db.sql`
      select from_status, to_status, cause from hotels.room_status_changes where tenant_id = ${tenantId} order by id`;
    expect(changes.map((c) => `${c.from_status}>${c.to_status}:${c.cause}`)).toEqual([
      "available>occupied:sync", // 101
      "occupied>available:sync", // 101 (moved away)
      "available>occupied:sync", // 102
      "occupied>available:sync", // cancelled
      "available>occupied:sync",
      "occupied>available:sync", // removed
    ]);
    expect(await db.sql`select * from sync.room_status_unexplained(${tenantId})`).toEqual([]);
  });

  it("an unchanged re-sync writes no unit and records nothing", async () => {
    const { tenantId, ids } = await hotel();
    const now = at("2027-05-10T14:00:00Z");
    const b = [{ id: 20, units: [101], checkIn: "2027-05-10", checkOut: "2027-05-12" }];
    await writeBookings(db.sql, tenantId, b, now);
    const before = await unitStatus(db.sql, ids[101]);
    await writeBookings(db.sql, tenantId, b, at("2027-05-10T15:00:00Z"));
    expect(await unitStatus(db.sql, ids[101])).toEqual(before);
  });
});

describe("reconciliation", () => {
  it("repairs a unit set to occupied by hand with no stay behind it, recorded as drift", async () => {
    const { tenantId, ids } = await hotel();
    await db
      .sql`update hotels.accommodation_units set room_status = 'occupied', room_status_reason = 'Occupied: edited by hand'
                 where id = ${ids[103]}`;
    expect(await db.sql`select unit_id, stored, derived from sync.room_status_unexplained(${tenantId})`)
      .toEqual([{ unit_id: ids[103], stored: "occupied", derived: "available" }]);
    const report = await reconcileRoomStatus(db.sql, tenantId);
    expect(report.checked).toBe(3);
    expect(report.changes).toEqual([{
      tenantId,
      unitId: ids[103],
      from: "occupied",
      to: "available",
      reason: expect.stringMatching(/^Available/),
      cause: "drift",
    }]);
    expect((await unitStatus(db.sql, ids[103])).room_status).toBe("available");
    const [logged] = await db.sql`
      select from_status, to_status, cause from hotels.room_status_changes where accommodation_unit_id = ${
      ids[103]
    }`;
    expect(logged).toEqual({ from_status: "occupied", to_status: "available", cause: "drift" });
    // A second pass finds nothing.
    expect((await reconcileRoomStatus(db.sql, tenantId)).changed).toBe(0);
  });

  it("a tenant with no units is a no-op report", async () => {
    const tenantId = await insertTenant(db.sql);
    expect(await reconcileRoomStatus(db.sql, tenantId)).toEqual({ checked: 0, changed: 0, changes: [] });
  });
});

describe("overbooking conflicts", () => {
  it("flags overlapping active stays in the writing transaction, not back-to-back ones, and resolves them", async () => {
    const { tenantId } = await hotel();
    const now = at("2027-06-01T10:00:00Z");
    await writeBookings(db.sql, tenantId, [
      { id: 30, units: [101], checkIn: "2027-06-10", checkOut: "2027-06-13" },
      { id: 31, units: [101], checkIn: "2027-06-13", checkOut: "2027-06-15" }, // back to back: fine
    ], now);
    const open = () =>
      db.sql`
      select g1.external_booking_id as a, g2.external_booking_id as b, c.nights::text, c.accommodation_unit_id
      from hotels.booking_conflicts c
      join public.guest_reservations g1 on g1.id = c.reservation_id join public.guest_reservations g2 on g2.id = c.other_reservation_id
      where c.tenant_id = ${tenantId} and c.resolved_at is null`;
    expect(await open()).toEqual([]);
    // An iCal import over both nights of 31's stay and one of 30's: both reservations, the overlapping nights.
    await writeBookings(db.sql, tenantId, [{
      id: 32,
      units: [101],
      checkIn: "2027-06-12",
      checkOut: "2027-06-14",
    }], now);
    const flagged = await open();
    expect(flagged.map((c) => [[c.a, c.b].sort().join("+"), c.nights]).sort()).toEqual([
      ["30+32", "[2027-06-12,2027-06-13)"],
      ["31+32", "[2027-06-13,2027-06-14)"],
    ]);
    // Moving 32 shrinks the overlap with 31; cancelling 31 resolves it; moving 30 away resolves the other.
    await writeBookings(db.sql, tenantId, [{
      id: 31,
      units: [101],
      checkIn: "2027-06-13",
      checkOut: "2027-06-15",
      status: "cancelled",
    }], now);
    expect((await open()).map((c) => [c.a, c.b].sort().join("+"))).toEqual(["30+32"]);
    await writeBookings(db.sql, tenantId, [{
      id: 30,
      units: [102],
      checkIn: "2027-06-10",
      checkOut: "2027-06-13",
    }], now);
    expect(await open()).toEqual([]);
    const [{ n }] = await db
      .sql`select count(*)::int as n from hotels.booking_conflicts where tenant_id = ${tenantId} and resolved_at is not null`;
    expect(n).toBe(2);
    // Nothing was rejected.
    const [{ r }] = await db
      .sql`select count(*)::int as r from public.guest_reservations where tenant_id = ${tenantId}`;
    expect(r).toBe(3);
  });
});

describe("the guest chat's view", () => {
  it("gives each booked unit, its status and whether the room is ready", async () => {
    const { tenantId, ids } = await hotel();
    const now = at("2027-07-01T10:00:00Z"); // 12:00 local
    await writeBookings(db.sql, tenantId, [
      { id: 40, units: [101, 102], checkIn: "2027-07-01", checkOut: "2027-07-03" }, // arrives today, two rooms
      { id: 41, units: [103], checkIn: "2027-06-29", checkOut: "2027-07-01" }, // left at 11:00 today: 103 dirty
      { id: 42, units: [103], checkIn: "2027-07-01", checkOut: "2027-07-02" }, // arrives into the dirty room
    ], now);
    const rows = await db.sql`
      select external_booking_id, unit_name, stay_state, room_status, housekeeping, ready from public.reservation_room_status
      where tenant_id = ${tenantId} order by external_booking_id, position`;
    expect(rows).toEqual([
      {
        external_booking_id: "40",
        unit_name: "Room 101",
        stay_state: "expected",
        room_status: "reserved",
        housekeeping: "clean",
        ready: true,
      },
      {
        external_booking_id: "40",
        unit_name: "Room 102",
        stay_state: "expected",
        room_status: "reserved",
        housekeeping: "clean",
        ready: true,
      },
      {
        external_booking_id: "41",
        unit_name: "Room 103",
        stay_state: "departed",
        room_status: "dirty",
        housekeeping: "dirty",
        ready: false,
      },
      {
        external_booking_id: "42",
        unit_name: "Room 103",
        stay_state: "expected",
        room_status: "dirty",
        housekeeping: "dirty",
        ready: false,
      },
    ]);
    await performAction(
      db.sql,
      { tenantId, action: "set_housekeeping", unitId: ids[103], housekeeping: "inspected" },
      "test",
      now,
    );
    const [r42] = await db
      .sql`select room_status, ready from public.reservation_room_status where external_booking_id = '42' and tenant_id = ${tenantId}`;
    expect(r42).toEqual({ room_status: "reserved", ready: true });
  });
});
