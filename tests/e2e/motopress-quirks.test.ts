// A simulated site that uses every quirk of the real plugin, synced by the real functions: the
// database ends equal to the source (the shared oracle), and the health report names what could
// not be stored and why. Then removal by status: trash, restore (draft) and publish again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../helpers/stack.ts";
import { type SimSite, startSite, tenantForSite, waitForRun } from "../helpers/sim.ts";
import { expectDatabaseMatches } from "../helpers/compare.ts";

let stack: Stack;
let site: SimSite;
let tenant: string;
beforeAll(async () => {
  stack = await startStack();
  // Spanish site: "Privado: " / "Protegido: " prefixes; "Caba&ntilde;a" and "Bed &amp; Breakfast" titles;
  // a type listing a deleted service; a pending type; imports quoted and plain.
  site = await startSite({
    seed: 41,
    language: "es",
    hotel: { types: 4, unitsPerType: 3, bookings: 150, hiddenUnits: 1 },
  });
  tenant = await tenantForSite(stack.db.sql, site);
});
afterAll(async () => {
  await site?.close();
  await stack?.close();
});

async function sync(source: "motopress-accommodations" | "motopress-bookings") {
  const res = await stack.call(source, { tenantId: tenant });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const run = await waitForRun(stack.db.sql, res.body.runId);
  expect(run.status, `${source}: ${run.error_code} ${run.error_message}`).toBe("completed");
  return run;
}
async function syncAll() {
  await sync("motopress-accommodations");
  return await sync("motopress-bookings");
}
const removedAt = async (table: "units" | "types" | "reservations", id: number) => {
  const [row] = table === "units"
    ? await stack.db
      .sql`select removed_upstream_at from hotels.accommodation_units where tenant_id = ${tenant} and motopress_unit_id = ${id}`
    : table === "types"
    ? await stack.db
      .sql`select removed_upstream_at from hotels.accommodation_types where tenant_id = ${tenant} and motopress_type_id = ${id}`
    : await stack.db
      .sql`select removed_upstream_at from public.guest_reservations where tenant_id = ${tenant} and external_booking_id = ${
      String(id)
    }`;
  return row?.removed_upstream_at ?? null;
};

