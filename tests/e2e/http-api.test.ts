import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Stack, startStack } from "../helpers/stack.ts";
import { insertTenant } from "../helpers/db.ts";
import { claimRun } from "../../supabase/functions/_shared/runs/coordinator.ts";
import { logRecords } from "../../scripts/stack/lib/functions-server.ts";
import { pinnedPlatformDeno } from "../../scripts/stack/lib/platform-deno.ts";

let stack: Stack;
let tenant: string;
beforeAll(async () => {
  stack = await startStack();
  tenant = await insertTenant(stack.db.sql);
});
afterAll(async () => {
  await stack?.close();
});

const FUNCTIONS = ["motopress-accommodations", "motopress-bookings", "sync-command-center"];
const runCount = async () => (await stack.db.sql`select count(*)::int as n from public.sync_runs`)[0].n;

describe("auth", () => {
  it.each(FUNCTIONS)("%s: no key, wrong key -> 401 in the envelope", async (fn) => {
    const none = await stack.call(fn, { forceCancel: true }, { headers: { authorization: "" } });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe("UNAUTHORIZED");
    expect(none.body.error.message).toMatch(/Missing admin key/);
    const wrong = await stack.call(fn, { forceCancel: true }, {
      headers: { authorization: "Bearer nope-nope-nope-nope" },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toMatch(/not valid/);
  });

  it("accepts the key as `apikey` too", async () => {
    const res = await stack.call("motopress-bookings", { forceCancel: true }, {
      headers: { authorization: "", apikey: ADMIN_KEY },
    });
    expect(res.status).toBe(200);
  });
});

describe("the platform's Deno", () => {
  it("every function's worker runs under the version the hosted edge runtime embeds", async () => {
    for (const fn of [...FUNCTIONS, "room-status"]) {
      expect((await stack.call(fn, undefined, { method: "GET" })).status).toBeLessThan(500);
    }
    const started = logRecords(stack.server).filter((l) => l.message === "worker started");
    expect(new Set(started.map((l) => l.fn))).toEqual(new Set([...FUNCTIONS, "room-status"]));
    for (const line of started) expect(line.deno, line.fn).toBe(await pinnedPlatformDeno());
  });
});

describe("bad input: 4xx naming the problem, nothing written", () => {
  it("405 for a wrong method, with Allow", async () => {
    const res = await stack.call("motopress-bookings", undefined, { method: "PUT" });
    expect(res.status).toBe(405);
    expect(res.body.error.code).toBe("METHOD_NOT_ALLOWED");
    expect(res.headers.get("allow")).toContain("POST");
  });

  it("400 for malformed JSON", async () => {
    const before = await runCount();
    const res = await stack.call("motopress-bookings", undefined, { rawBody: '{"tenantId": ' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("INVALID_REQUEST");
    expect(res.body.error.message).toMatch(/not valid JSON/);
    expect(await runCount()).toBe(before);
  });

  it("400 naming each wrong or unknown field", async () => {
    const res = await stack.call("motopress-bookings", { tenantId: 42, forceCancel: "yes", colour: "red" });
    expect(res.status).toBe(400);
    const fields = res.body.error.fields.map((f: { field: string }) => f.field).sort();
    expect(fields).toEqual(["colour", "forceCancel", "tenantId"]);
  });

  it("400 when the tenant is missing, or combined with a continuation", async () => {
    expect((await stack.call("motopress-bookings", {})).body.error.fields).toEqual([
      { field: "tenantId", message: "Required: the tenant to sync." },
    ]);
    const both = await stack.call("motopress-bookings", { runId: crypto.randomUUID(), tenantId: tenant });
    expect(both.status).toBe(400);
    expect(both.body.error.fields[0].field).toBe("tenantId");
  });

  it("404 for an unknown tenant, on start and on forceCancel", async () => {
    const before = await runCount();
    const unknown = crypto.randomUUID();
    for (const body of [{ tenantId: unknown }, { tenantId: unknown, forceCancel: true }]) {
      const res = await stack.call("motopress-accommodations", body);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("TENANT_NOT_FOUND");
    }
    expect(await runCount()).toBe(before);
  });

  it("413 for a huge body", async () => {
    const res = await stack.call("motopress-bookings", undefined, {
      rawBody: JSON.stringify({ x: "a".repeat(200_000) }),
    });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("404 in the envelope for an unknown function path", async () => {
    const res = await stack.call("no-such-function", {});
    expect(res.status).toBe(404);
  });
});

describe("forceCancel", () => {
  const claim = (source: "motopress-bookings" | "motopress-accommodations", tenantId: string) =>
    claimRun(stack.db.sql, { tenantId, source, trigger: "manual", leaseSeconds: 60 }).then((r) => {
      if (r.outcome !== "claimed") throw new Error(r.outcome);
      return r.run.id;
    });

  it("per function: cancels that source only, for one tenant or all", async () => {
    const other = await insertTenant(stack.db.sql);
    const b1 = await claim("motopress-bookings", tenant);
    const b2 = await claim("motopress-bookings", other);
    const a1 = await claim("motopress-accommodations", tenant);
    const one = await stack.call("motopress-bookings", { tenantId: tenant, forceCancel: true });
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ cancelled: 1, runIds: [b1] });
    const all = await stack.call("motopress-bookings", { forceCancel: true });
    expect(all.body).toEqual({ cancelled: 1, runIds: [b2] });
    const [a] = await stack.db.sql`select status from public.sync_runs where id = ${a1}`;
    expect(a.status).toBe("running");
    await stack.call("motopress-accommodations", { forceCancel: true });
  });

  it("global, from the command center: every source, every tenant; the slot is free at once", async () => {
    const ids = [await claim("motopress-bookings", tenant), await claim("motopress-accommodations", tenant)];
    const res = await stack.call("sync-command-center", { forceCancel: true });
    expect(res.status).toBe(200);
    expect(res.body.cancelled).toBe(2);
    expect(res.body.runIds.sort()).toEqual(ids.sort());
    const again = await claimRun(stack.db.sql, {
      tenantId: tenant,
      source: "motopress-bookings",
      trigger: "manual",
      leaseSeconds: 60,
    });
    expect(again.outcome).toBe("claimed");
    await stack.call("sync-command-center", { forceCancel: true });
  });
});
