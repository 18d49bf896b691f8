// The command center: the chain's order, failure isolation, global cancel, health.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Stack, startStack, WORKER_DONE } from "../helpers/stack.ts";
import { waitForLog } from "../helpers/wait.ts";
import { insertTenant } from "../helpers/db.ts";
import { type SimSite, startSite, tenantForSite, waitFor, waitForRun } from "../helpers/sim.ts";
import { expectDatabaseMatches } from "../helpers/compare.ts";

let stack: Stack;
let site: SimSite;
beforeAll(async () => {
  stack = await startStack();
  site = await startSite({ seed: 21, hotel: { bookings: 250 } });
});
afterAll(async () => {
  await site?.close();
  await stack?.close();
});

const children = (parentId: string) =>
  stack.db.sql`select * from public.sync_runs where parent_run_id = ${parentId} order by started_at`;

describe("the chain", () => {
  it("runs accommodations, then bookings, as child runs, and the database equals the site", async () => {
    const tenant = await tenantForSite(stack.db.sql, site);
    const res = await stack.call("sync-command-center", { tenantId: tenant });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: "running", source: "sync-command-center", tenantId: tenant });
    const parent = await waitForRun(stack.db.sql, res.body.runId);
    expect(parent.status, parent.error_message).toBe("completed");
    const [acc, book] = await children(parent.id);
    expect([acc.source, book.source]).toEqual(["motopress-accommodations", "motopress-bookings"]);
    expect([acc.status, book.status]).toEqual(["completed", "completed"]);
    expect(acc.trigger).toBe("parent");
    expect(book.started_at.getTime()).toBeGreaterThanOrEqual(acc.completed_at.getTime());
    expect(parent.stats.tenants[0]).toMatchObject({ tenantId: tenant, state: "completed" });
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
  });

  it("an accommodations failure stops that tenant's bookings and says why", async () => {
    const tenant = await tenantForSite(stack.db.sql, site);
    site.sim.setFaults({
      failPages: [{ resource: "accommodation_types", page: 1, times: 100, status: 502 }],
    });
    const res = await stack.call("sync-command-center", { tenantId: tenant });
    const parent = await waitForRun(stack.db.sql, res.body.runId);
    site.sim.resetFaults();
    expect(parent.status).toBe("failed");
    expect(parent.error_code).toBe("UPSTREAM_ERROR");
    expect(parent.error_message).toMatch(/^accommodations failed: MotoPress: .*; bookings not started$/);
    const kids = await children(parent.id);
    expect(kids.map((k) => k.source)).toEqual(["motopress-accommodations"]);
    const [{ n }] = await stack.db
      .sql`select count(*)::int as n from public.guest_reservations where tenant_id = ${tenant}`;
    expect(n).toBe(0);
  });

  it("all tenants: one failing tenant does not stop the others; stats per tenant", async () => {
    await stack.db.sql`update public.tenant_registry set is_active = false`;
    const good1 = await tenantForSite(stack.db.sql, site);
    const good2 = await tenantForSite(stack.db.sql, site);
    const bad = await insertTenant(stack.db.sql, "zz-wrong-secret");
    await stack.db
      .sql`insert into private.motopress_credentials (tenant_id, site_url, consumer_key, consumer_secret)
                       values (${bad}, ${site.server.url}, ${site.sim.credentials.consumerKey}, 'cs_wrong')`;
    const res = await stack.call("sync-command-center", { trigger: "cron" });
    expect(res.status).toBe(202);
    expect(res.body.tenantId).toBeNull();
    const parent = await waitForRun(stack.db.sql, res.body.runId);
    expect(parent.trigger).toBe("cron");
    expect(parent.status).toBe("failed");
    expect(parent.error_code).toBe("TENANTS_FAILED");
    expect(parent.error_message).toMatch(
      /^1 of 3 tenants failed: zz-wrong-secret \(accommodations failed: MotoPress: /,
    );
    const states = Object.fromEntries(
      parent.stats.tenants.map((t: { tenantId: string; state: string }) => [t.tenantId, t.state]),
    );
    expect(states).toEqual({ [good1]: "completed", [good2]: "completed", [bad]: "failed" });
    await expectDatabaseMatches(stack.db.sql, good1, site.sim);
    await expectDatabaseMatches(stack.db.sql, good2, site.sim);
    await stack.db.sql`update public.tenant_registry set is_active = true`;
  });

  it("409 names the holder; a global cancel during a chain stops it and frees every slot at once", async () => {
    const tenant = await tenantForSite(stack.db.sql, site);
    site.sim.setFaults({ latencyMsPerPage: 150 });
    const res = await stack.call("sync-command-center", { tenantId: tenant });
    const busy = await stack.call("sync-command-center", { tenantId: tenant });
    expect(busy.status).toBe(409);
    expect(busy.body.error).toMatchObject({ code: "RUN_IN_PROGRESS", runId: res.body.runId });
    const child = await waitFor(async () => {
      const [b] = await stack.db
        .sql`select * from public.sync_runs where parent_run_id = ${res.body.runId} and source = 'motopress-bookings' and status = 'running'`;
      return b && (b.stats.counters?.["booking.pages"] ?? 0) >= 1 ? b : null;
    });
    const logMark = stack.server.output().length;
    const cancel = await stack.call("sync-command-center", { forceCancel: true });
    expect(cancel.status).toBe(200);
    expect(cancel.body.runIds.sort()).toEqual([res.body.runId, child.id].sort());
    const [{ at }] = await stack.db
      .sql`select completed_at as at from public.sync_runs where id = ${child.id}`;
    // Nothing written after the cancel, judged once the child's worker has said it stopped.
    await waitForLog(() => stack.server.output().slice(logMark), WORKER_DONE, { runId: child.id });
    site.sim.resetFaults();
    const statuses = await stack.db
      .sql`select status from public.sync_runs where id in (${res.body.runId}, ${child.id})`;
    expect(statuses.map((s) => s.status)).toEqual(["cancelled", "cancelled"]);
    const [{ late }] = await stack.db.sql`
      select count(*)::int as late from public.guest_reservations where tenant_id = ${tenant} and (created_at > ${at} or updated_at > ${at})`;
    expect(late).toBe(0);
    const again = await stack.call("sync-command-center", { tenantId: tenant });
    expect(again.status).toBe(202);
    expect((await waitForRun(stack.db.sql, again.body.runId)).status).toBe("completed");
  });
});

