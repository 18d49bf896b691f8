// No single odd answer blocks a hotel, and placeholders get their names (issue 23), through the
// real functions in the local edge runtime against the simulator:
//   * a NUL in one booking's first name and in a type's title: both sync, with the rest of their page;
//   * a gzip bomb (small as sent, 64 MB decoded) fails its hotel's run cleanly, no worker is killed,
//     and a second hotel's chain on the same worker completes;
//   * a site that repeats page 1 while announcing a million pages: the run ends, saying why;
//   * a unit in the trash before the first sync (a booking still names it) gets its real name and
//     is left off the room board; a deleted one is marked removed under its placeholder name; one
//     created after the last accommodations sync gets its name and is a room like any other.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Stack, startStack } from "../helpers/stack.ts";
import { type SimSite, startSite, tenantForSite, waitForRun } from "../helpers/sim.ts";

let stack: Stack;
const sites: SimSite[] = [];
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await Promise.all(sites.map((s) => s.close()));
  await stack?.close();
});

async function hotel(seed: number, bookings = 150) {
  const site = await startSite({ seed, hotel: { types: 3, unitsPerType: 3, bookings, hiddenUnits: 0 } });
  sites.push(site);
  return { site, tenant: await tenantForSite(stack.db.sql, site) };
}

async function run(source: string, tenantId: string) {
  const res = await stack.call(source, { tenantId });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return await waitForRun(stack.db.sql, res.body.runId, 120_000);
}

const killed = () => stack.server.output().split("\n").filter((l) => l.includes("worker killed")).length;

describe("odd upstream answers", () => {
  it(
    "a NUL in a booking's first name and in a type's title: both sync with the rest of their page",
    async () => {
      const { site, tenant } = await hotel(231);
      const type = site.sim.listTypes()[0];
      site.sim.modifyType(type.id, { title: "Sea\u0000 View" });
      const [first, second] = site.sim.bookingIds();
      site.sim.modifyBooking(first, { customer: { first_name: "Ana\u0000", last_name: "Lu\u0001z" } });
      site.sim.modifyBooking(second, { note: "late\u0000 arrival" });

      const accommodations = await run("motopress-accommodations", tenant);
      expect(accommodations.status, accommodations.error_message).toBe("completed");
      const bookings = await run("motopress-bookings", tenant);
      expect(bookings.status, bookings.error_message).toBe("completed");
      expect(bookings.stats.counters["booking.quarantined"]).toBe(0);

      const [t] = await stack.db.sql`
      select name from hotels.accommodation_types where tenant_id = ${tenant} and motopress_type_id = ${type.id}`;
      expect(t.name).toBe("Sea View");
      const [r] = await stack.db.sql`
      select guest_name from public.guest_reservations where tenant_id = ${tenant} and external_booking_id = ${
        String(first)
      }`;
      expect(r.guest_name).toBe("Ana Luz");
      const [{ n }] = await stack.db.sql`
      select count(*)::int as n from public.guest_reservations where tenant_id = ${tenant}`;
      expect(n).toBe(site.sim.bookingIds().length);

      // Unchanged, the next sync takes every booking as written (their hashes are of the text as received).
      const again = await run("motopress-bookings", tenant);
      expect(again.status).toBe("completed");
      expect(again.stats.counters["booking.inserted"] + again.stats.counters["booking.updated"]).toBe(0);
    },
    120_000,
  );

  it(
    "a gzip bomb fails its hotel's run cleanly, kills no worker, and another hotel's chain completes",
    async () => {
      const bombed = await hotel(232);
      const other = await hotel(233, 600);
      bombed.site.sim.setFaults({ gzipBomb: { resource: "bookings", decodedBytes: 64 * 1024 * 1024 } });
      const killsBefore = killed();
      const [a, b] = await Promise.all([
        stack.call("sync-command-center", { tenantId: bombed.tenant }),
        stack.call("sync-command-center", { tenantId: other.tenant }),
      ]);
      expect([a.status, b.status]).toEqual([202, 202]);
      const [failed, completed] = await Promise.all([
        waitForRun(stack.db.sql, a.body.runId, 60_000),
        waitForRun(stack.db.sql, b.body.runId, 60_000),
      ]).catch((e) => {
        console.log(stack.server.output().split("\n").slice(-60).join("\n"));
        throw e;
      });
      expect(failed.status).toBe("failed");
      expect(failed.error_code).toBe("UPSTREAM_ERROR");
      expect(failed.error_message).toContain("larger than");
      expect(completed.status, completed.error_message).toBe("completed");
      expect(killed() - killsBefore).toBe(0);
      const [{ n }] = await stack.db.sql`
      select count(*)::int as n from public.guest_reservations where tenant_id = ${other.tenant}`;
      expect(n).toBe(other.site.sim.bookingIds().length);
    },
    180_000,
  );

  it("a site that repeats page 1 while announcing a million pages: the run ends, saying why", async () => {
    const { site, tenant } = await hotel(234);
    site.sim.setFaults({ endlessPages: { resource: "bookings" } });
    const requestsBefore = site.sim.stats().byResource.bookings ?? 0;
    const failed = await run("motopress-bookings", tenant);
    expect(failed.status).toBe("failed");
    expect(failed.error_code).toBe("UPSTREAM_ERROR");
    expect(failed.error_message).toContain("list does not end");
    expect(failed.error_message).toContain("brought no id it had not already sent");
    // Page 1 and the three pages that repeated it (and what was prefetched), not 661.
    expect((site.sim.stats().byResource.bookings ?? 0) - requestsBefore).toBeLessThanOrEqual(8);
  }, 120_000);
});

