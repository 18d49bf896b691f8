// Operator JWTs: verified with WebCrypto against the JWKS (ES256, RS256) or the legacy HS256
// secret; every way a token can be wrong is a 401, a token without a sync role a 403, and a
// viewer may only read.
import { describe, expect, it } from "vitest";
import { authenticate, requireOperator } from "../../supabase/functions/_shared/http/auth.ts";
import { ApiError } from "../../supabase/functions/_shared/http/errors.ts";
import { createHandler } from "../../supabase/functions/_shared/http/handler.ts";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";
import { generateSigningKey, jwksOf, operatorToken, signJwt } from "../../scripts/stack/lib/local-auth.ts";

const URL_ = "https://proj.example.supabase.co";
const NOW = Date.parse("2026-12-01T12:00:00Z");
const es = generateSigningKey("ES256");
const rs = generateSigningKey("RS256");
const other = generateSigningKey("ES256", es.kid); // another project's key, same kid
const SECRET = "s".repeat(40);
const KEY = "k".repeat(32);
const config = loadConfig({
  SUPABASE_DB_URL: "postgres://x",
  SUPABASE_URL: URL_,
  SYNC_ADMIN_KEY: KEY,
  SUPABASE_JWKS: jwksOf(es, rs),
  SYNC_JWT_SECRET: SECRET,
});
const settings = { adminKeys: config.adminKeys, jwt: config.jwt, now: () => NOW };
const req = (headers: Record<string, string>, method = "GET") =>
  new Request("http://x/functions/v1/f", { method, headers });
const bearer = (token: string) => ({ authorization: `Bearer ${token}`, apikey: "sb_publishable_abc" });
const token = (
  opts: Partial<Parameters<typeof operatorToken>[1]> = {},
  key: Parameters<typeof operatorToken>[0] = es,
) => operatorToken(key, { supabaseUrl: URL_, now: NOW, ...opts });

async function refusal(headers: Record<string, string>) {
  const err = await authenticate(req(headers), settings).then(() => null, (e) => e);
  expect(err).toBeInstanceOf(ApiError);
  return { status: err.status as number, code: err.code as string, message: err.message as string };
}

