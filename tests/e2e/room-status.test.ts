// The room-status function over HTTP (real Deno, real PostgreSQL, the simulator): the board after a
// sync, operator actions with the contract's envelope (400/404/409), reconciliation repairing a
// hand-made drift, and the health report's room-status figures.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../helpers/stack.ts";
import { type SimSite, startSite, tenantForSite, waitForRun } from "../helpers/sim.ts";

let stack: Stack;
let site: SimSite;
let tenantId: string;
let unitId: string; // our unit, with one booking arriving today
let otherUnitId: string;
let reservationId: string;
const madridToday = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Madrid" }).format(new Date());
const addDays = (d: string, n: number) =>
  new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  stack = await startStack();
  site = await startSite({ seed: 33, hotel: { bookings: 60 } });
  // Arrivals are expected until 23:59 local, so "arrives today" holds whenever the test runs.
  site.sim.setSite({ checkInTime: "23:59", checkOutTime: "00:01" });
  const typeId = site.sim.listTypes()[0].id;
  const unit = site.sim.addUnit({ typeId, title: "Garden Suite" });
  site.sim.addUnit({ typeId, title: "Roof Suite" });
  const today = madridToday();
  const booking = site.sim.addBooking({
    checkIn: today,
    checkOut: addDays(today, 2),
    rooms: [unit],
    status: "confirmed",
    customer: { first_name: "Ada", last_name: "Lovelace" },
  });
  tenantId = await tenantForSite(stack.db.sql, site);
  const run = await waitForRun(
    stack.db.sql,
    (await stack.call("sync-command-center", { tenantId })).body.runId,
  );
  expect(run.status, run.error_message).toBe("completed");
  [{ id: unitId }] = await stack.db
    .sql`select id from hotels.accommodation_units where tenant_id = ${tenantId} and motopress_unit_id = ${unit}`;
  [{ id: otherUnitId }] = await stack.db.sql`
    select id from hotels.accommodation_units where tenant_id = ${tenantId} and name = 'Roof Suite'`;
  [{ id: reservationId }] = await stack.db.sql`
    select id from public.guest_reservations where tenant_id = ${tenantId} and external_booking_id = ${
    String(booking)
  }`;
}, 120_000);
afterAll(async () => {
  await site?.close();
  await stack?.close();
});

const board = async () =>
  (await stack.call(`room-status?tenantId=${tenantId}`, undefined, { method: "GET" })).body;
const post = (body: unknown) => stack.call("room-status", body);

