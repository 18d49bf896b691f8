// A sync that failed part way is continued by the next run of its slot from the last committed
// page, not started over; what the failed run saw goes with it, so the removal check waits for a
// pass complete across both runs and marks nothing that was only on the earlier pages.
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Stack, startStack } from "../helpers/stack.ts";
import { type SimSite, startSite, tenantForSite, waitForRun } from "../helpers/sim.ts";
import { expectDatabaseMatches } from "../helpers/compare.ts";

let stack: Stack;
let site: SimSite;
beforeAll(async () => {
  stack = await startStack();
  site = await startSite({ seed: 31, hotel: { bookings: 600 } });
});
afterAll(async () => {
  await site?.close();
  await stack?.close();
});

const bookingsRun = async (tenantId: string) => {
  const res = await stack.call("motopress-bookings", { tenantId });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return await waitForRun(stack.db.sql, res.body.runId);
};

it("the next run starts at the failed run's last committed page and ends equal to the site", async () => {
  const tenantId = await tenantForSite(stack.db.sql, site);
  const accommodations = await stack.call("motopress-accommodations", { tenantId });
  expect((await waitForRun(stack.db.sql, accommodations.body.runId)).status).toBe("completed");

  site.sim.setFaults({ failPages: [{ resource: "bookings", page: 4, times: 1000, status: 502 }] });
  const failed = await bookingsRun(tenantId);
  site.sim.resetFaults();
  expect(failed.status).toBe("failed");
  expect(failed.checkpoint).toMatchObject({ phase: 0, page: 4 });
  const [{ seen }] = await stack.db
    .sql`select count(*)::int as seen from sync.run_seen where run_id = ${failed.id}`;
  expect(seen).toBe(300);

  const next = await bookingsRun(tenantId);
  expect(next.status, next.error_message).toBe("completed");
  expect(next.continued_from_run_id).toBe(failed.id);
  const totalPages = Math.ceil(site.sim.listedBookingIds().length / 100);
  expect(next.stats.counters["booking.pages"]).toBe(totalPages - 3);
  expect(next.stats.counters["booking.removedUpstream"]).toBe(0);
  const [{ removed }] = await stack.db.sql`
    select count(*)::int as removed from public.guest_reservations
    where tenant_id = ${tenantId} and removed_upstream_at is not null`;
  expect(removed).toBe(0);
  await expectDatabaseMatches(stack.db.sql, tenantId, site.sim);
  // Nothing is left of either run's scratch.
  const [{ left }] = await stack.db.sql`
    select count(*)::int as left from sync.run_seen where run_id in (${failed.id}, ${next.id})`;
  expect(left).toBe(0);

  // A run after a completed one starts over.
  const again = await bookingsRun(tenantId);
  expect(again.continued_from_run_id).toBeNull();
  expect(again.stats.counters["booking.pages"]).toBe(totalPages);
});
