// Operator actions: every validation refusal (409 INVALID_OPERATION with reasons, nothing written),
// the allowed transitions with undo, forced blocks, and the action log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OperatorAction, performAction } from "../../supabase/functions/_shared/rooms/actions.ts";
import { InvalidOperationError } from "../../supabase/functions/_shared/errors.ts";
import { fromDomainError } from "../../supabase/functions/_shared/http/errors.ts";
import { createTestDatabase, insertTenant, type TestDatabase } from "../helpers/db.ts";
import { addUnits, at, reservationId, unitStatus, writeBookings } from "../helpers/rooms.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(4);
});
afterAll(async () => {
  await db?.drop();
});

// 10:00 local in Madrid on 2027-08-10: before the 15:00 check-in, after the 11:00 check-out.
const NOW = at("2027-08-10T08:00:00Z");
const TODAY = "2027-08-10";

async function setup() {
  const tenantId = await insertTenant(db.sql);
  const ids = await addUnits(db.sql, tenantId, [201, 202, 203, 204]);
  await writeBookings(db.sql, tenantId, [
    { id: 1, units: [201], checkIn: TODAY, checkOut: "2027-08-12" }, // arrives today
    { id: 2, units: [202], checkIn: "2027-08-11", checkOut: "2027-08-13" }, // arrives tomorrow
    { id: 3, units: [203], checkIn: TODAY, checkOut: "2027-08-12", status: "cancelled" },
    { id: 4, units: [204], checkIn: "2027-08-08", checkOut: "2027-08-11" }, // in house (time rule)
    { id: 5, units: [204], checkIn: TODAY, checkOut: "2027-08-11" }, // overbooked onto 204, arrives today
  ], NOW);
  const res = Object.fromEntries(
    await Promise.all([1, 2, 3, 4, 5].map(async (b) => [b, await reservationId(db.sql, tenantId, b)])),
  );
  return { tenantId, ids, res };
}

async function refused(action: OperatorAction): Promise<string[]> {
  const snapshot = () =>
    db.sql`
    select (select jsonb_agg(to_jsonb(u) order by u.id) from hotels.accommodation_units u where u.tenant_id = ${action.tenantId}) as units,
           (select jsonb_agg(to_jsonb(s) order by s.id) from public.reservation_accommodations s where s.tenant_id = ${action.tenantId}) as stays,
           (select count(*) from hotels.unit_blocks b where b.tenant_id = ${action.tenantId}) as blocks,
           (select count(*) from hotels.room_status_actions a where a.tenant_id = ${action.tenantId}) as actions,
           (select count(*) from hotels.room_status_changes c where c.tenant_id = ${action.tenantId}) as changes`;
  const before = await snapshot();
  const err = await performAction(db.sql, action, "test", NOW).then(() => null, (e) => e);
  expect(err).toBeInstanceOf(InvalidOperationError);
  expect([fromDomainError(err).status, err.code]).toEqual([409, "INVALID_OPERATION"]);
  expect(await snapshot()).toEqual(before); // nothing written
  return err.details.reasons as string[];
}

describe("validation before an operator action runs", () => {
  it("refuses check-in of a cancelled stay", async () => {
    const { tenantId, res } = await setup();
    expect(await refused({ tenantId, action: "check_in", reservationId: res[3] })).toEqual([
      expect.stringMatching(/Booking 3 on Room 203 is cancelled \(status cancelled\)/),
    ]);
  });

  it("refuses check-in of a stay not arriving today", async () => {
    const { tenantId, res } = await setup();
    expect(await refused({ tenantId, action: "check_in", reservationId: res[2] })).toEqual([
      expect.stringMatching(/arrives on 2027-08-11, not today \(2027-08-10\)/),
    ]);
  });

  it("refuses check-in onto a blocked unit", async () => {
    const { tenantId, ids, res } = await setup();
    // Blocking over today's arrival needs force; the check-in then meets the block.
    await performAction(
      db.sql,
      {
        tenantId,
        action: "block",
        unitId: ids[201],
        kind: "out_of_order",
        startsOn: TODAY,
        endsOn: "2027-08-11",
        reason: "Water leak",
        force: true,
      },
      "test",
      NOW,
    );
    expect(await refused({ tenantId, action: "check_in", reservationId: res[1] })).toEqual([
      expect.stringMatching(/Room 201 is blocked \(out of order until 2027-08-11: Water leak\)/),
    ]);
  });

  it("refuses check-in onto a unit with another guest in house", async () => {
    const { tenantId, res } = await setup();
    expect(await refused({ tenantId, action: "check_in", reservationId: res[5] })).toEqual([
      expect.stringMatching(/Room 204 has another guest in house \(booking 4\)/),
    ]);
  });

  it("refuses check-out (and undo of check-in) of a stay not in house, and undo of a check-out that did not happen", async () => {
    const { tenantId, res } = await setup();
    expect(await refused({ tenantId, action: "check_out", reservationId: res[1] })).toEqual([
      expect.stringMatching(/Booking 1 on Room 201 is not in house \(it is expected\)/),
    ]);
    expect(await refused({ tenantId, action: "undo_check_in", reservationId: res[2] })).toEqual([
      expect.stringMatching(/not in house/),
    ]);
    expect(await refused({ tenantId, action: "undo_check_out", reservationId: res[4] })).toEqual([
      expect.stringMatching(/Booking 4 on Room 204 has not checked out \(it is in house\)/),
    ]);
  });

  it("refuses a block over an in-house stay or today's arrival unless forced, and records the force", async () => {
    const { tenantId, ids } = await setup();
    const block = (unit: number, force?: boolean): OperatorAction => ({
      tenantId,
      action: "block",
      unitId: ids[unit],
      kind: "out_of_service",
      startsOn: TODAY,
      endsOn: "2027-08-15",
      reason: "Repainting",
      ...(force === undefined ? {} : { force }),
    });
    expect(await refused(block(204))).toEqual([
      expect.stringMatching(/Booking 4 on Room 204 is in house until 2027-08-11/),
      expect.stringMatching(/Booking 5 on Room 204 arrives today/),
      "Send force: true to block anyway (recorded).",
    ]);
    expect(await refused(block(201))).toEqual([
      expect.stringMatching(/Booking 1 on Room 201 arrives today/),
      "Send force: true to block anyway (recorded).",
    ]);
    // A block that starts after the in-house stay leaves is fine.
    await performAction(db.sql, { ...block(204), startsOn: "2027-08-11" } as OperatorAction, "test", NOW);
    const forced = await performAction(db.sql, block(201, true), "alice", NOW);
    expect(forced.changes).toEqual([
      expect.objectContaining({ from: "reserved", to: "out_of_service", cause: "operator" }),
    ]);
    const [b] = await db.sql`select forced, created_by from hotels.unit_blocks where id = ${forced.blockId!}`;
    expect(b).toEqual({ forced: true, created_by: "alice" });
    const [logged] = await db
      .sql`select action, forced, actor, created_at from hotels.room_status_actions where block_id = ${forced
      .blockId!}`;
    expect(logged).toEqual({ action: "block", forced: true, actor: "alice", created_at: NOW });
  });

  it("404s unknown reservations, units and blocks", async () => {
    const { tenantId, ids } = await setup();
    const missing = crypto.randomUUID();
    const codes = await Promise.all(([
      { tenantId, action: "check_in", reservationId: missing },
      { tenantId, action: "set_housekeeping", unitId: missing, housekeeping: "clean" },
      { tenantId, action: "unblock", blockId: missing },
      { tenantId: missing, action: "set_housekeeping", unitId: ids[201], housekeeping: "clean" },
    ] as OperatorAction[]).map((a) =>
      performAction(db.sql, a, "test", NOW).then(() => null, (e) => [fromDomainError(e).status, e.code])
    ));
    expect(codes).toEqual([
      [404, "RESERVATION_NOT_FOUND"],
      [404, "UNIT_NOT_FOUND"],
      [404, "BLOCK_NOT_FOUND"],
      [404, "TENANT_NOT_FOUND"],
    ]);
  });
});

