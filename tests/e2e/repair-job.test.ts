// Repair with apply is a normal job: it claims the tenant's bookings slot, heartbeats while a slow
// site answers, writes fenced, and finishes; with a lease far shorter than the repair, no other
// claim takes the slot from it and the caller gets its report, not a 500.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../helpers/stack.ts";
import { type SimSite, startSite, waitForRun } from "../helpers/sim.ts";
import { expectDatabaseMatches } from "../helpers/compare.ts";
import { waitFor } from "../helpers/wait.ts";
import { insertTenant } from "../helpers/db.ts";

const LEASE_SECONDS = 2;
const SLOW_MS = 1_200; // per booking fetched by id: three of them outlast the lease
let stack: Stack;
let site: SimSite;
let proxy: http.Server;
let slow = false;
let proxyUrl: string;

beforeAll(async () => {
  stack = await startStack({ SYNC_LEASE_SECONDS: String(LEASE_SECONDS) });
  site = await startSite({ seed: 31, hotel: { bookings: 60 } });
  // A slow site: the simulator behind a proxy that delays single-booking reads when asked to.
  proxy = http.createServer(async (req, res) => {
    if (slow && /\/bookings\/\d+/.test(req.url ?? "")) await new Promise((r) => setTimeout(r, SLOW_MS));
    const upstream = await fetch(`${site.server.url}${req.url}`, {
      method: req.method,
      headers: { accept: "application/json" },
    });
    const headers: Record<string, string> = {};
    upstream.headers.forEach((
      v,
      k,
    ) => (k === "content-encoding" || k === "content-length" ? null : (headers[k] = v)));
    res.writeHead(upstream.status, headers);
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => proxy?.close(r));
  await site?.close();
  await stack?.close();
});

describe("repair as a job", () => {
  it("survives a slow site without losing its slot; a claim meanwhile gets 409", async () => {
    const tenant = await insertTenant(stack.db.sql);
    const { consumerKey, consumerSecret } = site.sim.credentials;
    await stack.db
      .sql`insert into private.motopress_credentials (tenant_id, site_url, consumer_key, consumer_secret)
                       values (${tenant}, ${proxyUrl}, ${consumerKey}, ${consumerSecret})`;
    const first = await stack.call("sync-command-center", { tenantId: tenant });
    expect((await waitForRun(stack.db.sql, first.body.runId)).status).toBe("completed");
    const victims = site.sim.bookingIds().slice(3, 6).map(String);
    await stack.db.sql`delete from public.reservation_accommodations ra using public.guest_reservations r
                       where r.id = ra.reservation_id and r.tenant_id = ${tenant} and r.external_booking_id = any(${victims})`;

    slow = true;
    const repair = stack.call("sync-command-center", { action: "repair", tenantId: tenant, apply: true });
    // Wait for the repair's run, then keep trying to take its slot for longer than a lease.
    const repairRun = await waitFor(async () => {
      const [run] = await stack.db
        .sql`select id from public.sync_runs where tenant_id = ${tenant} and trigger = 'repair' and status = 'running'`;
      return run as { id: string } | undefined;
    }, { what: "the repair's run" });
    const answers: number[] = [];
    const until = Date.now() + (LEASE_SECONDS + 1) * 1000;
    while (Date.now() < until) {
      const claim = await stack.call("motopress-bookings", { tenantId: tenant });
      answers.push(claim.status);
      if (claim.status !== 409) break;
      expect(claim.body.error.runId).toBe(repairRun.id);
      await new Promise((r) => setTimeout(r, 300));
    }
    const res = await repair;
    slow = false;
    expect(answers.every((s) => s === 409), JSON.stringify(answers)).toBe(true);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ dryRun: false, found: 3, runId: repairRun.id });
    const [run] = await stack.db.sql`select * from public.sync_runs where id = ${repairRun.id}`;
    expect(run).toMatchObject({
      status: "completed",
      source: "motopress-bookings",
      trigger: "repair",
      fencing_token: "1",
    });
    expect(run.stats.repair).toMatchObject({ found: 3, relinked: 3 });
    await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
  });
});
