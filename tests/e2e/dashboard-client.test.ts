// The dashboard client (shared/) against a real stack: Deno-served functions, a migrated
// database, and a simulated MotoPress site. Each test syncs a hotel of its own (a tenant on the same
// simulated site), so none is satisfied by what an earlier test synced or left running.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Stack, startStack } from "../helpers/stack.ts";
import { insertTenant } from "../helpers/db.ts";
import { freePort } from "../../scripts/stack/lib/database.ts";
import { registerTenant } from "../../scripts/lib/tenants.ts";
import { claimRun } from "../../supabase/functions/_shared/runs/coordinator.ts";
import { waitForRun } from "../helpers/sim.ts";
import { Simulator } from "../../tools/motopress-simulator/simulator.ts";
import { type SimulatorServer, startSimulatorServer } from "../../tools/motopress-simulator/node-server.ts";
import {
  createSyncClient,
  isSyncClientError,
  type SyncClient,
  SyncClientError,
  type SyncEvent,
} from "../../shared/index.ts";

let stack: Stack;
let site: SimulatorServer;
let simulator: Simulator;
let client: SyncClient;

beforeAll(async () => {
  stack = await startStack();
  simulator = new Simulator({
    seed: 3,
    hotel: { today: "2026-11-22", types: 3, unitsPerType: 3, bookings: 150 },
  });
  // A little latency per page, so a stream sees progress before the end.
  simulator.setFaults({ latencyMsPerPage: 60 });
  site = await startSimulatorServer({ simulator });
  client = createSyncClient({ url: stack.server.url, key: ADMIN_KEY });
});

afterAll(async () => {
  await site?.close();
  await stack?.close();
});

/** A hotel of the test's own on the simulated site, never synced. */
async function newHotel(slug: string): Promise<string> {
  const { tenantId } = await registerTenant(stack.db.sql, {
    slug,
    name: `Hotel ${slug}`,
    timezone: "Europe/Madrid",
    siteUrl: site.url,
    ...simulator.credentials,
  });
  return tenantId;
}

const claim = (source: "motopress-bookings" | "motopress-accommodations", tenantId: string) =>
  claimRun(stack.db.sql, { tenantId, source, trigger: "manual", leaseSeconds: 60 }).then((r) => {
    if (r.outcome !== "claimed") throw new Error(r.outcome);
    return r.run.id;
  });

async function rejection(promise: Promise<unknown>): Promise<SyncClientError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SyncClientError);
    return err as SyncClientError;
  }
  throw new Error("expected the call to fail");
}

describe("forceCancel and cancelAll", () => {
  it("forceCancel per source, for one tenant; without a source, both sources", async () => {
    const tenant = await newHotel("cancel-one");
    const other = await insertTenant(stack.db.sql);
    const b = await claim("motopress-bookings", tenant);
    const a = await claim("motopress-accommodations", tenant);
    const bOther = await claim("motopress-bookings", other);

    expect(await client.forceCancel({ source: "motopress-bookings", tenantId: tenant })).toEqual({
      cancelled: 1,
      runIds: [b],
    });
    expect(await client.forceCancel({ tenantId: tenant })).toEqual({ cancelled: 1, runIds: [a] });
    const [row] = await stack.db.sql`select status from public.sync_runs where id = ${bOther}`;
    expect(row.status).toBe("running");
    expect(await client.forceCancel({ source: "motopress-bookings" })).toEqual({
      cancelled: 1,
      runIds: [bOther],
    });
    expect(await client.forceCancel()).toEqual({ cancelled: 0, runIds: [] });
  });

  it("cancelAll: every source, every tenant, through the command center", async () => {
    const tenant = await newHotel("cancel-all");
    const other = await insertTenant(stack.db.sql);
    const ids = [
      await claim("motopress-bookings", tenant),
      await claim("motopress-accommodations", other),
    ];
    const res = await client.cancelAll();
    expect(res.cancelled).toBe(2);
    expect([...res.runIds].sort()).toEqual([...ids].sort());
    expect(await client.cancelAll()).toEqual({ cancelled: 0, runIds: [] });
  });
});

