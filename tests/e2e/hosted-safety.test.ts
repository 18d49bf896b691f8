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
  const cases = [
    {
      mode: "reset-query",
      code: "UPSTREAM_ERROR",
      message: /Network error talking to the site \(.*error sending request .*consumer_secret=\[REDACTED\]/,
    },
    { mode: "echo-401", code: "UPSTREAM_ERROR", message: /refused the credentials/ },
    {
      mode: "redirect",
      code: "UPSTREAM_ERROR",
      message: /redirected \(302\) from http:\/\/127\.0\.0\.1:\d+ to http:\/\/127\.0\.0\.1:\d+/,
    },
    { mode: "hang", code: "UPSTREAM_ERROR", message: /did not answer within 300 ms/ },
    { mode: "redirect-query", code: "UPSTREAM_ERROR", message: /redirected \(302\)/ },
    { mode: "huge", code: "UPSTREAM_ERROR", message: /larger than 64 KB/ },
  ];
  it.each(cases)(
    "$mode: the run fails clearly, and the secret is nowhere",
    async ({ mode, code, message }) => {
      const tenantId = await tenantAt(`${site.url}/${mode}`);
      const { sse, run, logFrom } = await syncOverSse(tenantId);
      expect(run.status).toBe("failed");
      expect(run.error_code).toBe(code);
      expect(run.error_message).toMatch(message);
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
