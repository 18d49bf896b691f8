// The console's API over real HTTP, signed in with operator JWTs: runs by id (JSON and SSE) on
// every function, the run list, hotels (the secret write-only), test connection, health
// drill-downs; a viewer reads but cannot act, and a refused call writes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSigningKey, jwksOf, operatorToken } from "../../scripts/stack/lib/local-auth.ts";
import { type Stack, startStack } from "../helpers/stack.ts";
import { type SimSite, startSite, tenantForSite, waitForRun } from "../helpers/sim.ts";

const key = generateSigningKey("ES256");
let stack: Stack;
let site: SimSite;
let tenant: string;
let operator: Record<string, string>;
let viewer: Record<string, string>;

beforeAll(async () => {
  site = await startSite({ seed: 15, hotel: { bookings: 60 } });
  // SUPABASE_URL is only known once the server has a port: tokens are checked against
  // SYNC_JWT_ISSUER, which the hosted default derives from SUPABASE_URL the same way.
  stack = await startStack({ SUPABASE_JWKS: jwksOf(key), SYNC_JWT_ISSUER: "http://local.test/auth/v1" });
  tenant = await tenantForSite(stack.db.sql, site);
  const as = (role: "operator" | "viewer") => ({
    authorization: `Bearer ${operatorToken(key, { supabaseUrl: "http://local.test", role })}`,
    apikey: "sb_publishable_local",
  });
  operator = as("operator");
  viewer = as("viewer");
});
afterAll(async () => {
  await site?.close();
  await stack?.close();
});

