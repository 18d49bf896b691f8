// The one redaction layer. Every text that leaves the functions (run records, log lines, SSE
// events, the health report, error responses) goes through `redact`, so a credential that slipped
// into an error message (a URL with query-string keys in a network error, a site's 401 body that
// echoes the key, a continuation's answer) never reaches the database, a log or a caller.
//
// Two nets: patterns for what credentials look like (query parameters, URL passwords, auth
// headers, MotoPress and Supabase key formats, JWTs), and the exact values this isolate knows to
// be secret (admin keys, the database password, each tenant's consumer key and secret as they are
// loaded), in their plain, URL-encoded and Basic-auth forms.

import { basicToken } from "./net/basic-auth.ts";

export const REDACTED = "[REDACTED]";

// Bounded: an isolate that syncs many tenants forgets the oldest values, never grows without end.
const MAX_KNOWN = 2000;
const known = new Map<string, true>();

/** Registers a value that must never appear in any output of this isolate. */
export function rememberSecret(value: string | null | undefined): void {
  if (typeof value !== "string") return;
  const v = value.trim();
  // Very short values would redact ordinary words; they are not credentials anyway.
  if (v.length < 6) return;
  for (const form of [v, encodeURIComponent(v), safeBtoa(v)]) {
    if (!form) continue;
    known.delete(form);
    known.set(form, true);
  }
  while (known.size > MAX_KNOWN) known.delete(known.keys().next().value!);
}

/** Key and secret as they travel in Basic auth, so a header echoed back is caught whole. */
export function rememberCredentialPair(key: string, secret: string): void {
  rememberSecret(key);
  rememberSecret(secret);
  rememberSecret(basicToken(key, secret));
}

function safeBtoa(v: string): string {
  try {
    return btoa(v);
  } catch {
    return ""; // not Latin-1: cannot be a Basic credential as sent
  }
}

/**
 * A value that is text, not a credential: a placeholder (`<key>`, `[REDACTED]`) or a plain word
 * ("auth", "Bearer"), trailing punctuation aside. Our own help text says "send `apikey: <key>`"
 * and "by Basic auth"; a credential has digits, symbols or mixed case, and one made of a word
 * alone is caught by the known-values net when it is one of ours.
 */
function isText(value: string): boolean {
  const v = value.replace(/[.,;:!?)`'"]+$/, "");
  return /^[<[{]/.test(v) || /^[A-Za-z][a-z]*$/.test(v);
}

/** Replaces the credential in group `secret` of each match, unless it is text (isText). */
const unlessText = (secret: (groups: string[]) => string, replaced: (groups: string[]) => string) =>
(
  match: string,
  ...groups: string[]
) => (isText(secret(groups)) ? match : replaced(groups));

const SECRET_PARAM =
  /([?&;]|\b)(consumer_key|consumer_secret|apikey|api_key|access_token|refresh_token|token|secret|password|passwd|key|signature|sig)=([^&#\s"'<>]+)/gi;
type Pattern = [RegExp, string | ((match: string, ...groups: string[]) => string)];
const PATTERNS: Pattern[] = [
  // Query strings and form bodies: the value of any credential-named parameter.
  [SECRET_PARAM, `$1$2=${REDACTED}`],
  // scheme://user:password@host (database URLs, proxies).
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]+@/gi, `$1:${REDACTED}@`],
  // Authorization headers, also as they appear in JSON or in a dumped request ("Basic auth" is words).
  [
    /\b(Basic|Bearer)\s+([A-Za-z0-9._~+/=-]{4,})/g,
    unlessText((g) => g[1], (g) => `${g[0]} ${REDACTED}`),
  ],
  [
    /("?(?:apikey|x-api-key|authorization|consumer_secret|consumer_key|password)"?\s*[:=]\s*"?)([^"\s,}&]{4,})/gi,
    unlessText((g) => g[1], (g) => `${g[0]}${REDACTED}`),
  ],
  // MotoPress / WooCommerce-style keys (ck_/cs_ + 40 hex), Supabase API keys, JWTs.
  [/\b(ck|cs)_[A-Za-z0-9]{8,}/g, `$1_${REDACTED}`],
  [/\bsb_(secret|publishable)_[A-Za-z0-9_-]{8,}/g, `sb_$1_${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, REDACTED],
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** `text` with every credential removed; `extra` adds values known only to the caller. */
export function redact(text: string, extra: readonly (string | null | undefined)[] = []): string {
  let out = text;
  const values = [
    ...extra.filter((v): v is string => typeof v === "string" && v.trim().length >= 6),
    ...known.keys(),
  ];
  if (values.length) {
    // Longest first, so a Basic form is not half-replaced by the key it contains.
    values.sort((a, b) => b.length - a.length);
    for (const v of values) if (out.includes(v)) out = out.replace(new RegExp(escape(v), "g"), REDACTED);
  }
  for (const [re, replacement] of PATTERNS) {
    out = typeof replacement === "string" ? out.replace(re, replacement) : out.replace(re, replacement);
  }
  return out;
}

/** Redacts every string inside a JSON-like value (stats, SSE data, log fields); keys are kept. */
export function redactDeep<T>(value: T, extra: readonly (string | null | undefined)[] = []): T {
  if (typeof value === "string") return redact(value, extra) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, extra)) as T;
  if (value && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = redactDeep(v, extra);
    return out as T;
  }
  return value;
}