describe("streaming", () => {
  it("streams the chain's progress with stage and Step n/2 messages, then done", async () => {
    const tenant = await tenantForSite(stack.db.sql, site);
    site.sim.setFaults({ latencyMsPerPage: 250 });
    const res = await fetch(`${stack.server.url}/functions/v1/sync-command-center`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${ADMIN_KEY}`,
        accept: "text/event-stream",
        "content-type": "application/json",
      },
      body: JSON.stringify({ tenantId: tenant }),
    });
    const text = await res.text();
    site.sim.resetFaults();
    const events = [...text.matchAll(/event: (\w+)\ndata: (.*)\n\n/g)].map((m) => ({
      event: m[1],
      data: JSON.parse(m[2]),
    }));
    const stages = new Set(events.filter((e) => e.event === "progress").map((e) => e.data.stage));
    expect(stages).toContain("accommodations");
    expect(stages).toContain("bookings");
    const messages = events.filter((e) => e.event === "progress").map((e) => e.data.message);
    expect(messages.some((m) => m.startsWith("Step 1/2: "))).toBe(true);
    expect(messages.some((m) => m.startsWith("Step 2/2: "))).toBe(true);
    // The steps are data, and each message is derived from it (nothing to parse).
    const bookingsPage = events.find((e) =>
      e.event === "progress" && e.data.stage === "bookings" && e.data.activity === "pages"
    );
    expect(bookingsPage?.data).toMatchObject({
      step: 2,
      steps: 2,
      part: "bookings",
      current: expect.any(Number),
      total: expect.any(Number),
    });
    expect(bookingsPage?.data.message).toBe(
      `Step 2/2: bookings page ${bookingsPage?.data.current} of ${bookingsPage?.data.total}`,
    );
    expect(events.at(-1)).toMatchObject({
      event: "done",
      data: { run: { status: "completed", source: "sync-command-center" } },
    });
  });
});

describe("health", () => {
  it("reports last syncs and integrity counters that reflect injected problems", async () => {
    const tenant = await tenantForSite(stack.db.sql, site);
    const unit = site.sim.listUnits().find((u) => !u.hidden)!.id;
    site.sim.addBooking({
      checkIn: "2027-05-01",
      checkOut: "2027-05-05",
      rooms: [unit],
      status: "confirmed",
    });
    site.sim.addBooking({
      checkIn: "2027-05-03",
      checkOut: "2027-05-06",
      rooms: [unit],
      status: "confirmed",
    });
    const run = await waitForRun(
      stack.db.sql,
      (await stack.call("sync-command-center", { tenantId: tenant })).body.runId,
    );
    expect(run.status, run.error_message).toBe("completed");
    const before = (await stack.call("sync-command-center", undefined, { method: "GET" })).body.tenants
      .find((t: { tenantId: string }) => t.tenantId === tenant);
    expect(before.integrity.reservationsWithoutRoom).toBe(0);
    expect(before.integrity.reservationsWithoutRooms).toBe(0);
    expect(before.integrity.overbookingConflicts).toBeGreaterThanOrEqual(1);
    expect(before.lastSuccessfulSync.bookings).toBeTruthy();
    expect(before.trustworthy).toBe(true);

    // Inject: a legacy reservation without junction rows, and a quarantined item.
    await stack.db.sql`delete from public.reservation_accommodations ra using public.guest_reservations r
                       where r.id = ra.reservation_id and r.tenant_id = ${tenant} and r.external_booking_id = ${
      String(site.sim.bookingIds()[0])
    }`;
    await stack.db
      .sql`insert into public.sync_quarantine (tenant_id, entity, external_id, reason) values (${tenant}, 'booking', '999999', 'test')`;
    const res = await stack.call(`sync-command-center?tenantId=${tenant}`, undefined, { method: "GET" });
    expect(res.status).toBe(200);
    expect(res.body.tenants).toHaveLength(1);
    const after = res.body.tenants[0];
    expect(after.integrity).toMatchObject({
      reservationsWithoutRooms: 1,
      quarantinedItems: 1,
      overbookingConflicts: before.integrity.overbookingConflicts,
    });
    expect(after.trustworthy).toBe(false);
  });

  it("400 for an unknown query parameter, 404 for an unknown tenant", async () => {
    expect((await stack.call("sync-command-center?x=1", undefined, { method: "GET" })).status).toBe(400);
    const res = await stack.call(`sync-command-center?tenantId=${crypto.randomUUID()}`, undefined, {
      method: "GET",
    });
    expect(res.status).toBe(404);
  });
});

describe("repair", () => {
  it("finds reservations without junction rows, reports in a dry run, re-links them with apply", async () => {
    const tenant = await tenantForSite(stack.db.sql, site);
    const run = await waitForRun(
      stack.db.sql,
      (await stack.call("sync-command-center", { tenantId: tenant })).body.runId,
    );
    expect(run.status).toBe("completed");
    const victims = site.sim.bookingIds().slice(10, 13).map(String);
    await stack.db.sql`delete from public.reservation_accommodations ra using public.guest_reservations r
                       where r.id = ra.reservation_id and r.tenant_id = ${tenant} and r.external_booking_id = any(${victims})`;
    const dry = await stack.call("sync-command-center", { action: "repair", tenantId: tenant });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({
      dryRun: true,
      found: 3,
      more: false,
      goneUpstream: [],
      unrepairable: [],
    });
    expect(dry.body.relinked.map((r: { bookingId: string }) => r.bookingId).sort()).toEqual(
      [...victims].sort(),
    );
    const [{ n }] = await stack.db
      .sql`select count(*)::int as n from public.reservation_accommodations ra join public.guest_reservations r on r.id = ra.reservation_id
                                       where r.tenant_id = ${tenant} and r.external_booking_id = any(${victims})`;
    expect(n).toBe(0); // a dry run changes nothing
    const applied = await stack.call("sync-command-center", {
      action: "repair",
      tenantId: tenant,
      apply: true,
    });
    expect(applied.status).toBe(200);
    expect(applied.body.dryRun).toBe(false);
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
    const again = await stack.call("sync-command-center", { action: "repair", tenantId: tenant });
    expect(again.body.found).toBe(0);
  });

  it("rejects a repair without its tenant, or mixed with other commands", async () => {
    const res = await stack.call("sync-command-center", { action: "repair", forceCancel: true });
    expect(res.status).toBe(400);
    expect(res.body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      "forceCancel",
      "tenantId",
    ]);
    expect((await stack.call("sync-command-center", { apply: true })).status).toBe(400);
  });
});