describe("placeholders get their names", () => {
  it(
    "units no list showed: trashed (named, removed, off the board), deleted (removed), live (named)",
    async () => {
      const { site, tenant } = await hotel(235);
      const units = site.sim.listUnits();
      const [trashed, deleted, late] = [units[0], units[1], units[2]];
      for (const u of [trashed, deleted, late]) {
        site.sim.addBooking({ checkIn: "2026-11-21", checkOut: "2026-11-25", rooms: [u.id] });
      }
      site.sim.modifyUnit(trashed.id, { title: "Garden Cottage" });
      site.sim.trashUnit(trashed.id); // before the hotel's first sync
      site.sim.deleteUnit(deleted.id);
      site.sim.modifyUnit(late.id, { title: "Tower Room" });
      site.sim.hideUnit(late.id); // created after the accommodations sync

      expect((await run("motopress-accommodations", tenant)).status).toBe("completed");
      const bookings = await run("motopress-bookings", tenant);
      expect(bookings.status, bookings.error_message).toBe("completed");
      expect(bookings.stats.counters["accommodation.placeholdersNamed"]).toBe(2);
      expect(bookings.stats.counters["accommodation.placeholdersRemoved"]).toBe(2);

      const rows = await stack.db.sql`
      select motopress_unit_id as id, name, status, auto_created, removed_upstream_at is not null as removed
      from hotels.accommodation_units where tenant_id = ${tenant} and motopress_unit_id in ${
        stack.db.sql([trashed.id, deleted.id, late.id])
      }`;
      const byId = new Map(rows.map((r) => [r.id, r]));
      expect(byId.get(trashed.id)).toMatchObject({
        name: "Garden Cottage",
        status: "trash",
        auto_created: false,
        removed: true,
      });
      expect(byId.get(deleted.id)).toMatchObject({
        name: `Accommodation #${deleted.id}`,
        status: "deleted",
        removed: true,
      });
      expect(byId.get(late.id)).toMatchObject({
        name: "Tower Room",
        status: "publish",
        auto_created: false,
        removed: false,
      });

      // The guest chat reads the real name.
      const [chat] = await stack.db.sql`
      select distinct unit_name from public.reservation_room_status s
      join hotels.accommodation_units u on u.id = s.accommodation_unit_id
      where s.tenant_id = ${tenant} and u.motopress_unit_id = ${trashed.id}`;
      expect(chat.unit_name).toBe("Garden Cottage");

      const board = await fetch(`${stack.server.url}/functions/v1/room-status?tenantId=${tenant}`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      }).then((r) => r.json());
      const listed = board.units.map((u: { motopressUnitId: number }) => u.motopressUnitId);
      expect(listed).toContain(late.id);
      expect(listed).not.toContain(trashed.id);
      expect(listed).not.toContain(deleted.id);
      expect(board.removedUnits.map((u: { motopressUnitId: number }) => u.motopressUnitId).sort())
        .toEqual([trashed.id, deleted.id].sort());
      const counted = Object.values(board.counts as Record<string, number>).reduce((a, b) => a + b, 0);
      expect(counted).toBe(board.units.length);

      // Named once: the next pass asks for nothing.
      const again = await run("motopress-bookings", tenant);
      expect(again.stats.counters["accommodation.placeholdersNamed"] ?? 0).toBe(0);
    },
    120_000,
  );
});
