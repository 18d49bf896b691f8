// Reliability harness 4: hostile callers. A seeded fuzz of methods, headers, query strings and
// bodies (malformed JSON, wrong types, huge and streamed bodies, unknown fields, SQL and script
// strings, unicode, nesting, arrays, null, numbers) against every function (room-status too, where
// it exists), with the admin key, operator and viewer JWTs, and hostile JWTs (forged, alg none,
// expired, wrong audience or issuer, another project's key, role-less). Never a 5xx; every non-2xx
// answer is the error envelope with an UPPER_SNAKE code; nothing is written. At
// RELIABILITY_SCALE=large it sends at least 10,000 requests.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type Stack, startStack } from "../helpers/stack.ts";
import { type SimSite, startSite, tenantForSite, waitFor } from "../helpers/sim.ts";
import { budgetMs, intBetween, pick, rngFor, SCALE, scaled } from "./harness.ts";
import { generateSigningKey, jwksOf, operatorToken, signJwt } from "../../scripts/stack/lib/local-auth.ts";

const FUNCTIONS: string[] = ["motopress-accommodations", "motopress-bookings", "sync-command-center"];

let stack: Stack;
let site: SimSite;
let tenant: string;
const projectKey = generateSigningKey("ES256");
const otherProjectKey = generateSigningKey("ES256", projectKey.kid);
/** Tokens by kind; filled once the server (and so the issuer, <SUPABASE_URL>/auth/v1) is known. */
const tokens: Record<string, string> = {};
let hasRoomStatus = false;

beforeAll(async () => {
  stack = await startStack({ SUPABASE_JWKS: jwksOf(projectKey) });
  // A real tenant with working credentials: a request that slipped through would start a sync and write.
  site = await startSite({ seed: 171, hotel: { bookings: 40 } });
  tenant = await tenantForSite(stack.db.sql, site);
  const url = stack.server.url;
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: `${url}/auth/v1`,
    aud: "authenticated",
    exp: now + 3600,
    app_metadata: { sync_role: "operator" },
  };
  const good = operatorToken(projectKey, { supabaseUrl: url });
  const [h, p, sig] = good.split(".");
  Object.assign(tokens, {
    operator: good,
    viewer: operatorToken(projectKey, { supabaseUrl: url, role: "viewer" }),
    forged: `${h}.${p}.${sig.slice(0, -4)}${sig.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`,
    algNone: `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${p}.`,
    expired: operatorToken(projectKey, { supabaseUrl: url, ttlSeconds: -600 }),
    wrongAudience: signJwt({ ...claims, aud: "anon" }, projectKey),
    wrongIssuer: signJwt({ ...claims, iss: "https://other-project.supabase.co/auth/v1" }, projectKey),
    otherProject: operatorToken(otherProjectKey, { supabaseUrl: url }),
    roleless: operatorToken(projectKey, { supabaseUrl: url, role: null }),
    hs256NoSecret: signJwt(claims, { secret: "x".repeat(40) }),
  });
  // room-status (contract §6) joins the fuzz where this build has it.
  const probe = await stack.call(`room-status?tenantId=${tenant}`, undefined, { method: "GET" });
  hasRoomStatus = probe.status !== 404 || probe.body?.error?.code !== "FUNCTION_NOT_FOUND";
  if (hasRoomStatus) FUNCTIONS.push("room-status");
  else console.warn("hostile callers: no room-status function on this build; it is not fuzzed.");
});
afterAll(async () => {
  await site?.close();
  await stack?.close();
});

async function snapshot() {
  const [row] = await stack.db.sql`
    select (select count(*) from public.sync_runs)::int as sync_runs,
           (select count(*) from public.tenant_registry)::int as tenant_registry,
           (select count(*) from public.guest_reservations)::int as guest_reservations,
           (select count(*) from hotels.accommodation_units)::int as accommodation_units,
           (select count(*) from private.motopress_credentials)::int as credentials,
           (select max(updated_at) from public.tenant_registry)::text as tenants_updated,
           (select max(updated_at) from private.motopress_credentials)::text as credentials_updated,
           (select count(*) from public.sync_quarantine)::int as quarantine`;
  if (hasRoomStatus) {
    const [rooms] = await stack.db.sql`
      select (select count(*) from hotels.unit_blocks)::int as unit_blocks,
             (select count(*) from hotels.room_status_changes)::int as room_status_changes,
             (select string_agg(housekeeping::text || room_status::text, ',' order by id) from hotels.accommodation_units) as unit_states`;
    return { ...row, ...rooms };
  }
  return row;
}

