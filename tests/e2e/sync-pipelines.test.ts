// The product, end to end: real Deno functions, real PostgreSQL, the MotoPress simulator.
import { decodeHtmlEntities } from "../../supabase/functions/_shared/motopress/html-entities.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack, WORKER_DONE } from "../helpers/stack.ts";
import { waitFor, waitForLog } from "../helpers/wait.ts";
import { type SimSite, startSite, tenantForSite, TODAY, waitForRun } from "../helpers/sim.ts";
import { expectDatabaseMatches } from "../helpers/compare.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

async function sync(tenantId: string, source: "motopress-accommodations" | "motopress-bookings") {
  const res = await stack.call(source, { tenantId });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.body).toMatchObject({ status: "running", source, tenantId });
  return await waitForRun(stack.db.sql, res.body.runId);
}

async function syncAll(tenantId: string) {
  const a = await sync(tenantId, "motopress-accommodations");
  expect(a.status, a.error_message).toBe("completed");
  const b = await sync(tenantId, "motopress-bookings");
  expect(b.status, b.error_message).toBe("completed");
  return { accommodations: a, bookings: b };
}

describe("a full sync", () => {
  let site: SimSite;
  let tenant: string;
  beforeAll(async () => {
    site = await startSite();
    tenant = await tenantForSite(stack.db.sql, site);
  });
  afterAll(() => site.close());

  it("writes every booking with its rooms, and equals the site", async () => {
    const { bookings } = await syncAll(tenant);
    expect(bookings.stats.counters["booking.items"]).toBe(site.sim.bookingIds().length);
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
  });

  it("links a booking whose unit was created after the last accommodations sync, naming the unit from its answer by id", async () => {
    const hidden = site.sim.summary().hiddenUnitIds[0];
    expect(hidden).toBeDefined();
    const [unit] = await stack.db
      .sql`select auto_created, name, removed_upstream_at from hotels.accommodation_units where tenant_id = ${tenant} and motopress_unit_id = ${hidden}`;
    const title = site.sim.listUnits().find((u) => u.id === hidden)!.title;
    expect(unit).toEqual({ auto_created: false, name: decodeHtmlEntities(title), removed_upstream_at: null });
    site.sim.revealUnit(hidden);
    await syncAll(tenant);
    const [after] = await stack.db
      .sql`select auto_created, name from hotels.accommodation_units where tenant_id = ${tenant} and motopress_unit_id = ${hidden}`;
    expect(after.auto_created).toBe(false);
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
  });

  it("a change of the site's check-in/out times reaches every reservation", async () => {
    site.sim.setSite({ checkInTime: "14:00:00", checkOutTime: "10:30:00" });
    await sync(tenant, "motopress-bookings");
    const rows = await stack.db.sql`
      select distinct check_in_time::text as "in", check_out_time::text as "out" from public.guest_reservations
      where tenant_id = ${tenant} and removed_upstream_at is null`;
    expect(rows).toEqual([{ in: "14:00:00", out: "10:30:00" }]);
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
  });

  it("records every room of a multi-room booking on the booked unit", async () => {
    const units = site.sim.listUnits().filter((u) => !u.hidden).slice(0, 3).map((u) => u.id);
    const id = site.sim.addBooking({
      checkIn: "2027-01-10",
      checkOut: "2027-01-13",
      rooms: units,
      customer: { first_name: "Ada", last_name: "Lovelace" },
    });
    await sync(tenant, "motopress-bookings");
    const rows = await stack.db.sql`
      select u.motopress_unit_id from public.reservation_accommodations ra
      join public.guest_reservations r on r.id = ra.reservation_id
      join hotels.accommodation_units u on u.id = ra.accommodation_unit_id
      where r.tenant_id = ${tenant} and r.external_booking_id = ${String(id)} order by ra.position`;
    expect(rows.map((r) => r.motopress_unit_id)).toEqual(units);
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
  });

  it("propagates a cancellation after a first sync", async () => {
    const id = site.sim.bookingIds().find((b) =>
      site.sim.getBooking(b)!.status === "confirmed" && !site.sim.getBooking(b)!.ical
    )!;
    site.sim.cancelBooking(id);
    await sync(tenant, "motopress-bookings");
    const [row] = await stack.db
      .sql`select status from public.guest_reservations where tenant_id = ${tenant} and external_booking_id = ${
      String(id)
    }`;
    expect(row.status).toBe("cancelled");
  });

  it("keeps guests already in-house (check-in yesterday)", async () => {
    const inHouse = site.sim.bookingIds().filter((b) => {
      const r = site.sim.getBooking(b)!;
      return r.checkIn < TODAY && r.checkOut > TODAY;
    });
    expect(inHouse.length).toBeGreaterThan(0);
    const rows = await stack.db.sql`
      select count(*)::int as n from public.guest_reservations
      where tenant_id = ${tenant} and external_booking_id = any(${
      inHouse.map(String)
    }) and removed_upstream_at is null`;
    expect(rows[0].n).toBe(inHouse.length);
  });

  it("classifies imported bookings and blocks, with the Airbnb code and phone digits", async () => {
    const kinds = await stack.db.sql`
      select kind, count(*)::int as n, count(external_reference)::int as refs, count(guest_phone_last4)::int as phones
      from public.guest_reservations where tenant_id = ${tenant} group by kind order by kind`;
    const byKind = Object.fromEntries(kinds.map((k) => [k.kind, k]));
    expect(byKind.block.n).toBeGreaterThan(0);
    expect(byKind.imported.n).toBeGreaterThan(0);
    expect(byKind.imported.refs).toBe(byKind.imported.n);
    expect(byKind.imported.phones).toBe(byKind.imported.n);
    expect(byKind.block.refs).toBe(0);
  });

  it("a re-sync with no upstream change writes no data row", async () => {
    const run = await sync(tenant, "motopress-bookings");
    const c = run.stats.counters;
    expect(
      c["booking.inserted"] + c["booking.updated"] + c["booking.roomsWritten"] + c["booking.roomsRemoved"],
    ).toBe(0);
    expect(c["booking.unitsAutoCreated"]).toBe(0);
    expect(c["booking.removedUpstream"]).toBe(0);
  });
});