describe("a site with every quirk", () => {
  let noRooms: number;
  let unnamedRoom: number;
  let imported: number;

  it("syncs equal to the source: decoded, unprefixed names, stale services dropped, times, phones, unknown guest counts", async () => {
    const sim = site.sim;
    const units = sim.listUnits().filter((u) => !u.hidden && u.status === "publish");
    sim.modifyUnit(units[0].id, { title: "Suite: Sea view &#038; terrace &#8211; 1" }); // a real colon stays
    imported = sim.addBooking({
      checkIn: "2027-02-01",
      checkOut: "2027-02-01",
      rooms: [units[1].id],
      ical: "airbnb-reservation",
    }); // zero nights
    sim.addBooking({
      checkIn: "2027-02-03",
      checkOut: "2027-02-06",
      rooms: [{ unitId: units[2].id, rateId: 0 }],
      customer: { first_name: "Rate", last_name: "Zero", phone: "(555) 01-23" },
    });
    noRooms = sim.addBooking({
      checkIn: "2027-02-07",
      checkOut: "2027-02-08",
      rooms: [],
      customer: { first_name: "No", last_name: "Rooms" },
    });
    unnamedRoom = sim.addBooking({
      checkIn: "2027-02-09",
      checkOut: "2027-02-10",
      rooms: [units[3].id],
      customer: { first_name: "Lost", last_name: "Room" },
    });
    sim.getBooking(unnamedRoom)!.rooms[0].unitId = 0; // the room's accommodation meta is gone
    sim.addAutoDraftBooking(); // by id only; never listed
    sim.setSite({ checkInTime: "16:00:00", checkOutTime: "10:00:00" });

    const run = await syncAll();
    expect(run.stats.counters["booking.quarantined"]).toBe(2);
    await expectDatabaseMatches(stack.db.sql, tenant, sim);

    const names = await stack.db
      .sql`select motopress_unit_id as id, name from hotels.accommodation_units where tenant_id = ${tenant}`;
    const byId = new Map(names.map((n) => [n.id, n.name]));
    const priv = sim.listUnits().find((u) => u.status === "private")!;
    const prot = sim.listUnits().find((u) => u.password)!;
    expect(byId.get(priv.id)).not.toMatch(/^Privado: /);
    expect(byId.get(prot.id)).not.toMatch(/^Protegido: /);
    expect(byId.get(units[0].id)).toBe("Suite: Sea view & terrace \u2013 1");
    expect([...byId.values()].some((n) => n.startsWith("Cabaña Familiar \u2013 "))).toBe(true);
    expect([...byId.values()].some((n) => n.includes("&"))).toBe(true); // "Bed & Breakfast", decoded once
    expect([...byId.values()].every((n) => !/&[#a-z0-9]+;/i.test(n))).toBe(true);

    // The type that lists a deleted service is a real type, not the "Accommodation type #N" placeholder.
    const stale = sim.listTypes().find((t) => t.services.some((x) => x.id === null))!;
    const [type] = await stack.db
      .sql`select name, auto_created, details->'serviceIds' as services from hotels.accommodation_types
      where tenant_id = ${tenant} and motopress_type_id = ${stale.id}`;
    expect(type).toEqual({ name: "Standard Twin Room", auto_created: false, services: [90] });
    const [q] = await stack.db
      .sql`select count(*)::int as n from public.sync_quarantine where tenant_id = ${tenant} and entity = 'accommodation_type'`;
    expect(q.n).toBe(0);
  });

  it("the health report lists the quarantined bookings with readable reasons", async () => {
    const health = await stack.call(`sync-command-center?tenantId=${tenant}`, undefined, { method: "GET" });
    expect(health.status, JSON.stringify(health.body)).toBe(200);
    const t = health.body.tenants.find((x: { tenantId: string }) => x.tenantId === tenant);
    expect(t.integrity.quarantinedItems).toBe(2);
    expect(t.quarantine).toEqual(expect.arrayContaining([
      expect.objectContaining({
        entity: "booking",
        externalId: String(noRooms),
        reason: expect.stringMatching(/no reserved accommodation, so it has no room to link/),
      }),
      expect.objectContaining({
        entity: "booking",
        externalId: String(unnamedRoom),
        reason: expect.stringMatching(/Room 1 of the booking names no accommodation/),
      }),
    ]));
  });

  it("an iCal import that moves in place is updated under the same id", async () => {
    site.sim.modifyBooking(imported, { checkIn: "2027-02-02", checkOut: "2027-02-04" });
    await sync("motopress-bookings");
    const rows = await stack.db
      .sql`select check_in_date::text as "in", check_out_date::text as "out", adults, children
      from public.guest_reservations where tenant_id = ${tenant} and external_booking_id = ${
      String(imported)
    }`;
    expect(rows).toEqual([{ in: "2027-02-02", out: "2027-02-04", adults: null, children: null }]);
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
  });
});

describe("removal by status", () => {
  it("trash by id marks a type, a unit and a booking removed; a restore (draft) keeps them removed; publishing brings them back", async () => {
    const sim = site.sim;
    const unit = sim.listUnits().find((u) => !u.hidden && u.status === "publish")!.id;
    const type =
      sim.listTypes().find((t) => t.status === "publish" && t.id !== sim.getUnit(unit)!.typeId)!.id;
    const booking = sim.listedBookingIds().find((id) =>
      sim.getBooking(id)!.status === "confirmed" && !sim.getBooking(id)!.ical
    )!;

    sim.trashUnit(unit);
    sim.modifyType(type, { status: "trash" });
    sim.trashBooking(booking);
    await syncAll();
    expect(await removedAt("units", unit)).not.toBeNull();
    expect(await removedAt("types", type)).not.toBeNull();
    expect(await removedAt("reservations", booking)).not.toBeNull();
    const [u] = await stack.db
      .sql`select status from hotels.accommodation_units where tenant_id = ${tenant} and motopress_unit_id = ${unit}`;
    expect(u.status).not.toBe("trash"); // gone, not rewritten as a live unit with status trash
    await expectDatabaseMatches(stack.db.sql, tenant, sim);

    sim.restoreUnit(unit);
    sim.modifyType(type, { status: "draft" });
    sim.restoreBooking(booking);
    await syncAll();
    expect(await removedAt("units", unit)).not.toBeNull();
    expect(await removedAt("reservations", booking)).not.toBeNull();

    sim.modifyUnit(unit, { status: "publish" });
    sim.modifyType(type, { status: "publish" });
    sim.modifyBooking(booking, { status: "confirmed" });
    await syncAll();
    expect(await removedAt("units", unit)).toBeNull();
    expect(await removedAt("types", type)).toBeNull();
    expect(await removedAt("reservations", booking)).toBeNull();
    await expectDatabaseMatches(stack.db.sql, tenant, sim);
  });
});