// ---------------------------------------------------------------- the generator

type Rng = () => number;

const SQL_AND_SCRIPT = [
  "'; drop table public.sync_runs; --",
  "1 OR 1=1",
  '" or ""="',
  "x' union select consumer_secret from private.motopress_credentials --",
  "<script>alert(1)</script>",
  "<img src=x onerror=alert(1)>",
  "{{7*7}}",
  "${process.exit()}",
  "../../etc/passwd",
  "%00",
  "\u0000",
  "null",
  "undefined",
  "NaN",
];
const UNICODE = [
  "ｔｅｎａｎｔ",
  "\u202e" + "dIdaolyap",
  "🏨🛏️",
  "Ω≈ç√∫",
  "\ud800",
  "\uffff",
  "ÆØÅ-ß",
  "\u200b",
  "é".normalize("NFD"),
];

function randomUuid(rng: Rng): string {
  const h = () => Math.floor(rng() * 16).toString(16);
  const s = (n: number) => Array.from({ length: n }, h).join("");
  return `${s(8)}-${s(4)}-4${s(3)}-${pick(rng, ["8", "9", "a", "b"])}${s(3)}-${s(12)}`;
}

/** A value that is never a valid tenant id, run id or flag. */
function hostileScalar(rng: Rng, depth = 0): unknown {
  switch (intBetween(rng, 0, 13)) {
    case 0:
      return pick(rng, SQL_AND_SCRIPT);
    case 1:
      return pick(rng, UNICODE);
    case 2:
      return pick(rng, [0, -1, 42, 1e308, -0, 3.14, Number.MAX_SAFE_INTEGER + 2]);
    case 3:
      return null;
    case 4:
      return pick(rng, [false, "true", "false", 1, "1", "yes"]);
    case 5:
      return "a".repeat(intBetween(rng, 1000, 20_000));
    case 6:
      return depth < 3 ? [hostileScalar(rng, depth + 1), hostileScalar(rng, depth + 1)] : [];
    case 7:
      return depth < 3 ? { tenantId: hostileScalar(rng, depth + 1), $gt: "" } : {};
    case 8:
      return randomUuid(rng).toUpperCase() + " ";
    case 9:
      return randomUuid(rng).replaceAll("-", "");
    case 10:
      return `${randomUuid(rng)}'; --`;
    case 11:
      return "";
    case 12:
      return " ";
    default:
      return pick(rng, [{}, [], [[]], { "": "" }]);
  }
}

const UNKNOWN_FIELDS = [
  "colour",
  "tenant_id",
  "TenantId",
  "__proto__",
  "constructor",
  "$where",
  "tenantId ",
  "",
  "runid",
  "force_cancel",
  "🏨",
  "a".repeat(300),
];

