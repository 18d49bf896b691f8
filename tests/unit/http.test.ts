import { describe, expect, it } from "vitest";
import { requireAdminKey } from "../../supabase/functions/_shared/http/auth.ts";
import { readJson } from "../../supabase/functions/_shared/http/body.ts";
import { ApiError } from "../../supabase/functions/_shared/http/errors.ts";
import { createHandler } from "../../supabase/functions/_shared/http/handler.ts";
import { sseResponse } from "../../supabase/functions/_shared/http/sse.ts";
import { runRequestSchema, toCommand } from "../../supabase/functions/_shared/handlers/run-api.ts";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";

const KEY = "k".repeat(32);
const req = (headers: Record<string, string> = {}, body?: string, method = "POST") =>
  new Request("http://x/functions/v1/f", { method, headers, body });

describe("admin key", () => {
  it("accepts Bearer or apikey, rejects others with 401", async () => {
    await expect(requireAdminKey(req({ authorization: `Bearer ${KEY}` }), [KEY])).resolves.toBeUndefined();
    await expect(requireAdminKey(req({ apikey: KEY }), ["other".repeat(4), KEY])).resolves.toBeUndefined();
    // A user JWT in Authorization plus the key in apikey (what supabase-js sends) is fine.
    await expect(requireAdminKey(req({ authorization: "Bearer user.jwt", apikey: KEY }), [KEY])).resolves
      .toBeUndefined();
    const rejected: Record<string, string>[] = [{}, { authorization: `Bearer ${KEY}x` }, {
      authorization: KEY,
    }, { apikey: KEY.slice(1) }];
    for (const headers of rejected) {
      const err = await requireAdminKey(req(headers), [KEY]).catch((e) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err.status).toBe(401);
    }
  });
});

describe("JSON bodies", () => {
  const parse = (body: string, type = "application/json") =>
    readJson(req({ "content-type": type }, body), runRequestSchema);

  it("parses, treats an empty body as {}, rejects unknown keys by name", async () => {
    expect(await parse("")).toEqual({});
    const id = crypto.randomUUID();
    expect(await parse(JSON.stringify({ tenantId: id }))).toEqual({ tenantId: id });
    const err = await parse(JSON.stringify({ tenantId: id, extra: 1 })).catch((e) => e);
    expect(err.status).toBe(400);
    expect(err.details.fields).toEqual([{ field: "extra", message: "Unknown field." }]);
  });

  it("names malformed JSON, wrong types and wrong media types", async () => {
    expect((await parse("{").catch((e) => e)).message).toBe("Body is not valid JSON.");
    expect((await parse("[1]").catch((e) => e)).status).toBe(400);
    expect((await parse("null").catch((e) => e)).status).toBe(400);
    const wrong = await parse(JSON.stringify({ tenantId: "not-a-uuid", forceCancel: false })).catch((e) => e);
    expect(wrong.details.fields.map((f: { field: string }) => f.field)).toEqual(["tenantId", "forceCancel"]);
    expect((await parse("a=b", "application/x-www-form-urlencoded").catch((e) => e)).status).toBe(415);
  });

  it("maps bodies to one command", () => {
    const id = crypto.randomUUID();
    expect(toCommand({ tenantId: id }, true)).toEqual({ kind: "start", tenantId: id, trigger: "manual" });
    expect(toCommand({ forceCancel: true }, true)).toEqual({ kind: "cancel", tenantId: null });
    expect(toCommand({ runId: id }, true)).toEqual({ kind: "continue", runId: id });
    expect(toCommand({}, false)).toEqual({ kind: "start", tenantId: null, trigger: "manual" });
    expect(() => toCommand({}, true)).toThrow(ApiError);
    expect(() => toCommand({ runId: id, forceCancel: true }, true)).toThrow(/forceCancel/);
  });
});

describe("handler pipeline", () => {
  const log = () => {};
  it("turns our own bugs into a logged 500, and caller mistakes into 4xx", async () => {
    const logged: string[] = [];
    const h = createHandler({ POST: () => Promise.reject(new TypeError("bug")) }, {
      adminKeys: () => [KEY],
      log: (_l, m) => logged.push(m),
    });
    const res = await h(req({ authorization: `Bearer ${KEY}` }));
    expect(res.status).toBe(500);
    expect((await res.json()).error.code).toBe("INTERNAL_ERROR");
    expect(logged).toEqual(["unhandled error"]);
    expect((await h(req({}, undefined, "DELETE"))).status).toBe(405);
    expect((await h(req({}, undefined, "OPTIONS"))).status).toBe(204);
  });

  it("PostgreSQL's verdict that a value is not text it takes (22021, 22P05, 22P02) is a 400, not a 500", async () => {
    for (const code of ["22021", "22P05", "22P02"]) {
      const pgError = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code });
      const h = createHandler({ POST: () => Promise.reject(pgError) }, { adminKeys: () => [KEY], log });
      const res = await h(req({ authorization: `Bearer ${KEY}` }));
      expect(res.status, code).toBe(400);
      const body = await res.json();
      expect(body.error.code).toBe("INVALID_REQUEST");
      expect(body.error.fields[0].message).toMatch(/NUL/);
    }
  });

  it("refuses to serve without any admin key configured", async () => {
    const h = createHandler({ POST: () => Promise.resolve(new Response("ok")) }, {
      adminKeys: () => [],
      log,
    });
    const res = await h(req({ authorization: `Bearer ${KEY}` }));
    expect(res.status).toBe(503);
  });
});

describe("SSE", () => {
  it("streams events and keep-alive comments, then closes", async () => {
    const res = sseResponse(async (sink) => {
      sink.send("progress", { current: 1 });
      await new Promise((r) => setTimeout(r, 30));
      sink.send("done", { ok: true });
    }, { keepAliveMs: 5 });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const text = await res.text();
    expect(text).toContain('event: progress\ndata: {"current":1}\n\n');
    expect(text).toContain(": keep-alive\n\n");
    expect(text.trim().endsWith('event: done\ndata: {"ok":true}')).toBe(true);
  });
});

describe("config", () => {
  const base = { SUPABASE_DB_URL: "postgres://x", SUPABASE_URL: "http://h/" };
  it("reads defaults and the platform's keys", () => {
    const c = loadConfig({
      ...base,
      SYNC_ADMIN_KEY: KEY,
      SUPABASE_SECRET_KEYS: JSON.stringify({ default: "sb_secret_" + "x".repeat(20) }),
    });
    expect(c.leaseSeconds).toBe(60);
    expect(c.heartbeatIntervalMs).toBe(20_000);
    expect(c.supabaseUrl).toBe("http://h");
    expect(c.adminKeys).toEqual([KEY, "sb_secret_" + "x".repeat(20)]);
  });
  it("names what is missing or wrong", () => {
    expect(() => loadConfig({})).toThrow(
      "Missing environment: SYNC_DB_URL or SUPABASE_DB_URL, SUPABASE_URL.",
    );
    expect(() => loadConfig({ ...base, SYNC_LEASE_SECONDS: "0" })).toThrow(
      /SYNC_LEASE_SECONDS must be an integer/,
    );
  });
});
