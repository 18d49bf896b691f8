import { ApiError } from "./errors.ts";

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

/** Accepts `Authorization: Bearer <key>` or `apikey: <key>`, each checked against every valid key. */
export async function requireAdminKey(req: Request, validKeys: readonly string[]): Promise<void> {
  const candidates = [
    req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim(),
    req.headers.get("apikey")?.trim(),
  ].filter((k): k is string => !!k);
  if (candidates.length === 0) {
    throw new ApiError(401, "UNAUTHORIZED", "Missing admin key: send `Authorization: Bearer <key>` or `apikey: <key>`.");
  }
  let ok = false;
  for (const candidate of candidates) {
    for (const key of validKeys) ok = (await sameKey(candidate, key)) || ok;
  }
  if (!ok) throw new ApiError(401, "UNAUTHORIZED", "The admin key is not valid for this project.");
}