/** A JSON body that must be refused: every object carries at least one poison (bad value, unknown field, unknown id). */
function hostileBody(rng: Rng): unknown {
  const kind = intBetween(rng, 0, 9);
  if (kind === 0) {
    // Not an object at all; the scalar generator can draw `{}`, which is a valid start: wrap it.
    const value = hostileScalar(rng);
    return JSON.stringify(value) === "{}" ? [value] : value;
  }
  if (kind === 1) return [{ tenantId: tenant }];
  const body: Record<string, unknown> = {};
  const known = ["tenantId", "forceCancel", "runId", "trigger"] as const;
  for (const k of known) {
    if (rng() < 0.4) body[k] = pick(rng, [hostileScalar(rng), tenant, true, "manual", randomUuid(rng)]);
  }
  // The console's and room-status's actions, with their fields: each still gets a poison below.
  if (rng() < 0.35) {
    body.action = pick(rng, [
      "save_tenant",
      "test_connection",
      "cancel_run",
      "repair",
      "check_in",
      "check_out",
      "undo_check_in",
      "undo_check_out",
      "set_housekeeping",
      "block",
      "unblock",
      "reconcile",
      hostileScalar(rng),
    ]);
    const extra: Record<string, unknown> = {
      slug: pick(rng, ["hostile", "Hostile!", hostileScalar(rng)]),
      name: pick(rng, ["Hostile", hostileScalar(rng)]),
      timezone: pick(rng, ["UTC", "Mars/Base", hostileScalar(rng)]),
      siteUrl: pick(rng, [
        "http://169.254.169.254/latest/meta-data",
        "file:///etc/passwd",
        "http://127.0.0.1:1",
        hostileScalar(rng),
      ]),
      consumerKey: pick(rng, ["ck_x", hostileScalar(rng)]),
      consumerSecret: pick(rng, ["cs_x", hostileScalar(rng)]),
      reservationId: pick(rng, [randomUuid(rng), hostileScalar(rng)]),
      unitId: pick(rng, [randomUuid(rng), hostileScalar(rng)]),
      blockId: pick(rng, [randomUuid(rng), hostileScalar(rng)]),
      housekeeping: pick(rng, ["clean", "filthy", hostileScalar(rng)]),
      kind: pick(rng, ["out_of_service", "broken", hostileScalar(rng)]),
      startsOn: pick(rng, ["2026-12-01", "2026-13-45", hostileScalar(rng)]),
      endsOn: pick(rng, ["2026-12-05", "yesterday", hostileScalar(rng)]),
      reason: pick(rng, ["hostile", hostileScalar(rng)]),
      force: pick(rng, [true, "true", hostileScalar(rng)]),
      apply: pick(rng, [true, "yes", hostileScalar(rng)]),
    };
    for (const [k, v] of Object.entries(extra)) if (rng() < 0.3) body[k] = v;
  }
  // The poison that makes the request invalid (or aimed at nothing), whatever was drawn above.
  switch (intBetween(rng, 0, 5)) {
    case 0: {
      // defineProperty: an assignment to `__proto__` would set the prototype, not a field.
      Object.defineProperty(body, pick(rng, UNKNOWN_FIELDS), {
        value: hostileScalar(rng),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      break;
    }
    case 1:
      body.tenantId = hostileScalar(rng);
      break;
    case 2:
      body.forceCancel = pick(rng, ["true", 1, false, null, "yes", [true], { value: true }]);
      break;
    case 3:
      body.runId = hostileScalar(rng);
      break;
    case 4:
      body.trigger = pick(rng, ["CRON", "repair", "parent", "cron ", 1, null, ["cron"], "cron'; --"]);
      break;
    default:
      // Well-formed, but aimed at a tenant or run that does not exist.
      if (rng() < 0.5) {
        for (const k of Object.keys(body)) delete body[k];
        body.tenantId = randomUuid(rng);
        if (rng() < 0.5) body.forceCancel = true;
      } else {
        for (const k of Object.keys(body)) delete body[k];
        body.runId = randomUuid(rng);
      }
  }
  // A valid start must never come out of the generator (an empty object starts the command center).
  if (Object.keys(body).length === 0) body.colour = "red";
  return body;
}

const MALFORMED = [
  '{"tenantId": ',
  "{",
  "[",
  "tru",
  '{"a":1,}',
  "{'tenantId': 'x'}",
  '{"tenantId":"x"}{"y":1}',
  "\ufeff{}x",
  '{"tenantId": "\\ud800"',
  "NaN",
  "{tenantId: 1}",
  '{"__proto__": {"admin": true}',
  "<xml/>",
  "tenantId=abc&forceCancel=true",
];

interface Case {
  fn: string;
  method: string;
  query: string;
  headers: Record<string, string>;
  body: string | Uint8Array | ReadableStream<Uint8Array> | undefined;
  describe: string;
}

/** encodeURIComponent, except that a lone surrogate becomes its (invalid) UTF-8 bytes, percent-encoded. */
function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return s.split(/[\ud800-\udfff]/).map(encodeURIComponent).join("%ED%A0%80");
  }
}