describe("typed errors from the envelope", () => {
  it("409 RUN_IN_PROGRESS carries the holder's runId, startedAt and heartbeatAt", async () => {
    const tenant = await newHotel("busy");
    const held = await claim("motopress-bookings", tenant);
    try {
      const err = await rejection(client.syncSource("motopress-bookings", { tenantId: tenant }));
      expect(err.status).toBe(409);
      expect(err.code).toBe("RUN_IN_PROGRESS");
      expect(err.functionName).toBe("motopress-bookings");
      expect(err.details.runId).toBe(held);
      expect(typeof err.details.startedAt).toBe("string");
      expect(typeof err.details.heartbeatAt).toBe("string");
      expect(err.envelope.error).toMatchObject({ code: "RUN_IN_PROGRESS", runId: held });
      expect(isSyncClientError(err, "RUN_IN_PROGRESS")).toBe(true);

      // The stream refuses the same way, before any event.
      const events: SyncEvent[] = [];
      const streamed = await rejection(
        client.streamProgress("motopress-bookings", { tenantId: tenant }, (e) => void events.push(e)),
      );
      expect(streamed.code).toBe("RUN_IN_PROGRESS");
      expect(events).toEqual([]);
    } finally {
      await client.forceCancel({ source: "motopress-bookings", tenantId: tenant });
    }
  });

  it("404 TENANT_NOT_FOUND", async () => {
    const unknown = crypto.randomUUID();
    const err = await rejection(client.syncSource("motopress-accommodations", { tenantId: unknown }));
    expect(err.status).toBe(404);
    expect(err.code).toBe("TENANT_NOT_FOUND");
    expect(err.details.tenantId).toBe(unknown);
    expect(err.message).toContain(unknown);
  });

  it("400 INVALID_REQUEST with the offending fields", async () => {
    const err = await rejection(client.syncSource("motopress-bookings", { tenantId: "not-a-uuid" }));
    expect(err.status).toBe(400);
    expect(err.code).toBe("INVALID_REQUEST");
    expect((err.details.fields as { field: string }[]).map((f) => f.field)).toEqual(["tenantId"]);
  });

  it("401 UNAUTHORIZED for a wrong key", async () => {
    const wrong = createSyncClient({ url: stack.server.url, key: "wrong-key-wrong-key-wrong" });
    const err = await rejection(wrong.cancelAll());
    expect(err.status).toBe(401);
    expect(err.code).toBe("UNAUTHORIZED");
  });

  it("NETWORK_ERROR (status 0) when nothing listens", async () => {
    const nowhere = createSyncClient({ url: `http://127.0.0.1:${await freePort()}`, key: ADMIN_KEY });
    const err = await rejection(nowhere.health());
    expect(err.status).toBe(0);
    expect(err.code).toBe("NETWORK_ERROR");
  });
});