describe("content and invalid items", () => {
  let site: SimSite;
  let tenant: string;
  beforeAll(async () => {
    site = await startSite({ seed: 13, hotel: { bookings: 150 } });
    tenant = await tenantForSite(stack.db.sql, site);
    await syncAll(tenant);
  });
  afterAll(() => site.close());

  it("flags a type for re-embedding only when its descriptive text changed", async () => {
    const types = () =>
      stack.db.sql`
      select motopress_type_id as id, content_hash, needs_embedding from hotels.accommodation_types
      where tenant_id = ${tenant} and not auto_created order by 1`;
    const first = await types();
    expect(first.every((t) => t.needs_embedding && t.content_hash)).toBe(true);
    // The chat's embedding job records what it embedded.
    await stack.db
      .sql`update hotels.accommodation_types set embedded_content_hash = content_hash where tenant_id = ${tenant}`;
    await sync(tenant, "motopress-accommodations");
    expect((await types()).every((t) => !t.needs_embedding)).toBe(true);
    const changed = site.sim.listTypes()[0];
    changed.title = `${changed.title} (renovated)`;
    await sync(tenant, "motopress-accommodations");
    const after = await types();
    expect(after.filter((t) => t.needs_embedding).map((t) => t.id)).toEqual([changed.id]);
  });

  it("quarantines an invalid booking with its reason, completes the run, and reports it", async () => {
    const id = site.sim.bookingIds()[3];
    const original = site.sim.getBooking(id)!.checkIn;
    site.sim.getBooking(id)!.checkIn = "2027-02-30"; // not a calendar date
    const run = await sync(tenant, "motopress-bookings");
    expect(run.status).toBe("completed");
    expect(run.stats.counters["booking.itemErrors"]).toBe(1);
    expect(run.stats.counters["booking.quarantined"]).toBe(1);
    const [q] = await stack.db
      .sql`select external_id, reason, resolved_at from public.sync_quarantine where tenant_id = ${tenant}`;
    expect(q.external_id).toBe(String(id));
    expect(q.reason).toMatch(/check_in_date/);
    expect(q.resolved_at).toBeNull();
    // Not seen as valid is not the same as gone: the earlier reservation is kept, not marked removed.
    const [r] = await stack.db
      .sql`select removed_upstream_at from public.guest_reservations where tenant_id = ${tenant} and external_booking_id = ${
      String(id)
    }`;
    expect(r.removed_upstream_at).toBeNull();
    const health = await stack.call(`sync-command-center?tenantId=${tenant}`, undefined, { method: "GET" });
    expect(health.body.tenants[0].integrity.quarantinedItems).toBe(1);
    // Fixed upstream: the next sync resolves the quarantine.
    site.sim.getBooking(id)!.checkIn = original;
    await sync(tenant, "motopress-bookings");
    const [resolved] = await stack.db
      .sql`select resolved_at from public.sync_quarantine where tenant_id = ${tenant}`;
    expect(resolved.resolved_at).not.toBeNull();
  });
});

