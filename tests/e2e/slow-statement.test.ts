// A page whose statement the server ends at its statement timeout is retried once, then fails its
// run with STATEMENT_TIMEOUT naming the page and the statement: never an endless retry, never
// DATABASE_UNAVAILABLE. The next run continues from the page (tests/e2e/continue-failed.test.ts).
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Stack, startStack } from "../helpers/stack.ts";
import { type SimSite, startSite, tenantForSite, waitForRun } from "../helpers/sim.ts";

let stack: Stack;
let site: SimSite;
beforeAll(async () => {
  stack = await startStack({ SYNC_STATEMENT_TIMEOUT_MS: "2000" });
  site = await startSite({ seed: 32, hotel: { bookings: 300 } });
});
afterAll(async () => {
  await site?.close();
  await stack?.close();
});

it("a page slower than the statement timeout fails its run with STATEMENT_TIMEOUT after one retry", async () => {
  const tenantId = await tenantForSite(stack.db.sql, site);
  // Every write of this hotel's reservations takes 3 s: the server ends each at 2 s.
  await stack.db.sql.unsafe(`
    create function public.slow_writes() returns trigger language plpgsql as $$
    begin
      if exists (select 1 from new_rows where tenant_id = '${tenantId}') then perform pg_sleep(3); end if;
      return null;
    end $$;
    create trigger slow_writes after insert on public.guest_reservations
      referencing new table as new_rows for each statement execute function public.slow_writes();`);
  const res = await stack.call("motopress-bookings", { tenantId });
  expect(res.status).toBe(202);
  const run = await waitForRun(stack.db.sql, res.body.runId);
  expect(run.status).toBe("failed");
  expect(run.error_code).toBe("STATEMENT_TIMEOUT");
  expect(run.error_message).toMatch(
    /^bookings page 1: sync\.commit_bookings_page did not finish within the database's statement timeout \(2 attempts\)/,
  );
  await stack.db.sql.unsafe(`drop trigger slow_writes on public.guest_reservations`);
});
