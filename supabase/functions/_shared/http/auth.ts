// Who is calling: the admin key (cron, CLI, server-to-server) or an operator's user JWT, verified
// against the project's signing keys, whose `app_metadata.sync_role` grants `operator` (every
// action) or `viewer` (reads only). Everything else is a 401/403 in the envelope.
import { ApiError } from "./errors.ts";
import type { JwtVerifier } from "../config.ts";
import { type JwtClaims, JwtError, looksLikeJwt, verifyJwt } from "./jwt.ts";

export type SyncRole = "operator" | "viewer";
export const SYNC_ROLES: readonly SyncRole[] = ["operator", "viewer"];

export type Caller =
  | { kind: "admin" }
  | { kind: "user"; role: SyncRole; userId: string | null; email: string | null };

export interface AuthSettings {
  adminKeys: readonly string[];
  /** Null when the project accepts no user JWTs (no JWKS and no legacy secret). */
  jwt: JwtVerifier | null;
  now: () => number;
}

const encoder = new TextEncoder();

async function digest(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(value)));
}

/** Compares fixed-length digests so the time taken says nothing about the key. */
async function sameKey(candidate: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(candidate), digest(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

async function isAdminKey(candidates: string[], validKeys: readonly string[]): Promise<boolean> {
  let ok = false;
  // Every pair is compared, so the time taken does not say which candidate or key matched.
  for (const candidate of candidates) {
    for (const key of validKeys) ok = (await sameKey(candidate, key)) || ok;
  }
  return ok;
}

/** The sync role a verified token grants, or null. */
export function roleOf(claims: JwtClaims): SyncRole | null {
  const meta = claims.app_metadata;
  const role = meta && typeof meta === "object" ? (meta as Record<string, unknown>).sync_role : undefined;
  return SYNC_ROLES.includes(role as SyncRole) ? (role as SyncRole) : null;
}

/**
 * Accepts the admin key as `apikey: <key>` or `Authorization: Bearer <key>`, or a user JWT as
 * `Authorization: Bearer <jwt>` (a browser also sends the project's publishable key as `apikey`,
 * which grants nothing by itself).
 */
export async function authenticate(req: Request, auth: AuthSettings): Promise<Caller> {
  const bearer = req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
  const candidates = [bearer, req.headers.get("apikey")?.trim()].filter((k): k is string => !!k);
  if (candidates.length === 0) {
    throw new ApiError(
      401,
      "UNAUTHORIZED",
      "Missing admin key or operator token: send `apikey: <key>`, or sign in and send `Authorization: Bearer <jwt>`.",
    );
  }
  if (await isAdminKey(candidates, auth.adminKeys)) return { kind: "admin" };
  if (!bearer || !looksLikeJwt(bearer)) {
    throw new ApiError(401, "UNAUTHORIZED", "The admin key is not valid for this project.");
  }
  if (!auth.jwt) {
    throw new ApiError(
      401,
      "UNAUTHORIZED",
      "This project accepts no user tokens (configure SUPABASE_JWKS or SYNC_JWT_SECRET); use the admin key.",
    );
  }
  let claims: JwtClaims;
  try {
    claims = await verifyJwt(bearer, auth.jwt, auth.now());
  } catch (err) {
    if (err instanceof JwtError) throw new ApiError(401, "UNAUTHORIZED", `Invalid token: ${err.message}`);
    throw err;
  }
  const role = roleOf(claims);
  if (!role) {
    throw new ApiError(
      403,
      "FORBIDDEN",
      'Your account has no sync role: an administrator must set app_metadata.sync_role to "operator" or "viewer".',
    );
  }
  return {
    kind: "user",
    role,
    userId: typeof claims.sub === "string" ? claims.sub : null,
    email: typeof claims.email === "string" ? claims.email : null,
  };
}

/** Actions (anything that syncs, cancels, writes or calls MotoPress) need the admin key or `operator`. */
export function requireOperator(caller: Caller, what = "This action"): void {
  if (caller.kind === "user" && caller.role !== "operator") {
    throw new ApiError(403, "FORBIDDEN", `${what} needs the operator role; viewers can only read.`, {
      role: caller.role,
    });
  }
}

/** Kept for callers that only accept the admin key. */
export async function requireAdminKey(req: Request, validKeys: readonly string[]): Promise<void> {
  const caller = await authenticate(req, { adminKeys: validKeys, jwt: null, now: Date.now });
  if (caller.kind !== "admin") {
    throw new ApiError(401, "UNAUTHORIZED", "The admin key is not valid for this project.");
  }
}