function hostileQuery(rng: Rng): string {
  return pick(rng, [
    `tenantId=${enc(String(hostileScalar(rng)).slice(0, 3000))}`,
    `tenantId=${randomUuid(rng)}`,
    `tenantId=${tenant}&tenantId=${randomUuid(rng)}`,
    `tenantId=${tenant}&colour=red`,
    `tenantId[]=${tenant}`,
    `foo=${enc(pick(rng, SQL_AND_SCRIPT))}`,
    "tenantId=%E0%A4%A",
    "tenantId=%00",
    `x=${"y".repeat(intBetween(rng, 100, 6000))}`,
    "tenantId",
    "=&&=",
    `runId=${randomUuid(rng)}`,
    `runId=${enc(String(hostileScalar(rng)).slice(0, 200))}`,
    `view=${pick(rng, ["runs", "tenants", "details", "secrets", "RUNS", ""])}&tenantId=${randomUuid(rng)}`,
    `view=runs&limit=${pick(rng, ["0", "-1", "1e9", "abc", "201"])}`,
    `view=details`,
  ]);
}

function generateCase(rng: Rng, i: number): Case {
  const method = pick(rng, [
    "POST",
    "POST",
    "POST",
    "POST",
    "POST",
    "POST",
    "POST",
    "POST",
    "GET",
    "GET",
    "GET",
    "PUT",
    "DELETE",
    "PATCH",
    "HEAD",
    "OPTIONS",
  ]);
  // GET is the command center's health report (and, with ?runId, any function's run).
  const fn = method === "GET" && rng() < 0.6 ? "sync-command-center" : FUNCTIONS[i % FUNCTIONS.length];
  const headers: Record<string, string> = { "content-type": "application/json" };
  const notes: string[] = [];
  // Auth: mostly the real key or an operator's JWT (so that validation is what is tested),
  // sometimes a viewer's (reads only), sometimes hostile.
  const auth = rng();
  if (auth < 0.6) headers.authorization = `Bearer ${ADMIN_KEY}`;
  else if (auth < 0.75) {
    headers.authorization = `Bearer ${tokens.operator}`;
    headers.apikey = "sb_publishable_hostile";
    notes.push("operator jwt");
  } else if (auth < 0.8) {
    headers.authorization = `Bearer ${tokens.viewer}`;
    notes.push("viewer jwt");
  } else if (auth < 0.9) {
    const kind = pick(rng, [
      "forged",
      "algNone",
      "expired",
      "wrongAudience",
      "wrongIssuer",
      "otherProject",
      "roleless",
      "hs256NoSecret",
    ]);
    headers.authorization = `Bearer ${tokens[kind]}`;
    notes.push(`hostile jwt ${kind}`);
  } else {
    const variant = pick(rng, [
      { authorization: "" },
      { authorization: "Bearer " },
      { authorization: `Basic ${Buffer.from(`${ADMIN_KEY}:x`).toString("base64")}` },
      { authorization: `Bearer ${ADMIN_KEY}x` },
      { authorization: `Bearer ${ADMIN_KEY.toUpperCase()}` },
      { authorization: `Bearer ${"k".repeat(8000)}` },
      { authorization: "Bearer ' or 1=1 --" },
      { apikey: "<script>" },
      { apikey: ADMIN_KEY.slice(0, -1) },
    ]);
    Object.assign(headers, variant);
    notes.push(`auth ${JSON.stringify(variant).slice(0, 80)}`);
  }
  if (rng() < 0.15) {
    headers["content-type"] = pick(rng, [
      "text/plain",
      "text/html",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/json; charset=utf-16",
      "application/vnd.api+json",
      "application/xml",
      "*/*",
      "garbage",
    ]);
    notes.push(`content-type ${headers["content-type"]}`);
  }
  if (rng() < 0.1) {
    headers.accept = pick(rng, ["text/event-stream", "application/xml", "*/*", "text/html"]);
    notes.push(`accept ${headers.accept}`);
  }
  if (rng() < 0.05) headers["x-forwarded-for"] = "127.0.0.1, ' or 1=1";

  let query = "";
  if (method === "GET" || rng() < 0.1) {
    if (rng() < 0.85) query = hostileQuery(rng);
    if (query) notes.push(`query ${query.slice(0, 80)}`);
  }

  let body: Case["body"];
  if (method !== "GET" && method !== "HEAD") {
    const b = rng();
    if (b < 0.55) {
      const value = hostileBody(rng);
      body = JSON.stringify(value);
      notes.push(`body ${body.slice(0, 120)}`);
    } else if (b < 0.75) {
      body = pick(rng, MALFORMED);
      notes.push(`raw ${JSON.stringify(body)}`);
    } else if (b < 0.82) {
      const depth = intBetween(rng, 100, 5000);
      body = "[".repeat(depth) + "]".repeat(depth);
      notes.push(`nested arrays depth ${depth}`);
    } else if (b < 0.88) {
      const size = pick(rng, [64 * 1024 + 1, 200_000, 1_000_000]);
      body = JSON.stringify({ tenantId: tenant, pad: "x".repeat(size) });
      notes.push(`huge body ${size}`);
    } else if (b < 0.92) {
      // Streamed, so no content-length: the size limit must hold while reading.
      const size = pick(rng, [100_000, 600_000]);
      const chunk = new TextEncoder().encode("x".repeat(16_384));
      let sent = 0;
      body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode('{"pad":"'));
        },
        pull(c) {
          if (sent >= size) return c.close();
          sent += chunk.byteLength;
          c.enqueue(chunk);
        },
      });
      notes.push(`streamed body ${size}`);
    } else if (b < 0.96) {
      body = new Uint8Array([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x22, 0x7d]); // invalid UTF-8
      notes.push("invalid UTF-8");
    } else {
      body = undefined;
      notes.push("no body");
      // An empty body is `{}`: a valid start for the command center, so poison it with a query string.
      if (fn === "sync-command-center" && method === "POST") {
        headers.authorization = "Bearer wrong-key-wrong-key-0000";
      }
    }
  }
  return { fn, method, query, headers, body, describe: `${method} ${fn} ${notes.join(" | ")}` };
}