describe("operator API", () => {
  it("runs by id on every function (JSON and SSE), and the run list", async () => {
    const started = await stack.call("sync-command-center", { tenantId: tenant }, { headers: operator });
    expect(started.status).toBe(202);
    const runId = started.body.runId;
    // Re-attach by id while it runs (or just after): the stream ends with `done`.
    const sse = await fetch(`${stack.server.url}/functions/v1/motopress-bookings?runId=${runId}`, {
      headers: { ...viewer, accept: "text/event-stream" },
    });
    expect(sse.status).toBe(200);
    const text = await sse.text();
    expect(text).toMatch(/event: done/);
    await waitForRun(stack.db.sql, runId);

    const one = await stack.call(`sync-command-center?runId=${runId}`, undefined, {
      method: "GET",
      headers: viewer,
    });
    expect(one.status).toBe(200);
    expect(one.body.run).toMatchObject({ id: runId, status: "completed", tenantSlug: expect.any(String) });
    expect(one.body.run.children.map((c: { source: string }) => c.source)).toEqual([
      "motopress-accommodations",
      "motopress-bookings",
    ]);
    expect(one.body.run.children[1].progress).toMatchObject({
      stage: expect.any(String),
      current: expect.any(Number),
    });
    expect(JSON.stringify(one.body)).not.toMatch(/fencingToken|checkpoint/);
    const viaSource = await stack.call(`motopress-accommodations?runId=${runId}`, undefined, {
      method: "GET",
      headers: viewer,
    });
    expect(viaSource.body.run.id).toBe(runId);

    const missing = await stack.call(`sync-command-center?runId=${crypto.randomUUID()}`, undefined, {
      method: "GET",
      headers: viewer,
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("RUN_NOT_FOUND");
    const bad = await stack.call("motopress-bookings?runId=x", undefined, { method: "GET", headers: viewer });
    expect(bad.status).toBe(400);

    const list = await stack.call("sync-command-center?view=runs&limit=5", undefined, {
      method: "GET",
      headers: viewer,
    });
    expect(list.status).toBe(200);
    expect(list.body.active).toEqual([]);
    expect(list.body.recent[0]).toMatchObject({
      id: runId,
      source: "sync-command-center",
      status: "completed",
    });
  });

  it("hotels: add, edit keeping the write-only secret, slug clash, test connection in words", async () => {
    const { consumerKey, consumerSecret } = site.sim.credentials;
    const input = {
      action: "save_tenant",
      slug: "added-hotel",
      name: "Added Hotel",
      timezone: "Europe/Madrid",
      siteUrl: site.server.url,
      consumerKey,
      consumerSecret,
    };
    const created = await stack.call("sync-command-center", input, { headers: operator });
    expect(created.status).toBe(201);
    const id = created.body.tenantId;
    const { consumerSecret: _s, ...withoutSecret } = input;
    const edited = await stack.call("sync-command-center", {
      ...withoutSecret,
      tenantId: id,
      name: "Renamed",
    }, { headers: operator });
    expect(edited.status).toBe(200);
    const [creds] = await stack.db
      .sql`select consumer_secret from private.motopress_credentials where tenant_id = ${id}`;
    expect(creds.consumer_secret).toBe(consumerSecret);
    const listed = await stack.call("sync-command-center?view=tenants", undefined, {
      method: "GET",
      headers: viewer,
    });
    const mine = listed.body.tenants.find((t: { tenantId: string }) => t.tenantId === id);
    expect(mine).toMatchObject({
      name: "Renamed",
      siteUrl: site.server.url,
      configured: true,
      errorStreak: { accommodations: 0, bookings: 0 },
    });
    // Never the secret, nor the whole consumer key.
    expect(JSON.stringify(listed.body)).not.toContain(consumerSecret);
    expect(JSON.stringify(listed.body)).not.toContain(consumerKey);

    const clash = await stack.call("sync-command-center", { ...input, slug: "added-hotel" }, {
      headers: operator,
    });
    expect(clash.status).toBe(409);
    expect(clash.body.error).toMatchObject({
      code: "INVALID_OPERATION",
      reasons: [expect.stringMatching(/taken/)],
    });
    const invalid = await stack.call("sync-command-center", {
      ...input,
      slug: "Bad Slug",
      timezone: "Mars/Base",
      siteUrl: "ftp://x",
    }, { headers: operator });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      "siteUrl",
      "slug",
    ]);

    const good = await stack.call("sync-command-center", { action: "test_connection", tenantId: id }, {
      headers: operator,
    });
    expect(good.body).toMatchObject({
      ok: true,
      message: expect.stringMatching(/^Connected: \d+ accommodation types/),
    });
    const wrong = await stack.call("sync-command-center", {
      action: "test_connection",
      tenantId: id,
      consumerSecret: "cs_wrong",
    }, { headers: operator });
    expect(wrong.status).toBe(200);
    expect(wrong.body).toMatchObject({ ok: false, code: "MOTOPRESS_AUTH_FAILED" });
    expect(wrong.body.message).not.toContain("cs_wrong");
  });

  it("health drill-down lists the quarantined item behind the counter", async () => {
    await stack.db.sql`
      insert into public.sync_quarantine (tenant_id, entity, external_id, reason, payload)
      values (${tenant}, 'booking', '991', 'check_out_date is before check_in_date', ${
      stack.db.sql.json({ id: 991, pad: "x".repeat(1000) })
    })`;
    const res = await stack.call(`sync-command-center?view=details&tenantId=${tenant}`, undefined, {
      method: "GET",
      headers: viewer,
    });
    expect(res.status).toBe(200);
    expect(res.body.quarantined).toEqual([
      expect.objectContaining({ externalId: "991", reason: expect.stringMatching(/before/) }),
    ]);
    expect(res.body.quarantined[0].payloadExcerpt.length).toBeLessThan(310);
    expect(res.body.reservationsWithoutRooms).toEqual([]);
    const noTenant = await stack.call("sync-command-center?view=details", undefined, {
      method: "GET",
      headers: viewer,
    });
    expect(noTenant.status).toBe(400);
  });

  it("cancels one run by id with its children; a second cancel is a 409 with reasons", async () => {
    site.sim.setFaults({ latencyMsPerPage: 400 });
    try {
      const started = await stack.call("sync-command-center", { tenantId: tenant }, { headers: operator });
      const runId = started.body.runId;
      const cancelled = await stack.call("sync-command-center", { action: "cancel_run", runId }, {
        headers: operator,
      });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.runIds).toContain(runId);
      const run = await waitForRun(stack.db.sql, runId);
      expect(run.status).toBe("cancelled");
      const [{ active }] = await stack.db
        .sql`select count(*)::int as active from public.sync_runs where parent_run_id = ${runId} and status in ('running', 'continuing')`;
      expect(active).toBe(0);
      const again = await stack.call("sync-command-center", { action: "cancel_run", runId }, {
        headers: operator,
      });
      expect(again.status).toBe(409);
      expect(again.body.error).toMatchObject({
        code: "INVALID_OPERATION",
        reasons: [expect.stringMatching(/cancelled/)],
      });
      const unknown = await stack.call("sync-command-center", {
        action: "cancel_run",
        runId: crypto.randomUUID(),
      }, { headers: operator });
      expect(unknown.status).toBe(404);
    } finally {
      site.sim.resetFaults();
    }
  });

  it("a viewer cannot act: 403 on every POST, nothing written", async () => {
    const [{ n }] = await stack.db.sql`select count(*)::int as n from public.sync_runs`;
    for (
      const [fn, body] of [
        ["sync-command-center", { tenantId: tenant }],
        ["sync-command-center", { forceCancel: true }],
        ["sync-command-center", { action: "cancel_run", runId: crypto.randomUUID() }],
        ["motopress-bookings", { tenantId: tenant }],
        ["sync-command-center", {
          action: "save_tenant",
          slug: "v",
          name: "v",
          timezone: "UTC",
          siteUrl: "https://v.example",
          consumerKey: "k",
          consumerSecret: "s",
        }],
      ] as const
    ) {
      const res = await stack.call(fn, body, { headers: viewer });
      expect(res.status, `${fn} ${JSON.stringify(body)}`).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
    const [{ n: after }] = await stack.db.sql`select count(*)::int as n from public.sync_runs`;
    expect(after).toBe(n);
    const [{ t }] = await stack.db
      .sql`select count(*)::int as t from public.tenant_registry where slug = 'v'`;
    expect(t).toBe(0);
  });
});
