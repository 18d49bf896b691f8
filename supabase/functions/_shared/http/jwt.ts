// Verifies a user JWT with WebCrypto only: ES256 / RS256 against the project's JWKS (the platform's
// SUPABASE_JWKS), HS256 against the legacy JWT secret. No library, so nothing here trusts the
// token's own header beyond picking a key: the algorithm must match the key's, and `alg: none`,
// unknown algorithms and keys of the wrong type are refused before any signature check.
import type { JwtVerifier } from "../config.ts";

export type JwtClaims = Record<string, unknown> & {
  sub?: string;
  exp?: number;
  nbf?: number;
  iss?: string;
  aud?: string | string[];
  email?: string;
  app_metadata?: Record<string, unknown>;
};

/** Why a token was refused; the message is safe to show (it never echoes the token). */
export class JwtError extends Error {
  override name = "JwtError";
}

const ALGS: Record<
  string,
  {
    kty: string;
    import: AlgorithmIdentifier | RsaHashedImportParams | EcKeyImportParams;
    verify: AlgorithmIdentifier | EcdsaParams;
  }
> = {
  ES256: {
    kty: "EC",
    import: { name: "ECDSA", namedCurve: "P-256" } as EcKeyImportParams,
    verify: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams,
  },
  RS256: {
    kty: "RSA",
    import: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as RsaHashedImportParams,
    verify: { name: "RSASSA-PKCS1-v1_5" },
  },
};

const B64URL = /^[A-Za-z0-9_-]*$/;

// The return type is inferred: `Uint8Array<ArrayBuffer>` (what WebCrypto takes) on TypeScript 5.7+,
// plain `Uint8Array` on the platform's Deno, whose TypeScript has no typed-array generics.
function b64urlBytes(part: string) {
  if (!B64URL.test(part)) throw new JwtError("The token is not base64url.");
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (part.length % 4)) % 4);
  let bin: string;
  try {
    bin = atob(b64);
  } catch {
    throw new JwtError("The token is not base64url.");
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function jsonPart(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b64urlBytes(part)));
  } catch (e) {
    if (e instanceof JwtError) throw e;
    throw new JwtError(`The token's ${what} is not JSON.`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new JwtError(`The token's ${what} is not an object.`);
  }
  return value as Record<string, unknown>;
}

/** Three dot-separated base64url parts whose first decodes to a JSON header with `alg`: a JWT, not an API key. */
export function looksLikeJwt(token: string): boolean {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0].length === 0 || parts[0].length > 2000) return false;
  try {
    return typeof jsonPart(parts[0], "header").alg === "string";
  } catch {
    return false;
  }
}

// Imported keys are cached per JWK object: the JWKS is fixed for the isolate's life.
const keyCache = new WeakMap<JsonWebKey, Promise<CryptoKey | null>>();

function importPublic(jwk: JsonWebKey, alg: string): Promise<CryptoKey | null> {
  let p = keyCache.get(jwk);
  if (!p) {
    const { d: _private, ...pub } = jwk as JsonWebKey & { kid?: string };
    p = crypto.subtle.importKey("jwk", pub, ALGS[alg].import, false, ["verify"]).catch(() => null);
    keyCache.set(jwk, p);
  }
  return p;
}

let hsKey: { secret: string; key: Promise<CryptoKey> } | null = null;
function hmacKey(secret: string): Promise<CryptoKey> {
  if (hsKey?.secret !== secret) {
    hsKey = {
      secret,
      key: crypto.subtle.importKey(
        "raw",
        new TextEncoder().encode(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["verify"],
      ),
    };
  }
  return hsKey.key;
}

/** Returns the verified claims, or throws JwtError saying why the token is refused. */
export async function verifyJwt(token: string, v: JwtVerifier, nowMs: number): Promise<JwtClaims> {
  if (token.length > 16_384) throw new JwtError("The token is too long.");
  const parts = token.split(".");
  if (parts.length !== 3) throw new JwtError("The token is not a JWT (three dot-separated parts).");
  const header = jsonPart(parts[0], "header");
  const alg = header.alg;
  if (typeof alg !== "string" || alg.toLowerCase() === "none") {
    throw new JwtError('Unsigned tokens (alg "none") are refused.');
  }
  if (header.crit !== undefined) throw new JwtError("Tokens with critical header extensions are refused.");
  const signed = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
  const signature = b64urlBytes(parts[2]);
  if (signature.length === 0) throw new JwtError("The token has no signature.");

  let valid = false;
  if (alg === "HS256") {
    if (!v.hsSecret) {
      throw new JwtError(
        "HS256 tokens are not accepted by this project (no legacy JWT secret is configured).",
      );
    }
    valid = await crypto.subtle.verify("HMAC", await hmacKey(v.hsSecret), signature, signed);
  } else if (ALGS[alg]) {
    const kid = typeof header.kid === "string" ? header.kid : undefined;
    const candidates = v.jwks.filter((k) =>
      k.kty === ALGS[alg].kty && (k.alg === undefined || k.alg === alg) &&
      (kid === undefined || (k as { kid?: string }).kid === kid)
    );
    if (candidates.length === 0) {
      throw new JwtError(
        kid
          ? `No signing key of this project has kid "${kid.slice(0, 64)}".`
          : `No ${alg} signing key is configured.`,
      );
    }
    for (const jwk of candidates) {
      const key = await importPublic(jwk, alg);
      if (key && await crypto.subtle.verify(ALGS[alg].verify, key, signature, signed)) {
        valid = true;
        break;
      }
    }
  } else {
    throw new JwtError(
      `Signing algorithm ${JSON.stringify(alg).slice(0, 40)} is not accepted (ES256, RS256 or HS256).`,
    );
  }
  if (!valid) throw new JwtError("The token's signature is not valid for this project.");

  const claims = jsonPart(parts[1], "payload") as JwtClaims;
  const now = nowMs / 1000;
  if (typeof claims.exp !== "number") throw new JwtError("The token has no expiry (exp).");
  if (claims.exp + v.leewaySeconds <= now) throw new JwtError("The token has expired; sign in again.");
  if (typeof claims.nbf === "number" && claims.nbf - v.leewaySeconds > now) {
    throw new JwtError("The token is not valid yet (nbf).");
  }
  if (claims.iss !== v.issuer) throw new JwtError("The token was issued for another project (issuer).");
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(v.audience)) throw new JwtError(`The token's audience is not "${v.audience}".`);
  return claims;
}