async function send(c: Case) {
  const url = `${stack.server.url}/functions/v1/${c.fn}${c.query ? `?${c.query}` : ""}`;
  const init: RequestInit & { duplex?: "half" } = {
    method: c.method,
    headers: c.headers,
    body: c.body as BodyInit | undefined,
  };
  if (c.body instanceof ReadableStream) init.duplex = "half";
  const res = await fetch(url, init);
  const text = await res.text();
  // deno-lint-ignore no-explicit-any -- a JSON answer; each test reads the fields it asserts
  let json: any = undefined;
  try {
    json = JSON.parse(text);
  } catch { /* checked below */ }
  return { status: res.status, text, json, contentType: res.headers.get("content-type") ?? "" };
}

describe("hostile caller fuzz", () => {
  it("no 5xx, every refusal in the error envelope, nothing written", async () => {
    const rng = rngFor("hostile-callers");
    // 800 by default; at RELIABILITY_SCALE=large (x5) at least 10,000.
    const cases = SCALE >= 5 ? Math.max(10_000, scaled(800)) : scaled(800);
    const before = await snapshot();
    const byStatus: Record<string, number> = {};
    const byCode: Record<string, number> = {};
    const problems: string[] = [];
    let accepted = 0;

    for (let i = 0; i < cases; i++) {
      const c = generateCase(rng, i);
      let res: Awaited<ReturnType<typeof send>>;
      try {
        res = await send(c);
      } catch (err) {
        problems.push(`#${i} ${c.describe}: request failed (${(err as Error).message}; connection dropped?)`);
        continue;
      }
      byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
      if (res.status >= 500) {
        // The server's own log line says which bug it was.
        const logged = stack.server.output().split("\n").filter((l) =>
          l.includes('"level":"error"')
        ).slice(-1)[0] ?? "";
        problems.push(
          `#${i} ${c.describe}: ${res.status} ${res.text.slice(0, 300)} | server: ${logged.slice(0, 1500)}`,
        );
      }
      // A viewer or a hostile token never gets past the role check with a POST.
      if (c.method === "POST" && /viewer jwt|hostile jwt/.test(c.describe) && res.status < 400) {
        problems.push(`#${i} ${c.describe}: a ${res.status} for a POST that must be refused`);
      }
      if (res.status >= 200 && res.status < 300) accepted++;
      else if (c.method !== "HEAD") {
        const err = res.json?.error;
        const ok = err && typeof err === "object" && typeof err.code === "string" &&
          /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/.test(err.code) &&
          typeof err.message === "string" && err.message.length > 0 &&
          res.contentType.includes("application/json");
        if (!ok) {
          problems.push(
            `#${i} ${c.describe}: ${res.status} not the error envelope: ${res.text.slice(0, 300)}`,
          );
        } else byCode[err.code] = (byCode[err.code] ?? 0) + 1;
      }
      // Writes are checked after every request, so a finding names its input.
      const now = await snapshot();
      if (JSON.stringify(now) !== JSON.stringify(before)) {
        problems.push(`#${i} ${c.describe}: wrote (${JSON.stringify(before)} -> ${JSON.stringify(now)})`);
        break;
      }
    }

    console.log(
      `hostile caller fuzz (${FUNCTIONS.join(", ")}): requests=${cases}, accepted (2xx)=${accepted}, 5xx=${
        problems.filter((p) => / 5\d\d /.test(p)).length
      }, ` +
        `problems=${problems.length}, by status ${JSON.stringify(byStatus)}, by code ${
          JSON.stringify(byCode)
        }`,
    );
    expect(problems).toEqual([]);
    expect(await snapshot()).toEqual(before);
    // The fuzz reached the validation layer, not just the auth check.
    expect(byCode.INVALID_REQUEST ?? 0).toBeGreaterThan(cases / 10);
    expect(byCode.FORBIDDEN ?? 0).toBeGreaterThan(0);
    // Positive control: the write detector does see a write (a valid start creates a run).
    const valid = await stack.call("motopress-accommodations", { tenantId: tenant });
    expect(valid.status).toBe(202);
    expect((await snapshot()).sync_runs).toBe(before.sync_runs + 1);
  }, budgetMs(90_000));
});