describe("deletions and failures", () => {
  let site: SimSite;
  let tenant: string;
  beforeAll(async () => {
    site = await startSite({ seed: 11, hotel: { bookings: 350 } });
    tenant = await tenantForSite(stack.db.sql, site);
    await syncAll(tenant);
  });
  afterAll(() => site.close());

  const removed = async (id: number) =>
    (await stack.db
      .sql`select removed_upstream_at from public.guest_reservations where tenant_id = ${tenant} and external_booking_id = ${
      String(id)
    }`)[0]
      ?.removed_upstream_at;

  it("a 5xx burst mid-sync fails the run with UPSTREAM_ERROR, keeps earlier data, and marks no deletion", async () => {
    const gone = site.sim.bookingIds()[5];
    site.sim.deleteBooking(gone);
    const before = (await stack.db
      .sql`select count(*)::int as n from public.guest_reservations where tenant_id = ${tenant}`)[0].n;
    site.sim.setFaults({ failPages: [{ resource: "bookings", page: 3, times: 50, status: 503 }] });
    const run = await sync(tenant, "motopress-bookings");
    site.sim.resetFaults();
    expect(run.status).toBe("failed");
    expect(run.error_code).toBe("UPSTREAM_ERROR");
    expect(run.error_message).toMatch(/MotoPress/);
    expect(run.stats.counters["booking.pages"]).toBe(2);
    const after = (await stack.db
      .sql`select count(*)::int as n from public.guest_reservations where tenant_id = ${tenant}`)[0].n;
    expect(after).toBe(before);
    expect(await removed(gone)).toBeNull();
    // The next complete pass marks it, and a booking that reappears is unmarked.
    await sync(tenant, "motopress-bookings");
    expect(await removed(gone)).not.toBeNull();
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
  });

  it("when the list shifts under the scan, marks only what is really gone and writes what the scan missed", async () => {
    const live = async () =>
      (await stack.db.sql`
      select count(*)::int as n from public.guest_reservations
      where tenant_id = ${tenant} and removed_upstream_at is not null and external_booking_id = any(${
        site.sim.bookingIds().map(String)
      })`)[0].n;
    // After each of the first two pages, the two oldest bookings are deleted and two added: the
    // total stays the same while later bookings slide towards page 1, past the scan.
    site.sim.setFaults({ shiftBetweenPages: { deleteLowest: 2, add: 2, times: 2 } });
    const run = await sync(tenant, "motopress-bookings");
    site.sim.resetFaults();
    expect(run.status).toBe("completed");
    expect(run.stats.counters["booking.verifiedPresent"]).toBeGreaterThan(0);
    expect(await live()).toBe(0);
    // What was deleted after this pass read it is marked by the next one.
    const next = await sync(tenant, "motopress-bookings");
    expect(next.stats.counters["booking.removedUpstream"]).toBe(4);
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
  });

  it("a cancel mid-sync stops the run and nothing is written after the cancel", async () => {
    site.sim.setFaults({ latencyMsPerPage: 150 });
    for (let i = 0; i < 30; i++) {
      site.sim.addBooking({
        checkIn: "2027-03-01",
        checkOut: "2027-03-04",
        rooms: [site.sim.listUnits()[i % 5].id],
      });
    }
    const res = await stack.call("motopress-bookings", { tenantId: tenant });
    expect(res.status).toBe(202);
    const runId = res.body.runId;
    await waitFor(async () => {
      const [r] = await stack.db.sql`select stats from public.sync_runs where id = ${runId}`;
      return (r.stats.counters?.["booking.pages"] ?? 0) >= 1;
    }, { intervalMs: 20, what: "the run's first page" });
    const logMark = stack.server.output().length;
    const cancel = await stack.call("motopress-bookings", { tenantId: tenant, forceCancel: true });
    expect(cancel.body.runIds).toEqual([runId]);
    const [{ cancelled_at }] = await stack.db
      .sql`select completed_at as cancelled_at from public.sync_runs where id = ${runId}`;
    // The worker stops within one page and writes nothing: judged once it has said it stopped.
    await waitForLog(() => stack.server.output().slice(logMark), WORKER_DONE, { runId });
    site.sim.resetFaults();
    const late = await stack.db.sql`
      select count(*)::int as n from public.guest_reservations where tenant_id = ${tenant} and (created_at > ${cancelled_at} or updated_at > ${cancelled_at})`;
    expect(late[0].n).toBe(0);
    const [run] = await stack.db.sql`select status, checkpoint from public.sync_runs where id = ${runId}`;
    expect(run.status).toBe("cancelled");
    // Cancel-and-restart works at once.
    const again = await sync(tenant, "motopress-bookings");
    expect(again.status).toBe("completed");
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
  });

  it("409 with the holder's details while a run is active", async () => {
    site.sim.setFaults({ latencyMsPerPage: 100 });
    const first = await stack.call("motopress-bookings", { tenantId: tenant });
    const second = await stack.call("motopress-bookings", { tenantId: tenant });
    site.sim.resetFaults();
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: "RUN_IN_PROGRESS", runId: first.body.runId });
    expect(second.body.error.startedAt).toBeTruthy();
    expect(second.body.error.heartbeatAt).toBeTruthy();
    await waitForRun(stack.db.sql, first.body.runId);
  });
});
