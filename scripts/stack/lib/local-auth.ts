// Operator sign-in for the local stack, where no auth server runs: a local ES256 signing key (its
// public half is given to the functions as SUPABASE_JWKS, as the platform does) and short-lived
// operator tokens shaped like Supabase Auth's (iss <url>/auth/v1, aud authenticated,
// app_metadata.sync_role). Tests use the same minting for real and hostile tokens.
import {
  createHmac,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
  sign,
} from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

export interface SigningKey {
  kid: string;
  alg: "ES256" | "RS256";
  privateKey: KeyObject;
  /** The public JWK, as it appears in SUPABASE_JWKS. */
  publicJwk: JsonWebKey & { kid: string; alg: string; use: string };
}

export function generateSigningKey(alg: "ES256" | "RS256" = "ES256", kid: string = randomUUID()): SigningKey {
  const { privateKey, publicKey } = alg === "ES256"
    ? generateKeyPairSync("ec", { namedCurve: "P-256" })
    : generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    kid,
    alg,
    privateKey,
    publicJwk: { ...publicKey.export({ format: "jwk" }), kid, alg, use: "sig" },
  };
}

/** SUPABASE_JWKS for these keys. */
export const jwksOf = (...keys: SigningKey[]) => JSON.stringify({ keys: keys.map((k) => k.publicJwk) });

const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

export interface TokenClaims {
  sub?: string;
  email?: string;
  iss: string;
  aud?: string | string[];
  exp?: number;
  iat?: number;
  nbf?: number;
  role?: string;
  app_metadata?: Record<string, unknown>;
  [claim: string]: unknown;
}

/** Signs `claims` with an asymmetric key, or with an HS256 secret. */
export function signJwt(
  claims: TokenClaims,
  key: SigningKey | { secret: string },
  header: Record<string, unknown> = {},
): string {
  const alg = "secret" in key ? "HS256" : key.alg;
  const head = { alg, typ: "JWT", ...("secret" in key ? {} : { kid: key.kid }), ...header };
  const input = `${b64url(JSON.stringify(head))}.${b64url(JSON.stringify(claims))}`;
  let signature: Buffer;
  if ("secret" in key) signature = createHmac("sha256", key.secret).update(input).digest();
  else if (key.alg === "ES256") {
    signature = sign("sha256", Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" });
  } else signature = sign("sha256", Buffer.from(input), key.privateKey);
  return `${input}.${b64url(signature)}`;
}

/** An operator's (or viewer's) token as Supabase Auth would issue it. */
export function operatorToken(
  key: SigningKey | { secret: string },
  opts: {
    supabaseUrl: string;
    role?: "operator" | "viewer" | null;
    ttlSeconds?: number;
    now?: number;
    email?: string;
  },
): string {
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  const role = opts.role === undefined ? "operator" : opts.role;
  return signJwt({
    sub: randomUUID(),
    email: opts.email ?? "operator@localhost",
    iss: `${opts.supabaseUrl.replace(/\/+$/, "")}/auth/v1`,
    aud: "authenticated",
    role: "authenticated",
    iat: now,
    exp: now + (opts.ttlSeconds ?? 3600),
    app_metadata: { provider: "email", ...(role ? { sync_role: role } : {}) },
  }, key);
}

/** The local stack's signing key, kept in .data so a restart keeps signed-in browsers signed in. */
export async function localSigningKey(dataDir: string): Promise<SigningKey> {
  const file = path.join(dataDir, "local-jwt-key.json");
  try {
    const saved = JSON.parse(await readFile(file, "utf8")) as { kid: string; jwk: JsonWebKey };
    const privateKey = createPrivateKey({ key: saved.jwk as never, format: "jwk" });
    const { d: _d, ...pub } = saved.jwk;
    return {
      kid: saved.kid,
      alg: "ES256",
      privateKey,
      publicJwk: { ...pub, kid: saved.kid, alg: "ES256", use: "sig" },
    };
  } catch {
    const key = generateSigningKey("ES256");
    await mkdir(dataDir, { recursive: true });
    await writeFile(file, JSON.stringify({ kid: key.kid, jwk: key.privateKey.export({ format: "jwk" }) }), {
      mode: 0o600,
    });
    return key;
  }
}