describe("text the database or Basic auth cannot take", () => {
  it("is a 400 naming the field, never a 500, and writes nothing", async () => {
    // The fuzz's positive control started a sync: let it finish writing first.
    await waitFor(async () =>
      (await stack.db
        .sql`select count(*)::int as n from public.sync_runs where status in ('running', 'continuing')`)[0]
        .n === 0
    );
    const [t] = await stack.db
      .sql`select slug, name, timezone from public.tenant_registry where tenant_id = ${tenant}`;
    const hotel = {
      action: "save_tenant",
      slug: "new-hotel",
      name: "New Hotel",
      timezone: "UTC",
      siteUrl: "https://hotel.example",
      consumerKey: "ck_0123456789abcdef",
      consumerSecret: "cs_0123456789abcdef",
    };
    const edit = { ...hotel, tenantId: tenant, slug: t.slug, name: t.name, timezone: t.timezone };
    const test = {
      action: "test_connection",
      siteUrl: "https://hotel.example",
      consumerKey: "ck_x1",
      consumerSecret: "cs_x1",
    };
    const block = {
      tenantId: tenant,
      action: "block",
      unitId: crypto.randomUUID(),
      kind: "out_of_service",
      startsOn: "2026-12-01",
      endsOn: "2026-12-05",
    };
    const cases: [string, Record<string, unknown>, string][] = [
      ["sync-command-center", { ...hotel, name: "Hotel\u0000Nul" }, "name"],
      ["sync-command-center", { ...hotel, timezone: "UTC\u0000" }, "timezone"],
      ["sync-command-center", { ...hotel, slug: "hotel\u0000" }, "slug"],
      ["sync-command-center", { ...hotel, siteUrl: "https://hotel.example/\u0000" }, "siteUrl"],
      ["sync-command-center", { ...hotel, name: "Hotel\u001b[31m" }, "name"],
      ["sync-command-center", { ...hotel, consumerKey: "ck_\u0000" }, "consumerKey"],
      ["sync-command-center", { ...hotel, consumerSecret: "cs_\u2603\u{1F511}" }, "consumerSecret"],
      ["sync-command-center", { ...edit, name: "Hotel\u0000" }, "name"],
      ["sync-command-center", { ...edit, timezone: "\u0000" }, "timezone"],
      ["sync-command-center", { ...edit, consumerSecret: "\u0100secret" }, "consumerSecret"],
      ["sync-command-center", { ...test, consumerSecret: "cs_\u20ac\u2603" }, "consumerSecret"],
      ["sync-command-center", { ...test, consumerKey: "ck_\u0000" }, "consumerKey"],
      ["sync-command-center", { ...test, siteUrl: "https://hotel.example/\u0000" }, "siteUrl"],
      [
        "sync-command-center",
        { action: "test_connection", tenantId: tenant, consumerSecret: "\u{1F511}" },
        "consumerSecret",
      ],
    ];
    if (hasRoomStatus) {
      cases.push(
        ["room-status", { ...block, reason: "leak\u0000" }, "reason"],
        ["room-status", { ...block, reason: "\u0007bell" }, "reason"],
      );
    }
    const before = await snapshot();
    const wrong: string[] = [];
    for (const [fn, body, field] of cases) {
      const res = await stack.call(fn, body);
      const fields = (res.body?.error?.fields ?? []).map((f: { field: string }) => f.field);
      if (res.status !== 400 || res.body?.error?.code !== "INVALID_REQUEST" || !fields.includes(field)) {
        wrong.push(
          `${fn} ${JSON.stringify(body).slice(0, 160)}: ${res.status} ${
            JSON.stringify(res.body).slice(0, 300)
          }`,
        );
      }
    }
    console.log(`text the database cannot take: requests=${cases.length}, wrong answers=${wrong.length}`);
    expect(wrong).toEqual([]);
    expect(await snapshot()).toEqual(before);
    // A block's reason may run over lines: a newline is not refused (it fails later only for the unknown unit).
    if (hasRoomStatus) {
      const multiline = await stack.call("room-status", { ...block, reason: "broken\nwindow" });
      expect(multiline.body.error.code).toBe("UNIT_NOT_FOUND");
    }
  }, budgetMs(30_000));
});