describe("operator transitions", () => {
  it("check-in, check-out (dirty), undo of each, housekeeping and unblock move the status, recorded as operator", async () => {
    const { tenantId, ids, res } = await setup();
    const status = async () => (await unitStatus(db.sql, ids[201])).room_status;
    expect(await status()).toBe("reserved");
    await performAction(db.sql, { tenantId, action: "check_in", reservationId: res[1] }, "bob", NOW); // early check-in
    expect(await status()).toBe("occupied");
    await performAction(db.sql, { tenantId, action: "undo_check_in", reservationId: res[1] }, "bob", NOW);
    expect(await status()).toBe("reserved");
    // An undone check-in holds the time rule off: at 16:00 local it is still expected.
    const later = at("2027-08-10T14:00:00Z");
    await performAction(
      db.sql,
      { tenantId, action: "check_in", reservationId: res[1], unitId: ids[201] },
      "bob",
      later,
    );
    expect(await status()).toBe("occupied");
    await performAction(db.sql, { tenantId, action: "check_out", reservationId: res[1] }, "bob", later);
    expect([await status(), (await unitStatus(db.sql, ids[201])).housekeeping]).toEqual(["dirty", "dirty"]);
    await performAction(db.sql, { tenantId, action: "undo_check_out", reservationId: res[1] }, "bob", later);
    expect(await status()).toBe("occupied");
    await performAction(db.sql, { tenantId, action: "check_out", reservationId: res[1] }, "bob", later);
    await performAction(
      db.sql,
      { tenantId, action: "set_housekeeping", unitId: ids[201], housekeeping: "clean" },
      "carol",
      later,
    );
    expect(await status()).toBe("available");
    const blocked = await performAction(
      db.sql,
      {
        tenantId,
        action: "block",
        unitId: ids[201],
        kind: "out_of_service",
        startsOn: TODAY,
        endsOn: "2027-08-11",
        reason: "Deep clean",
      },
      "carol",
      later,
    );
    expect(await status()).toBe("out_of_service");
    await performAction(db.sql, { tenantId, action: "unblock", blockId: blocked.blockId! }, "carol", later);
    expect(await status()).toBe("available");

    const changes = await db.sql`
      select from_status || '>' || to_status as t, cause from hotels.room_status_changes
      where accommodation_unit_id = ${ids[201]} and cause = 'operator' order by id`;
    expect(changes.map((c) => c.t)).toEqual([
      "reserved>occupied",
      "occupied>reserved",
      "reserved>occupied",
      "occupied>dirty",
      "dirty>occupied",
      "occupied>dirty",
      "dirty>available",
      "available>out_of_service",
      "out_of_service>available",
    ]);
    const actions = await db
      .sql`select action, actor from hotels.room_status_actions where tenant_id = ${tenantId} order by id`;
    expect(actions.map((a) => `${a.action}:${a.actor}`)).toEqual([
      "check_in:bob",
      "undo_check_in:bob",
      "check_in:bob",
      "check_out:bob",
      "undo_check_out:bob",
      "check_out:bob",
      "set_housekeeping:carol",
      "block:carol",
      "unblock:carol",
    ]);
    expect(await db.sql`select * from sync.room_status_unexplained(${tenantId})`).toEqual([]);
    // Unblocking twice is refused.
    expect(await refused({ tenantId, action: "unblock", blockId: blocked.blockId! })).toEqual([
      expect.stringMatching(/already ended/),
    ]);
  });
});
