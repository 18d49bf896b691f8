// Secrets never leave, and outbound requests are contained: real Deno over HTTP, a real database,
// and small hostile HTTP servers playing the site. A secret planted as the tenant's consumer key
// and secret is looked for, after each failure path, in every run record and quarantine row, the
// functions' whole log output, the SSE stream, the run as GET shows it, and the health report.
import http from "node:http";
import type net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertTenant } from "../helpers/db.ts";
import { type Stack, startStack } from "../helpers/stack.ts";
import { startFunctionsServer } from "../../scripts/stack/lib/functions-server.ts";
import { waitForRun } from "../helpers/sim.ts";

// Not shaped like a MotoPress key (ck_/cs_): only the known-values net can catch these.
const SECRET = `planted-secret-${crypto.randomUUID()}`;
const KEY = `planted-key-${crypto.randomUUID()}`;

interface Site {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

/** An HTTP server on `host`; `handle` answers per the first path segment (the "mode"). */
async function startServer(
  host: string,
  handle: (mode: string, req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<Site> {
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? "");
    handle((req.url ?? "/").split("/")[1] ?? "", req, res);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://${host}:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let stack: Stack;
let site: Site;
let elsewhere: Site;
let internal: Site;

beforeAll(async () => {
  stack = await startStack({
    MOTOPRESS_TIMEOUT_MS: "300",
    MOTOPRESS_MAX_RETRIES: "0",
    MOTOPRESS_MAX_BODY_BYTES: String(64 * 1024),
  });
  // Another origin, where a redirect would carry the keys: it must never be asked anything.
  elsewhere = await startServer("127.0.0.1", (_mode, _req, res) => {
    res.writeHead(200, { "content-type": "application/json" }).end("[]");
  });
  // A service on an internal address (127.0.0.2 is loopback too, but not listed).
  internal = await startServer("127.0.0.2", (_mode, _req, res) => {
    res.writeHead(403, { "content-type": "application/json" })
      .end(JSON.stringify({ code: "internal", message: "INTERNAL-ONLY-DATA" }));
  });
  site = await startServer("127.0.0.1", (mode, req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const auth = req.headers.authorization ?? "";
    const basic = auth.startsWith("Basic ") ? Buffer.from(auth.slice(6), "base64").toString() : "";
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    switch (mode) {
      case "reset-query":
        // Ignores Basic auth (the query-string fallback kicks in), then drops the connection: the
        // runtime's network error names the request URL, keys included.
        if (auth) {
          return json(401, {
            code: "mphb_rest_cannot_view",
            message: "Sorry, you cannot view this resource.",
          });
        }
        req.socket.destroy();
        return;
      case "echo-401":
        // A site (or a WAF) that echoes what it received.
        return json(401, {
          code: "rest_bad_auth",
          message: `Rejected ${auth} (${basic}) key=${url.searchParams.get("consumer_key")} secret=${
            url.searchParams.get("consumer_secret")
          }`,
        });
      case "redirect":
        res.writeHead(302, { location: `${elsewhere.url}/steal${url.pathname}${url.search}` }).end();
        return;
      case "same-origin-redirect":
        if (url.pathname.startsWith("/same-origin-redirect/old/")) {
          res.writeHead(301, {
            location: url.pathname.replace("/same-origin-redirect/old/", "/echo-401/moved/") + url.search,
          }).end();
          return;
        }
        return json(500, { code: "unexpected", message: "not here" });
      case "redirect-query":
        // In query-string mode the keys are in the URL: a followed redirect would hand them over.
        if (auth) {
          return json(401, {
            code: "mphb_rest_cannot_view",
            message: "Sorry, you cannot view this resource.",
          });
        }
        res.writeHead(302, { location: `${elsewhere.url}/steal${url.pathname}${url.search}` }).end();
        return;
      case "cannot-view":
        // Neither Basic nor query-string keys are accepted (an unknown key, as most sites answer it).
        return json(401, { code: "mphb_rest_cannot_view", message: "Sorry, you cannot list resources." });
      case "strip-auth":
        // A proxy that strips Authorization: only query-string keys get through.
        if (auth) {
          return json(401, { code: "mphb_rest_cannot_view", message: "Sorry, you cannot list resources." });
        }
        res.writeHead(200, { "content-type": "application/json", "x-wp-total": "0", "x-wp-totalpages": "0" })
          .end("[]");
        return;
      case "hang":
        return; // never answers
      case "huge":
        return json(200, Array.from({ length: 2000 }, (_, i) => ({ id: i + 1, title: "x".repeat(100) })));
      default:
        return json(404, { code: "rest_no_route", message: "No route" });
    }
  });
});
afterAll(async () => {
  await Promise.all([site?.close(), elsewhere?.close(), internal?.close()]);
  await stack?.close();
});

async function tenantAt(siteUrl: string): Promise<string> {
  const tenantId = await insertTenant(stack.db.sql);
  await stack.db
    .sql`insert into private.motopress_credentials (tenant_id, site_url, consumer_key, consumer_secret)
                     values (${tenantId}, ${siteUrl}, ${KEY}, ${SECRET})`;
  return tenantId;
}

/** Everything that left the functions or was stored for this run, as one text. */
async function everythingAbout(
  runId: string,
  tenantId: string,
  sse: string,
  logFrom: number,
): Promise<string> {
  const rows = await stack.db.sql`
    select to_jsonb(r)::text as run from public.sync_runs r where r.id = ${runId} or r.parent_run_id = ${runId}`;
  const quarantine = await stack.db
    .sql`select to_jsonb(q)::text as q from public.sync_quarantine q where tenant_id = ${tenantId}`;
  const run = await stack.call(`motopress-accommodations?runId=${runId}`, undefined, { method: "GET" });
  const health = await stack.call(`sync-command-center?tenantId=${tenantId}`, undefined, { method: "GET" });
  return [
    ...rows.map((r) => r.run),
    ...quarantine.map((q) => q.q),
    JSON.stringify(run.body),
    JSON.stringify(health.body),
    sse,
    stack.server.output().slice(logFrom),
  ].join("\n");
}

const basicForm = () => Buffer.from(`${KEY}:${SECRET}`).toString("base64");

function expectNoSecret(text: string): void {
  for (const secret of [SECRET, KEY, encodeURIComponent(SECRET), basicForm()]) {
    expect(text.includes(secret), `the planted secret (${secret.slice(0, 20)}…) leaked`).toBe(false);
  }
}

/** Starts an accommodations sync over SSE and returns the stream's text and the run. */
async function syncOverSse(tenantId: string) {
  const logFrom = stack.server.output().length;
  const res = await fetch(`${stack.server.url}/functions/v1/motopress-accommodations`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      apikey: stack.env.SYNC_ADMIN_KEY,
      accept: "text/event-stream",
    },
    body: JSON.stringify({ tenantId }),
  });
  expect(res.status).toBe(200);
  const sse = await res.text();
  const [{ id }] = await stack.db.sql`
    select id from public.sync_runs where tenant_id = ${tenantId} order by started_at desc limit 1`;
  const run = await waitForRun(stack.db.sql, id);
  return { sse, run, logFrom };
}

describe("a planted secret never leaves, in every failure path", () => {
  // `cause`: the precise code behind UPSTREAM_ERROR, the one test_connection gives (stats.cause).
  const cases = [
    {
      mode: "reset-query",
      code: "UPSTREAM_ERROR",
      cause: "MOTOPRESS_UNAVAILABLE",
      message: /Network error talking to the site \(.*error sending request .*consumer_secret=\[REDACTED\]/,
    },
    {
      mode: "echo-401",
      code: "UPSTREAM_ERROR",
      cause: "MOTOPRESS_AUTH_FAILED",
      message: /refused the credentials/,
    },
    {
      mode: "redirect",
      code: "UPSTREAM_ERROR",
      cause: "MOTOPRESS_REDIRECT_REFUSED",
      message: /redirected \(302\) from http:\/\/127\.0\.0\.1:\d+ to http:\/\/127\.0\.0\.1:\d+/,
    },
    {
      mode: "hang",
      code: "UPSTREAM_ERROR",
      cause: "MOTOPRESS_TIMEOUT",
      message: /did not answer within 300 ms/,
    },
    {
      mode: "redirect-query",
      code: "UPSTREAM_ERROR",
      cause: "MOTOPRESS_REDIRECT_REFUSED",
      message: /redirected \(302\)/,
    },
    {
      mode: "huge",
      code: "UPSTREAM_ERROR",
      cause: "MOTOPRESS_RESPONSE_TOO_LARGE",
      message: /larger than 64 KB/,
    },
    // Our own words survive redaction: "by Basic auth" (a plain-http site: MotoPress ignores keys there).
    {
      mode: "cannot-view",
      code: "UPSTREAM_ERROR",
      cause: "MOTOPRESS_HTTPS_REQUIRED",
      message: /only over HTTPS \(WordPress's is_ssl\(\)\), by Basic auth and by query string alike/,
    },
  ];
  it.each(cases)(
    "$mode: the run fails clearly with its cause, and the secret is nowhere",
    async ({ mode, code, cause, message }) => {
      const tenantId = await tenantAt(`${site.url}/${mode}`);
      const { sse, run, logFrom } = await syncOverSse(tenantId);
      expect(run.status).toBe("failed");
      expect(run.error_code).toBe(code);
      expect(run.error_message).toMatch(message);
      // No credential was in the site's answer: nothing is redacted from our own words.
      if (mode === "cannot-view") expect(run.error_message).not.toContain("[REDACTED]");
      expect(run.stats.cause).toBe(cause);
      const shown = await stack.call(`motopress-accommodations?runId=${run.id}`, undefined, {
        method: "GET",
      });
      expect(shown.body.run.errorCause).toBe(cause);
      expect(sse).toContain(`"cause":"${cause}"`);
      expectNoSecret(await everythingAbout(run.id, tenantId, sse, logFrom));
    },
  );

  it("a redirect to another origin is never followed: the other server saw no request", () => {
    expect(elsewhere.requests).toEqual([]);
  });

  it("a same-origin redirect is followed (and the echo behind it is still redacted)", async () => {
    const tenantId = await tenantAt(`${site.url}/same-origin-redirect/old`);
    const { sse, run, logFrom } = await syncOverSse(tenantId);
    expect(run.error_message).toMatch(/refused the credentials/); // it reached the echo
    expect(site.requests.some((r) => r.startsWith("/echo-401/moved/"))).toBe(true);
    expectNoSecret(await everythingAbout(run.id, tenantId, sse, logFrom));
  });

  it("an oversized answer fails with a clear error naming the cap", async () => {
    const tenantId = await tenantAt(`${site.url}/huge`);
    const { run } = await syncOverSse(tenantId);
    expect(run.error_message).toMatch(/MOTOPRESS_MAX_BODY_BYTES/);
  });
});

describe("outbound requests are contained (SYNC_ALLOW_PRIVATE_HOSTS = the simulator's loopback only)", () => {
  it.each([
    {
      what: "a plain-http site on an unlisted host",
      url: () => internal.url,
      pattern: /uses plain http:\/\/.*Use the site's https:\/\/ URL/,
    },
    {
      what: "an https site on an unlisted loopback address",
      url: () => internal.url.replace("http:", "https:"),
      pattern: /resolves to a private, loopback or reserved address \(127\.0\.0\.2\)/,
    },
    {
      what: "a private network address",
      url: () => "https://10.20.30.40",
      pattern: /private, loopback or reserved address \(10\.20\.30\.40\)/,
    },
    {
      what: "the cloud metadata address",
      url: () => "https://169.254.169.254/latest",
      pattern: /169\.254\.169\.254/,
    },
    {
      what: "an IPv4-mapped IPv6 loopback",
      url: () => "https://[::ffff:127.0.0.2]",
      pattern: /private, loopback or reserved/,
    },
    {
      what: "a public http:// site",
      url: () => "http://hotel.example",
      pattern: /hotel\.example uses plain http:\/\//,
    },
  ])("refuses $what before sending anything", async ({ url, pattern }) => {
    const tenantId = await tenantAt(url());
    const { sse, run, logFrom } = await syncOverSse(tenantId);
    expect(run.status).toBe("failed");
    expect(run.error_code).toBe("UPSTREAM_ERROR");
    expect(run.error_message).toMatch(pattern);
    expectNoSecret(await everythingAbout(run.id, tenantId, sse, logFrom));
  });

  it("the internal service was never asked, so its data never reached the health report", async () => {
    expect(internal.requests).toEqual([]);
    const health = await stack.call("sync-command-center", undefined, { method: "GET" });
    expect(JSON.stringify(health.body)).not.toContain("INTERNAL-ONLY-DATA");
  });

  it("repair on a tenant whose stored site URL is malformed answers 409, not 500", async () => {
    const tenantId = await tenantAt("https://");
    const res = await stack.call("sync-command-center", { action: "repair", tenantId });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("TENANT_NOT_CONFIGURED");
    expect(res.body.error.message).toMatch(/not a valid URL/);
  });
});

describe("credentials go only where the hotel registered them", () => {
  /** A listener on a new origin (loopback, listed: only the origin rule can keep the secret from it). */
  let thief: Site & { auth: string[] };
  /** A listener on an unlisted loopback address: the outbound policy must keep everything from it. */
  let probe: Site;
  beforeAll(async () => {
    const auth: string[] = [];
    const server = await startServer("127.0.0.1", (_mode, req, res) => {
      auth.push(`${req.headers.authorization ?? ""} ${req.url ?? ""}`);
      res.writeHead(200, { "content-type": "application/json", "x-wp-total": "0", "x-wp-totalpages": "0" })
        .end("[]");
    });
    thief = Object.assign(server, { auth });
    probe = await startServer("127.0.0.2", (_mode, _req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end('{"title":"PROBED"}');
    });
  });
  afterAll(async () => {
    await Promise.all([thief?.close(), probe?.close()]);
  });

  const decoded = () =>
    thief.auth.map((a) => {
      const basic = a.match(/^Basic (\S+)/)?.[1];
      return basic ? `${Buffer.from(basic, "base64").toString()} ${a}` : a;
    }).join("\n");
  const testConnection = (body: Record<string, unknown>) =>
    stack.call("sync-command-center", { action: "test_connection", ...body });
  const fieldsOf = (res: { body: { error?: { fields?: { field: string }[] } } }) =>
    (res.body.error?.fields ?? []).map((f) => f.field).sort();

  it("test_connection goes through the outbound policy: an unlisted loopback address receives nothing", async () => {
    const port = new URL(probe.url).port;
    for (
      const [siteUrl, code] of [
        [probe.url, "MOTOPRESS_HTTPS_REQUIRED"],
        [`https://127.0.0.2:${port}`, "MOTOPRESS_URL_REFUSED"],
        [`https://[::ffff:127.0.0.2]:${port}`, "MOTOPRESS_URL_REFUSED"],
        ["https://169.254.169.254", "MOTOPRESS_URL_REFUSED"],
      ]
    ) {
      const res = await testConnection({ siteUrl, consumerKey: "ck_probe", consumerSecret: "cs_probe" });
      expect(res.status, siteUrl).toBe(200);
      expect(res.body, siteUrl).toMatchObject({ ok: false, code });
      expect(JSON.stringify(res.body)).not.toContain("PROBED");
    }
    expect(probe.requests).toEqual([]);
  });

  it("test_connection of a hotel with another origin uses only the credentials it is given", async () => {
    const tenantId = await tenantAt(`${site.url}/echo-401`);
    const refused = await testConnection({ tenantId, siteUrl: thief.url });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe("INVALID_REQUEST");
    expect(fieldsOf(refused)).toEqual(["consumerKey", "consumerSecret"]);
    expect(refused.body.error.fields[0].message).toMatch(/only ever sent to http:\/\/127\.0\.0\.1:\d+/);
    expect(thief.requests).toEqual([]);
    // Given both, the test goes there with those, and the stored ones stay home.
    const given = await testConnection({
      tenantId,
      siteUrl: thief.url,
      consumerKey: "ck_given_for_test",
      consumerSecret: "cs_given_for_test",
    });
    expect(given.status).toBe(200);
    expect(decoded()).toContain("ck_given_for_test:cs_given_for_test");
    expectNoSecret(decoded());
    // The stored site itself is still tested with the stored credentials.
    const home = await testConnection({ tenantId });
    expect(home.body).toMatchObject({ ok: false, code: "MOTOPRESS_AUTH_FAILED" });
    expectNoSecret(JSON.stringify(home.body));
  });

  it("moving a hotel to another origin needs its key and secret again; the next sync sends only the new ones", async () => {
    const tenantId = await tenantAt(`${site.url}/echo-401`);
    const [t] = await stack.db
      .sql`select slug, name, timezone from public.tenant_registry where tenant_id = ${tenantId}`;
    const save = (extra: Record<string, unknown>) =>
      stack.call("sync-command-center", {
        action: "save_tenant",
        tenantId,
        slug: t.slug,
        name: t.name,
        timezone: t.timezone,
        siteUrl: thief.url,
        ...extra,
      });
    const stored = async () =>
      (await stack.db.sql`select site_url, consumer_key, consumer_secret, secret_origin
                          from private.motopress_credentials where tenant_id = ${tenantId}`)[0];
    const before = await stored();
    const bare = await save({});
    expect(bare.status).toBe(400);
    expect(fieldsOf(bare)).toEqual(["consumerKey", "consumerSecret"]);
    const secretOnly = await save({ consumerSecret: "cs_new_secret_for_thief" });
    expect(secretOnly.status).toBe(400);
    expect(fieldsOf(secretOnly)).toEqual(["consumerKey"]);
    expect(await stored()).toEqual(before);

    // A writer that bypasses the API (SQL) cannot move the secret either: the sync refuses to send it.
    await stack.db
      .sql`update private.motopress_credentials set site_url = ${thief.url} where tenant_id = ${tenantId}`;
    const moved = await syncOverSse(tenantId);
    expect(moved.run.error_code).toBe("TENANT_NOT_CONFIGURED");
    expect(moved.run.error_message).toMatch(/not the one the consumer key and secret were entered for/);
    expect(thief.auth.filter((a) => a.includes(tenantId))).toEqual([]);
    expectNoSecret(decoded());

    const ok = await save({
      consumerKey: "ck_new_key_for_new_site",
      consumerSecret: "cs_new_secret_for_new_site",
    });
    expect(ok.status).toBe(200);
    const seen = thief.auth.length;
    const synced = await syncOverSse(tenantId);
    expect(synced.run.status).toBe("completed");
    const sent = decoded().split("\n").slice(seen).join("\n");
    expect(sent).toContain("ck_new_key_for_new_site:cs_new_secret_for_new_site");
    expectNoSecret(decoded());
  });

  it("a query-string fallback is said, with its risk and its fix, by the run and by test_connection", async () => {
    const tenantId = await tenantAt(`${site.url}/strip-auth`);
    const { run } = await syncOverSse(tenantId);
    expect(run.status).toBe("completed");
    expect(run.stats.auth).toMatchObject({ authMode: "query" });
    expect(run.stats.auth.warning).toMatch(/access logs/);
    expect(run.stats.auth.fix).toMatch(/Authorization header/);
    const tested = await testConnection({ tenantId });
    expect(tested.body).toMatchObject({ ok: true, auth: { authMode: "query" } });
    expect(tested.body.message).toMatch(/query-string keys.*access logs/);
    // Basic auth that works says nothing of the kind.
    const plain = await testConnection({ tenantId: await tenantAt(thief.url) });
    expect(plain.body).toMatchObject({ ok: true, auth: null });
  });

  it("an inactive hotel named by id is not synced (409 INVALID_OPERATION), by any function", async () => {
    const tenantId = await tenantAt(thief.url);
    await stack.db.sql`update public.tenant_registry set is_active = false where tenant_id = ${tenantId}`;
    for (const fn of ["motopress-accommodations", "motopress-bookings", "sync-command-center"]) {
      const res = await stack.call(fn, { tenantId });
      expect(res.status, fn).toBe(409);
      expect(res.body.error.code, fn).toBe("INVALID_OPERATION");
      expect(res.body.error.reasons[0], fn).toMatch(/inactive/);
    }
    const [{ n }] = await stack.db
      .sql`select count(*)::int as n from public.sync_runs where tenant_id = ${tenantId}`;
    expect(n).toBe(0);
  });
});

describe("configuration errors", () => {
  it("a too-short SYNC_ADMIN_KEY stops the functions at start: a 503 that echoes nothing, the reason in the log", async () => {
    const server = await startFunctionsServer({
      SUPABASE_DB_URL: stack.db.url,
      SUPABASE_URL: "http://127.0.0.1:1",
      SYNC_ADMIN_KEY: "short-key",
    });
    try {
      const res = await fetch(`${server.url}/functions/v1/motopress-bookings`, {
        method: "POST",
        headers: { "content-type": "application/json", apikey: "short-key" },
        body: JSON.stringify({ tenantId: crypto.randomUUID() }),
      });
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.error.code).toBe("SERVICE_MISCONFIGURED");
      // Unauthenticated callers learn nothing about the environment.
      expect(JSON.stringify(body)).not.toMatch(/SYNC_ADMIN_KEY|short-key|postgres:\/\//);
      expect(server.output()).toMatch(/SYNC_ADMIN_KEY is too short \(9 characters\)/);
      expect(server.output()).not.toContain("short-key");
    } finally {
      await server.stop();
    }
  });
});