describe("hostile operator JWTs, function by function", () => {
  it(
    "each bad token is a 401 (role-less: 403) on every function and method; a viewer may not act; nothing written",
    async () => {
      // The fuzz's positive control started a sync: let it finish writing first.
      await waitFor(async () =>
        (await stack.db
          .sql`select count(*)::int as n from public.sync_runs where status in ('running', 'continuing')`)[0]
          .n === 0
      );
      const before = await snapshot();
      const expected: Record<string, [number, string]> = {
        forged: [401, "UNAUTHORIZED"],
        algNone: [401, "UNAUTHORIZED"],
        expired: [401, "UNAUTHORIZED"],
        wrongAudience: [401, "UNAUTHORIZED"],
        wrongIssuer: [401, "UNAUTHORIZED"],
        otherProject: [401, "UNAUTHORIZED"],
        hs256NoSecret: [401, "UNAUTHORIZED"],
        roleless: [403, "FORBIDDEN"],
      };
      const seen: string[] = [];
      let sent = 0;
      for (const fn of FUNCTIONS) {
        // A body that would act if it got through: a start (or a room reconcile).
        const acting = fn === "room-status"
          ? { action: "reconcile", tenantId: tenant }
          : { tenantId: tenant };
        for (const [kind, [status, code]] of Object.entries(expected)) {
          for (const method of ["GET", "POST"]) {
            const res = await stack.call(
              method === "GET" ? `${fn}?tenantId=${tenant}` : fn,
              method === "POST" ? acting : undefined,
              {
                method,
                headers: { authorization: `Bearer ${tokens[kind]}`, apikey: "sb_publishable_x" },
              },
            );
            sent++;
            if (res.status !== status || res.body?.error?.code !== code) {
              seen.push(`${method} ${fn} ${kind}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
            }
          }
        }
        const viewer = await stack.call(fn, acting, {
          headers: { authorization: `Bearer ${tokens.viewer}` },
        });
        sent++;
        if (viewer.status !== 403 || viewer.body?.error?.code !== "FORBIDDEN") {
          seen.push(`POST ${fn} viewer: ${viewer.status}`);
        }
      }
      console.log(`hostile operator JWTs: requests=${sent}, wrong answers=${seen.length}`);
      expect(seen).toEqual([]);
      expect(await snapshot()).toEqual(before);
      // Positive control: the same call with an operator's token does act.
      const ok = await stack.call("motopress-bookings", { tenantId: tenant }, {
        headers: { authorization: `Bearer ${tokens.operator}` },
      });
      expect(ok.status).toBe(202);
    },
    budgetMs(60_000),
  );
});