describe("operator JWTs", () => {
  it("accepts ES256 and RS256 from the JWKS and HS256 with the legacy secret, with their roles", async () => {
    for (const key of [es, rs, { secret: SECRET }]) {
      expect(await authenticate(req(bearer(token({}, key))), settings)).toMatchObject({
        kind: "user",
        role: "operator",
      });
    }
    expect(await authenticate(req(bearer(token({ role: "viewer" }))), settings)).toMatchObject({
      kind: "user",
      role: "viewer",
    });
    // The admin key still works, in either header.
    expect(await authenticate(req({ apikey: KEY }), settings)).toEqual({ kind: "admin" });
  });

  it("refuses every bad token with 401 and a reason, and a role-less one with 403", async () => {
    const now = Math.floor(NOW / 1000);
    const base = {
      iss: `${URL_}/auth/v1`,
      aud: "authenticated",
      exp: now + 600,
      app_metadata: { sync_role: "operator" },
    };
    const good = token();
    const [h, p] = good.split(".");
    const cases: [string, string, RegExp][] = [
      ["expired", token({ ttlSeconds: -120 }), /expired/],
      [
        "forged signature",
        `${h}.${p}.${good.split(".")[2].replace(/^./, (c) => (c === "A" ? "B" : "A"))}`,
        /signature/,
      ],
      [
        "payload edited after signing",
        `${h}.${
          Buffer.from(JSON.stringify({ ...base, app_metadata: { sync_role: "operator" }, exp: now + 99999 }))
            .toString("base64url")
        }.${good.split(".")[2]}`,
        /signature/,
      ],
      ["alg none", `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${p}.`, /alg "none"/],
      ["alg None, signed", signJwt(base, es, { alg: "None" }), /alg "none"/],
      [
        "HS256 signed with the public key (alg confusion)",
        signJwt(base, { secret: JSON.stringify(es.publicJwk) }),
        /signature/,
      ],
      ["wrong audience", signJwt({ ...base, aud: "anon" }, es), /audience/],
      ["wrong issuer", signJwt({ ...base, iss: "https://other.supabase.co/auth/v1" }, es), /issuer/],
      ["another project's key", token({}, other), /signature/],
      ["unknown kid", signJwt(base, generateSigningKey("ES256")), /kid/],
      ["no expiry", signJwt({ ...base, exp: undefined }, es), /expiry/],
      ["not yet valid", signJwt({ ...base, nbf: now + 3600 }, es), /not valid yet/],
      ["HS512", signJwt(base, es, { alg: "HS512" }), /not accepted/],
      ["garbage", "a.b.c", /admin key/],
    ];
    for (const [name, t, reason] of cases) {
      const r = await refusal(bearer(t));
      expect({ name, status: r.status, code: r.code }).toEqual({ name, status: 401, code: "UNAUTHORIZED" });
      expect(r.message, name).toMatch(reason);
    }
    const roleless = await refusal(bearer(token({ role: null })));
    expect(roleless).toMatchObject({ status: 403, code: "FORBIDDEN" });
    const badRole = await refusal(bearer(signJwt({ ...base, app_metadata: { sync_role: "admin" } }, es)));
    expect(badRole.status).toBe(403);
    // A top-level role claim grants nothing: only app_metadata (which users cannot edit) counts.
    expect((await refusal(bearer(signJwt({ ...base, app_metadata: {}, sync_role: "operator" }, es)))).status)
      .toBe(403);
  });

  it("accepts within the leeway and refuses just past it (injected clock)", async () => {
    const exp = Math.floor(NOW / 1000);
    const t = signJwt({
      iss: `${URL_}/auth/v1`,
      aud: "authenticated",
      exp,
      app_metadata: { sync_role: "viewer" },
    }, es);
    const at = (ms: number) => authenticate(req(bearer(t)), { ...settings, now: () => ms });
    await expect(at(NOW + 29_000)).resolves.toMatchObject({ role: "viewer" });
    await expect(at(NOW + 30_000)).rejects.toMatchObject({ status: 401 });
  });

  it("without JWKS or secret, a JWT is refused and the admin key alone works", async () => {
    const plain = loadConfig({ SUPABASE_DB_URL: "postgres://x", SUPABASE_URL: URL_, SYNC_ADMIN_KEY: KEY });
    expect(plain.jwt).toBeNull();
    const err = await authenticate(req(bearer(token())), {
      adminKeys: plain.adminKeys,
      jwt: null,
      now: () => NOW,
    }).catch((e) => e);
    expect(err.status).toBe(401);
    expect(err.message).toMatch(/SUPABASE_JWKS/);
  });

  it("ignores private and symmetric keys in SUPABASE_JWKS, refuses malformed JSON", () => {
    const leaked = { ...es.privateKey.export({ format: "jwk" }), kid: "p" };
    const c = loadConfig({
      SUPABASE_DB_URL: "x",
      SUPABASE_URL: URL_,
      SUPABASE_JWKS: JSON.stringify({ keys: [leaked, { kty: "oct", k: "c2VjcmV0" }, es.publicJwk] }),
    });
    expect(c.jwt!.jwks).toEqual([es.publicJwk]);
    expect(() => loadConfig({ SUPABASE_DB_URL: "x", SUPABASE_URL: URL_, SUPABASE_JWKS: "{" })).toThrow(
      /not JSON/,
    );
    expect(() => loadConfig({ SUPABASE_DB_URL: "x", SUPABASE_URL: URL_, SYNC_JWT_SECRET: "short" })).toThrow(
      /32/,
    );
  });

  it("a viewer reads (GET) but every POST is 403; an operator may POST", async () => {
    const log = () => {};
    const h = createHandler({
      GET: () => Promise.resolve(new Response("read")),
      POST: () => Promise.resolve(new Response("acted")),
    }, {
      adminKeys: () => config.adminKeys,
      jwt: () => config.jwt,
      now: () => NOW,
      log,
    });
    const viewer = bearer(token({ role: "viewer" }));
    expect((await h(req(viewer))).status).toBe(200);
    const refused = await h(req(viewer, "POST"));
    expect(refused.status).toBe(403);
    expect((await refused.json()).error.code).toBe("FORBIDDEN");
    expect((await h(req(bearer(token()), "POST"))).status).toBe(200);
    expect(() => requireOperator({ kind: "admin" })).not.toThrow();
  });
});