describe("syncing", () => {
  it("streamProgress on motopress-accommodations: progress events, then done with the completed run", async () => {
    const tenant = await newHotel("stream-accommodations");
    const events: SyncEvent[] = [];
    const outcome = await client.streamProgress(
      "motopress-accommodations",
      { tenantId: tenant },
      (e) => void events.push(e),
    );
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.run.status).toBe("completed");
    expect(outcome.run.source).toBe("motopress-accommodations");
    expect(outcome.run.tenantId).toBe(tenant);
    expect(outcome.run).not.toHaveProperty("fencingToken");

    const progress = events.filter((e) => e.type === "progress");
    expect(progress.length).toBeGreaterThan(0);
    for (const e of progress) {
      expect(typeof e.progress.stage).toBe("string");
      expect(typeof e.progress.current).toBe("number");
      expect(typeof e.progress.message).toBe("string");
    }
    expect(events.at(-1)).toEqual({ type: "done", run: outcome.run });
    expect(events.filter((e) => e.type === "done")).toHaveLength(1);

    const [{ n }] = await stack.db
      .sql`select count(*)::int as n from hotels.accommodation_units where tenant_id = ${tenant}`;
    const { units, hiddenUnitIds } = simulator.summary();
    expect(n).toBeGreaterThanOrEqual(units - hiddenUnitIds.length);
  });

  it("syncSource answers 202 with the run; the run completes in the background", async () => {
    const tenant = await newHotel("background-bookings");
    const started = await client.syncSource("motopress-bookings", { tenantId: tenant });
    expect(started).toMatchObject({ status: "running", source: "motopress-bookings", tenantId: tenant });
    expect(started.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await waitForRun(stack.db.sql, started.runId)).status).toBe("completed");
  });

  it("startSync runs the chain on a hotel never synced: accommodations, then bookings; health reports both", async () => {
    const tenant = await newHotel("chain");
    const started = await client.startSync({ tenantId: tenant });
    expect(started.status).toBe("running");
    expect(typeof started.runId).toBe("string");
    expect((await waitForRun(stack.db.sql, started.runId)).status).toBe("completed");
    const children = await stack.db.sql`
      select source, status, started_at, completed_at from public.sync_runs
      where parent_run_id = ${started.runId} order by started_at`;
    expect(children.map((c) => [c.source, c.status])).toEqual([
      ["motopress-accommodations", "completed"],
      ["motopress-bookings", "completed"],
    ]);
    expect(children[0].completed_at <= children[1].started_at).toBe(true);

    const report = await client.health({ tenantId: tenant });
    expect(typeof report.generatedAt).toBe("string");
    expect(report.tenants.map((t) => t.tenantId)).toEqual([tenant]);
    const [health] = report.tenants;
    expect(health.slug).toBe("chain");
    expect(health.lastSuccessfulSync?.accommodations).toBeTruthy();
    expect(health.lastSuccessfulSync?.bookings).toBeTruthy();
    expect(health.activeRuns).toEqual([]);
    expect(health.integrity?.reservationsWithoutRoom).toBe(0);

    const all = await client.health();
    expect(all.tenants.map((t) => t.tenantId)).toContain(tenant);
  });

  it("streamProgress on the command center: both stages, then done", async () => {
    const tenant = await newHotel("stream-chain");
    const events: SyncEvent[] = [];
    const outcome = await client.streamProgress(
      "sync-command-center",
      { tenantId: tenant },
      (e) => void events.push(e),
    );
    expect(outcome.ok).toBe(true);
    const stages = new Set(events.flatMap((e) => (e.type === "progress" ? [e.progress.stage] : [])));
    expect(stages).toContain("accommodations");
    expect(stages).toContain("bookings");
    expect(events.at(-1)?.type).toBe("done");
  });

  it("aborting a stream stops watching (ABORTED); the run goes on to completion", async () => {
    const tenant = await newHotel("abort");
    const abort = new AbortController();
    const err = await rejection(
      client.streamProgress("motopress-bookings", { tenantId: tenant }, () => abort.abort(), {
        signal: abort.signal,
      }),
    );
    expect(err.code).toBe("ABORTED");
    const [{ id: runId }] = await stack.db.sql`
      select id from public.sync_runs where tenant_id = ${tenant} and source = 'motopress-bookings'`;
    expect((await waitForRun(stack.db.sql, runId)).status).toBe("completed");
  });

  it("health for an unknown tenant is 404 TENANT_NOT_FOUND, not an empty report", async () => {
    const unknown = crypto.randomUUID();
    const err = await rejection(client.health({ tenantId: unknown }));
    expect(err.status).toBe(404);
    expect(err.code).toBe("TENANT_NOT_FOUND");
  });
});