describe("room-status over HTTP", () => {
  it("the board after a sync: every unit, derived status, today's arrival, nothing unexplained", async () => {
    const b = await board();
    const [{ n }] = await stack.db
      .sql`select count(*)::int as n from hotels.accommodation_units where tenant_id = ${tenantId}`;
    expect(b.units).toHaveLength(n);
    expect(b).toMatchObject({ tenantId, timezone: "Europe/Madrid", today: madridToday() });
    const mine = b.units.find((u: { unitId: string }) => u.unitId === unitId);
    expect(mine).toMatchObject({
      name: "Garden Suite",
      status: "reserved",
      housekeeping: "clean",
      block: null,
      inHouse: null,
      nextArrival: {
        reservationId,
        guestName: "Ada Lovelace",
        checkInDate: madridToday(),
        stayState: "expected",
      },
      openConflicts: 0,
    });
    expect(mine.reason).toMatch(/^Reserved: booking \d+ \(Ada Lovelace\) arrives today$/);
    expect(Object.values(b.counts).reduce((x: number, y) => x + (y as number), 0)).toBe(n);
    expect(await stack.db.sql`select * from sync.room_status_unexplained(${tenantId})`).toEqual([]);
  });

  it("400 naming the field for malformed actions; 404 for unknown tenant, unit, reservation", async () => {
    const cases: [unknown, string][] = [
      [{ tenantId, action: "check_in" }, "reservationId"],
      [{ tenantId, action: "teleport" }, "action"],
      [{ tenantId, action: "check_in", reservationId, extra: 1 }, "extra"],
      [{ tenantId, action: "set_housekeeping", unitId, housekeeping: "sparkling" }, "housekeeping"],
      [{
        tenantId,
        action: "block",
        unitId,
        kind: "out_of_order",
        startsOn: "2030-01-05",
        endsOn: "2030-01-04",
        reason: "x",
      }, "endsOn"],
      [{
        tenantId,
        action: "block",
        unitId,
        kind: "out_of_order",
        startsOn: "2030-01-05",
        endsOn: "2030-01-05",
        reason: "x",
      }, "endsOn"],
      [{
        tenantId,
        action: "block",
        unitId,
        kind: "out_of_order",
        startsOn: "5 Jan",
        endsOn: "2030-01-06",
        reason: "x",
      }, "startsOn"],
      [{ tenantId: "nope", action: "reconcile" }, "tenantId"],
    ];
    for (const [body, field] of cases) {
      const res = await post(body);
      expect([res.status, res.body.error.code], JSON.stringify(body)).toEqual([400, "INVALID_REQUEST"]);
      expect(res.body.error.fields.map((f: { field: string }) => f.field), JSON.stringify(body)).toContain(
        field,
      );
    }
    expect((await stack.call("room-status", undefined, { method: "GET" })).body.error.fields[0].field).toBe(
      "tenantId",
    );
    const missing = crypto.randomUUID();
    expect(
      (await stack.call(`room-status?tenantId=${missing}`, undefined, { method: "GET" })).body.error.code,
    ).toBe("TENANT_NOT_FOUND");
    expect((await post({ tenantId: missing, action: "reconcile" })).status).toBe(404);
    expect((await post({ tenantId, action: "check_in", reservationId: missing })).body.error.code).toBe(
      "RESERVATION_NOT_FOUND",
    );
    expect(
      (await post({ tenantId, action: "set_housekeeping", unitId: missing, housekeeping: "clean" })).body
        .error.code,
    )
      .toBe("UNIT_NOT_FOUND");
    expect((await post({ tenantId, action: "unblock", blockId: missing })).body.error.code).toBe(
      "BLOCK_NOT_FOUND",
    );
    expect(
      (await stack.call("room-status", { action: "reconcile" }, {
        headers: { authorization: "Bearer wrong-key-0123456789" },
      })).status,
    )
      .toBe(401);
  });

  it("409 INVALID_OPERATION with reasons and nothing written; then check-in, check-out and housekeeping", async () => {
    const refused = await post({ tenantId, action: "check_out", reservationId });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: "INVALID_OPERATION",
      reasons: [expect.stringMatching(/is not in house/)],
    });
    const block = await post({
      tenantId,
      action: "block",
      unitId,
      kind: "out_of_service",
      startsOn: madridToday(),
      endsOn: addDays(madridToday(), 1),
      reason: "Boiler",
    });
    expect(block.status).toBe(409);
    expect(block.body.error.reasons[0]).toMatch(/arrives today/);
    const [{ blocks }] = await stack.db
      .sql`select count(*)::int as blocks from hotels.unit_blocks where tenant_id = ${tenantId}`;
    expect(blocks).toBe(0);

    const checkIn = await post({ tenantId, action: "check_in", reservationId });
    expect(checkIn.status, JSON.stringify(checkIn.body)).toBe(200);
    expect(checkIn.body).toMatchObject({
      action: "check_in",
      changes: [{ unitId, from: "reserved", to: "occupied", cause: "operator" }],
      units: [{ unitId, status: "occupied", inHouse: { reservationId, stayState: "in_house" } }],
    });
    const [guest] = await stack.db
      .sql`select stay_state, room_status, ready from public.reservation_room_status where reservation_id = ${reservationId}`;
    expect(guest).toEqual({ stay_state: "in_house", room_status: "occupied", ready: true });
    const out = await post({ tenantId, action: "check_out", reservationId });
    expect(out.body.units[0]).toMatchObject({ status: "dirty", housekeeping: "dirty", inHouse: null });
    const clean = await post({ tenantId, action: "set_housekeeping", unitId, housekeeping: "inspected" });
    expect(clean.body.changes).toEqual([expect.objectContaining({ from: "dirty", to: "available" })]);
    const [{ actions }] = await stack.db.sql`
      select count(*)::int as actions from hotels.room_status_actions where tenant_id = ${tenantId} and actor = 'admin key'`;
    expect(actions).toBe(3);
  });

  it("reconcile repairs a status set by hand and the health report counts the drift", async () => {
    await stack.db
      .sql`update hotels.accommodation_units set room_status = 'occupied' where id = ${otherUnitId}`;
    const res = await post({ tenantId, action: "reconcile" });
    expect(res.status).toBe(200);
    expect(res.body.checked).toBeGreaterThan(1);
    expect(res.body.changes).toEqual([
      expect.objectContaining({ unitId: otherUnitId, from: "occupied", to: "available", cause: "drift" }),
    ]);
    expect((await post({ tenantId, action: "reconcile" })).body).toMatchObject({ changed: 0, changes: [] });
    const health =
      (await stack.call(`sync-command-center?tenantId=${tenantId}`, undefined, { method: "GET" })).body
        .tenants[0];
    expect(health.integrity.roomStatusDrift).toBe(1);
    expect(health.roomStatus.units).toMatchObject({
      available: expect.any(Number),
      occupied: expect.any(Number),
    });
    expect(health.roomStatus.changesLast24h).toBeGreaterThanOrEqual(4);
  });
});

describe("a tenant's sync starts with a reconciliation", () => {
  it("repairs drift before it syncs, recorded as drift", async () => {
    await stack.db
      .sql`update hotels.accommodation_units set room_status = 'out_of_service' where id = ${otherUnitId}`;
    const run = await waitForRun(
      stack.db.sql,
      (await stack.call("motopress-bookings", { tenantId })).body.runId,
    );
    expect(run.status, run.error_message).toBe("completed");
    const [last] = await stack.db.sql`
      select from_status, to_status, cause, created_at from hotels.room_status_changes
      where accommodation_unit_id = ${otherUnitId} order by id desc limit 1`;
    expect(last).toMatchObject({ from_status: "out_of_service", to_status: "available", cause: "drift" });
    expect(last.created_at.getTime()).toBeLessThanOrEqual(run.completed_at.getTime());
  });
});
