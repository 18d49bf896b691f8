// The dashboard client (shared/) against a real stack: Deno-served functions, a migrated
// database, and a simulated MotoPress site.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Stack, startStack } from "../helpers/stack.ts";
import { insertTenant } from "../helpers/db.ts";
import { freePort } from "../../scripts/stack/lib/database.ts";
import { registerTenant } from "../../scripts/lib/tenants.ts";
import { claimRun } from "../../supabase/functions/_shared/runs/coordinator.ts";
import { Simulator } from "../../tools/motopress-simulator/server.ts";
import { type SimulatorServer, startSimulatorServer } from "../../tools/motopress-simulator/node-server.ts";
import {
  createSyncClient,
  isSyncClientError,
  parseSse,
  type SyncClient,
  SyncClientError,
  type SyncEvent,
} from "../../shared/index.ts";

let stack: Stack;
let site: SimulatorServer;
let simulator: Simulator;
let client: SyncClient;
let tenant: string;

beforeAll(async () => {
  stack = await startStack();
  simulator = new Simulator({
    seed: 3,
    hotel: { today: "2026-11-22", types: 3, unitsPerType: 3, bookings: 150 },
  });
  // A little latency per page, so a stream sees progress before the end.
  simulator.setFaults({ latencyMsPerPage: 60 });
  site = await startSimulatorServer({ simulator });
  ({ tenantId: tenant } = await registerTenant(stack.db.sql, {
    slug: "client-hotel",
    name: "Client Hotel",
    timezone: "Europe/Madrid",
    siteUrl: site.url,
    ...simulator.credentials,
  }));
  client = createSyncClient({ url: stack.server.url, key: ADMIN_KEY });
});

afterAll(async () => {
  await site?.close();
  await stack?.close();
});

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

async function waitUntilIdle(tenantId: string, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const [{ n }] = await stack.db.sql`
      select count(*)::int as n from public.sync_runs where tenant_id = ${tenantId} and status in ('running', 'continuing')`;
    if (n === 0) return;
    if (Date.now() > until) throw new Error(`tenant ${tenantId} still has ${n} active run(s)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("forceCancel and cancelAll", () => {
  it("forceCancel per source, for one tenant; without a source, both sources", async () => {
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
    const started = await client.syncSource("motopress-bookings", { tenantId: tenant });
    expect(started).toMatchObject({ status: "running", source: "motopress-bookings", tenantId: tenant });
    expect(started.runId).toMatch(/^[0-9a-f-]{36}$/);
    await waitUntilIdle(tenant);
    const [run] = await stack.db.sql`select status from public.sync_runs where id = ${started.runId}`;
    expect(run.status).toBe("completed");
  });

  it("startSync runs the chain (accommodations, then bookings); health reports it", async () => {
    const started = await client.startSync({ tenantId: tenant });
    expect(started.status).toBe("running");
    expect(typeof started.runId).toBe("string");
    await waitUntilIdle(tenant);

    const report = await client.health({ tenantId: tenant });
    expect(typeof report.generatedAt).toBe("string");
    expect(report.tenants.map((t) => t.tenantId)).toEqual([tenant]);
    const [health] = report.tenants;
    expect(health.slug).toBe("client-hotel");
    expect(health.lastSuccessfulSync?.accommodations).toBeTruthy();
    expect(health.lastSuccessfulSync?.bookings).toBeTruthy();
    expect(health.activeRuns).toEqual([]);
    expect(health.integrity?.reservationsWithoutRoom).toBe(0);

    const all = await client.health();
    expect(all.tenants.map((t) => t.tenantId)).toContain(tenant);
  });

  it("streamProgress on the command center: both stages, then done", async () => {
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
    const abort = new AbortController();
    let runId: string | undefined;
    const err = await rejection(
      client.streamProgress("motopress-bookings", { tenantId: tenant }, () => abort.abort(), {
        signal: abort.signal,
      }),
    );
    expect(err.code).toBe("ABORTED");
    [{ id: runId }] = await stack.db.sql`
      select id from public.sync_runs where tenant_id = ${tenant} and source = 'motopress-bookings'
      order by started_at desc limit 1`;
    await waitUntilIdle(tenant);
    const [run] = await stack.db.sql`select status from public.sync_runs where id = ${runId!}`;
    expect(run.status).toBe("completed");
  });

  it("health for an unknown tenant is a typed error or an empty report, never a 500", async () => {
    try {
      const report = await client.health({ tenantId: crypto.randomUUID() });
      expect(report.tenants).toEqual([]);
    } catch (err) {
      expect(isSyncClientError(err)).toBe(true);
      expect((err as SyncClientError).status).toBeLessThan(500);
    }
  });
});

describe("parseSse", () => {
  async function* chunks(...parts: string[]) {
    for (const p of parts) yield p;
  }
  const collect = async (it: AsyncIterable<unknown>) => {
    const out: unknown[] = [];
    for await (const x of it) out.push(x);
    return out;
  };

  it("reassembles events split across chunks, with CRLF, comments and multi-line data", async () => {
    const messages = await collect(parseSse(chunks(
      ": stream open\r\n\r",
      "\nevent: progr",
      'ess\r\ndata: {"stage":"x",',
      '"current":1}\r\n\r\n: keep-alive\n\n',
      "event: done\ndata: line1\ndata: line2\n\n",
      "event: error\ndata: tail-without-blank-line",
    )));
    expect(messages).toEqual([
      { event: "progress", data: '{"stage":"x","current":1}' },
      { event: "done", data: "line1\nline2" },
      { event: "error", data: "tail-without-blank-line" },
    ]);
  });
});
