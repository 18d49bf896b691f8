// A hotel whose stays all lie around today (the expensive case: every stay a page writes moves
// its unit's status), back to back or overbooked by an iCal feed, imports under the hosted limits
// to equality, then re-syncs with a change on every page to equality: no worker is killed by
// anything but CPU (a hop's budget, not a stall) and no page is retried for slowness.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../helpers/stack.ts";
import { type SimSite, startSite, tenantForSite, waitForRun } from "../helpers/sim.ts";
import { expectDatabaseMatches } from "../helpers/compare.ts";
import { logRecords } from "../../scripts/stack/lib/functions-server.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const syncChain = async (tenantId: string) => {
  const res = await stack.call("sync-command-center", { tenantId });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return await waitForRun(stack.db.sql, res.body.runId, 240_000);
};

describe.each([["back to back", false], ["overbooked", true]] as const)(
  "stays around today, %s",
  (_, overbook) => {
    let site: SimSite;
    beforeAll(async () => {
      site = await startSite({
        seed: overbook ? 41 : 42,
        hotel: { types: 4, units: 40, bookings: 2_000, aroundTodayDays: 20, overbook },
      });
    });
    afterAll(async () => {
      await site?.close();
    });

    it("imports, then re-syncs a change on every page, to equality", async () => {
      const tenantId = await tenantForSite(stack.db.sql, site);
      const before = logRecords(stack.server).length;
      const first = await syncChain(tenantId);
      expect(first.status, first.error_message).toBe("completed");
      await expectDatabaseMatches(stack.db.sql, tenantId, site.sim);
      if (overbook) {
        const [{ n }] = await stack.db.sql`
        select count(*)::int as n from hotels.booking_conflicts where tenant_id = ${tenantId} and resolved_at is null`;
        expect(n).toBeGreaterThan(0);
      }

      const ids = site.sim.listedBookingIds().sort((a, b) => a - b);
      for (let i = 0; i < ids.length; i += 100) {
        site.sim.modifyBooking(ids[i], { note: `changed ${i}` });
      }
      const second = await syncChain(tenantId);
      expect(second.status, second.error_message).toBe("completed");
      await expectDatabaseMatches(stack.db.sql, tenantId, site.sim);

      const lines = logRecords(stack.server).slice(before);
      const kills = lines.filter((l) => String(l.message).startsWith("worker killed") && l.reason !== "cpu");
      expect(kills).toEqual([]);
      const slow = lines.filter((l) =>
        /database fault/.test(String(l.message)) &&
        /statement timeout|no answer from the database/.test(String(l.error))
      );
      expect(slow).toEqual([]);
    }, 300_000);
  },
);
