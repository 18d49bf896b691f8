import { basicToken } from "../net/basic-auth.ts";
import { readCappedBytes } from "../net/capped-read.ts";
import { OutboundRefused } from "../net/outbound.ts";
import { redact } from "../redact.ts";
import { diagnoseHtml, diagnoseNetworkError, diagnoseRestRestriction } from "./diagnose.ts";
import { MotoPressError, type MotoPressErrorCode } from "./errors.ts";
import { type WpError, wpErrorSchema } from "./schemas.ts";

export type AuthMode = "basic" | "query";
export type FetchLike = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

export interface HttpOptions {
  siteUrl: string;
  consumerKey: string;
  consumerSecret: string;
  authMode: AuthMode;
  /** When Basic credentials are ignored by the site, retry the request once with query-string keys. */
  authFallback: boolean;
  fetch: FetchLike;
  timeoutMs: number;
  maxRetries: number;
  /** WAF pages and cut-off JSON on a 200 are often transient, but retrying them indefinitely hides a real misconfiguration. */
  maxBadResponseRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A `Retry-After` longer than this fails at once instead of stalling the invocation. */
  maxRetryAfterMs: number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  /** Once aborted, no request starts, none in flight goes on, and no retry waits: the call throws the reason. */
  signal?: AbortSignal;
  /**
   * Checks each URL before it is fetched, redirects included (net/outbound.ts's policy); throws
   * OutboundRefused. Absent only in unit tests that talk to a local simulator.
   */
  guard?: (url: URL) => Promise<void>;
  /** A response body larger than this fails the request instead of filling the isolate's memory. */
  maxBodyBytes: number;
}

/** Same-origin redirects followed per request (WordPress canonical redirects need one or two). */
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

type Body = { kind: "text"; text: string; bytes: number } | { kind: "too-large"; bytes: number };

const formatBytes = (
  n: number,
) => (n >= 1024 * 1024 ? `${Math.round(n / 1024 / 1024)} MB` : `${Math.round(n / 1024)} KB`);

/**
 * Reads at most `max` bytes of a body; more, and the stream is cancelled. The bytes counted are the
 * ones read, after fetch decoded any Content-Encoding: a declared length is the encoded size, and a
 * gzip body of 65 KB can decode to 64 MB, so it can refuse a body early but never admit one.
 */
async function readCapped(response: Response, max: number): Promise<Body> {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel().catch(() => {});
    return { kind: "too-large", bytes: declared };
  }
  const { bytes, size } = await readCappedBytes(response.body, max);
  if (bytes === null) return { kind: "too-large", bytes: size };
  return { kind: "text", text: new TextDecoder().decode(bytes), bytes: size };
}

export interface HttpStats {
  requests: number;
  retries: number;
  authFallbacks: number;
  bytesReceived: number;
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: unknown;
  attempts: number;
}

type Outcome =
  | { kind: "ok"; response: JsonResponse }
  | { kind: "missing" }
  | { kind: "credentials-ignored"; error: MotoPressError }
  | { kind: "retry"; error: MotoPressError; badResponse: boolean; retryAfterMs: number | null }
  | { kind: "fatal"; error: MotoPressError };

const API_PREFIX = "/wp-json/mphb/v1/";

/** Accepts a bare site URL or one that already points into the REST API. */
export function normaliseSiteUrl(siteUrl: string): string {
  const url = new URL(siteUrl.trim());
  const wpJson = url.pathname.indexOf("/wp-json");
  let path = wpJson >= 0 ? url.pathname.slice(0, wpJson) : url.pathname;
  path = path.replace(/\/+$/, "");
  return `${url.protocol}//${url.host}${path}`;
}

export function redactUrl(url: string): string {
  return redact(url);
}

/**
 * A page, not the API's JSON. Some hosts label MotoPress's JSON `text/html`, so the label alone
 * decides only for a body that is not JSON.
 */
function looksLikeHtml(text: string, contentType: string | null): boolean {
  const head = text.trimStart();
  if (head.startsWith("<")) return true;
  if (!(contentType ?? "").includes("text/html")) return false;
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
}

function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null || value.trim() === "") return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - nowMs) : null;
}

export class HttpSession {
  readonly stats: HttpStats = { requests: 0, retries: 0, authFallbacks: 0, bytesReceived: 0 };
  private authMode: AuthMode;
  private readonly isPlainHttp: boolean;
  /** Origins the guard accepted in this session: one DNS check per origin, not per page. */
  private readonly checkedOrigins = new Set<string>();

  constructor(private readonly options: HttpOptions) {
    this.authMode = options.authMode;
    this.isPlainHttp = options.siteUrl.startsWith("http://");
  }

  get currentAuthMode(): AuthMode {
    return this.authMode;
  }

  buildUrl(
    path: string,
    params: Record<string, string | number> = {},
    mode: AuthMode = this.authMode,
  ): string {
    const url = new URL(this.options.siteUrl + API_PREFIX + path);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
    if (mode === "query") {
      url.searchParams.set("consumer_key", this.options.consumerKey);
      url.searchParams.set("consumer_secret", this.options.consumerSecret);
    }
    return url.toString();
  }

  /**
   * GETs a JSON resource with timeouts and retries. Returns `null` for a WordPress "invalid id" 404,
   * which is how MotoPress reports an item that does not exist (or was hard-deleted). `split`, for
   * a list: reads a successful body instead of JSON.parse when it can (null: it cannot, and
   * JSON.parse reads it).
   */
  async getJson(
    path: string,
    params: Record<string, string | number> = {},
    split?: (text: string) => unknown[] | null,
  ): Promise<JsonResponse | null> {
    let attempts = 0;
    let retries = 0;
    let badResponseRetries = 0;
    let fellBack = false;
    const signal = this.options.signal;
    for (;;) {
      signal?.throwIfAborted();
      attempts++;
      const mode = this.authMode;
      const url = this.buildUrl(path, params, mode);
      const outcome = await this.attempt(url, mode, attempts, split);
      switch (outcome.kind) {
        case "ok":
          return { ...outcome.response, attempts };
        case "missing":
          return null;
        case "fatal":
          throw this.scrub(outcome.error.withAttempts(attempts));
        case "credentials-ignored": {
          if (mode === "basic" && this.options.authFallback && !fellBack) {
            fellBack = true;
            this.authMode = "query";
            this.stats.authFallbacks++;
            continue;
          }
          throw this.scrub(this.credentialsIgnoredError(outcome.error, attempts));
        }
        case "retry": {
          const budgetLeft = retries < this.options.maxRetries &&
            (!outcome.badResponse || badResponseRetries < this.options.maxBadResponseRetries);
          if (!budgetLeft) throw this.scrub(outcome.error.withAttempts(attempts));
          if (outcome.retryAfterMs !== null && outcome.retryAfterMs > this.options.maxRetryAfterMs) {
            throw this.scrub(
              new MotoPressError(
                "MOTOPRESS_RATE_LIMITED",
                `${outcome.error.message} The site asked to wait ${
                  Math.round(outcome.retryAfterMs / 1000)
                } s, ` +
                  `longer than the ${
                    Math.round(this.options.maxRetryAfterMs / 1000)
                  } s this client waits; try again later.`,
                { status: outcome.error.status, attempts, url: outcome.error.url ?? undefined },
              ),
            );
          }
          retries++;
          if (outcome.badResponse) badResponseRetries++;
          this.stats.retries++;
          await this.abortableSleep(outcome.retryAfterMs ?? this.backoff(retries));
          continue;
        }
      }
    }
  }

  /** A retry's wait, cut short (throwing the reason) when the signal aborts. */
  private async abortableSleep(ms: number): Promise<void> {
    const signal = this.options.signal;
    if (!signal) return await this.options.sleep(ms);
    signal.throwIfAborted();
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.race([this.options.sleep(ms), aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /**
   * The error with this session's key and secret (and anything credential-shaped) removed from its
   * message, URL and cause: a site's 401 body may echo them, and a network error's text may hold
   * the request URL, which carries them in query-string mode.
   */
  private scrub(error: MotoPressError): MotoPressError {
    const secrets = [this.options.consumerKey, this.options.consumerSecret];
    const cause = error.cause instanceof Error ? new Error(redact(error.cause.message, secrets)) : undefined;
    return new MotoPressError(error.code, redact(error.message, secrets), {
      status: error.status,
      attempts: error.attempts,
      wpCode: error.wpCode,
      url: error.url === null ? undefined : redact(error.url, secrets),
      cause,
    });
  }

  /**
   * Runs the outbound guard once per origin. A refusal is the operator's to fix and never retried;
   * a name that does not resolve may be a passing DNS failure, so it is retried like a network error.
   */
  private async guard(url: URL): Promise<Outcome | null> {
    if (!this.options.guard || this.checkedOrigins.has(url.origin)) return null;
    try {
      await this.options.guard(url);
      this.checkedOrigins.add(url.origin);
      return null;
    } catch (err) {
      if (!(err instanceof OutboundRefused)) throw err;
      if (err.reason === "unresolvable") {
        return {
          kind: "retry",
          badResponse: false,
          retryAfterMs: null,
          error: new MotoPressError("MOTOPRESS_UNAVAILABLE", err.message),
        };
      }
      const code = err.reason === "https-required" ? "MOTOPRESS_HTTPS_REQUIRED" : "MOTOPRESS_URL_REFUSED";
      return { kind: "fatal", error: new MotoPressError(code, err.message) };
    }
  }

  /** Full jitter: a random delay up to the exponential cap spreads retries from concurrent page fetches. */
  private backoff(retry: number): number {
    const cap = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (retry - 1));
    return Math.floor(this.options.random() * cap);
  }

  private credentialsIgnoredError(error: MotoPressError, attempts: number): MotoPressError {
    const details = { status: error.status, attempts, wpCode: error.wpCode, url: error.url ?? undefined };
    if (this.isPlainHttp) {
      return new MotoPressError(
        "MOTOPRESS_HTTPS_REQUIRED",
        "The site URL is plain http://, and MotoPress accepts API keys only over HTTPS (WordPress's is_ssl()), " +
          "by Basic auth and by query string alike: over http the keys are ignored and every request is answered " +
          "401 mphb_rest_cannot_view. Register the site's https:// address (install a certificate if it has none).",
        details,
      );
    }
    // Over HTTPS the plugin sets no error for a key it does not know, so an unknown or revoked key
    // gets the same 401 as no key at all. The query-string retry has ruled out a stripped
    // Authorization header, and the answer came from the plugin's own route, so permalinks are fine.
    const tried = this.options.authFallback
      ? "by Basic auth and by query string"
      : `by ${this.authMode === "basic" ? "Basic auth" : "query string"}`;
    return new MotoPressError(
      "MOTOPRESS_AUTH_FAILED",
      `The site does not accept this consumer key (401 mphb_rest_cannot_view ${tried}): the key is unknown, was ` +
        "revoked, or its WordPress user was deleted. Check the consumer key (ck_…) against the list under " +
        "Accommodation › Settings › Advanced › API keys, or add a new key with Read permission for an " +
        "Administrator. If the key is listed there, WordPress does not see the request as HTTPS: the proxy or CDN " +
        "in front of it must pass X-Forwarded-Proto: https." +
        (this.options.authFallback
          ? ""
          : " Or the server strips the Authorization header: try query-string keys."),
      details,
    );
  }

  private async attempt(
    url: string,
    mode: AuthMode,
    attempt: number,
    split?: (text: string) => unknown[] | null,
  ): Promise<Outcome> {
    const safeUrl = redactUrl(url);
    // identity: the site has no reason to compress, and a compressed body is read (and capped) decoded.
    const headers: Record<string, string> = { Accept: "application/json", "Accept-Encoding": "identity" };
    if (mode === "basic") {
      headers.Authorization = `Basic ${basicToken(this.options.consumerKey, this.options.consumerSecret)}`;
    }
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.options.timeoutMs);
    let status: number | null = null;
    try {
      // The caller's signal (deadline, lost run) bounds the request as the timeout does.
      const signal = this.options.signal
        ? AbortSignal.any([controller.signal, this.options.signal])
        : controller.signal;
      let target = new URL(url);
      for (let hop = 0;; hop++) {
        const refused = await this.guard(target);
        if (refused) return refused;
        this.stats.requests++;
        // Redirects are ours to judge: fetch would follow them anywhere, headers and query keys included.
        const response = await this.options.fetch(target.toString(), {
          method: "GET",
          headers,
          signal,
          redirect: "manual",
        });
        status = response.status;
        if (REDIRECT_STATUSES.has(status) && response.headers.has("location")) {
          await response.body?.cancel().catch(() => {});
          const next = this.redirectTarget(target, response.headers.get("location")!, hop, status);
          if (next instanceof MotoPressError) return { kind: "fatal", error: next };
          target = next;
          continue;
        }
        // The body read stays under the same timer: a server that stalls mid-body is as dead as one that never answers.
        const body = await readCapped(response, this.options.maxBodyBytes);
        this.stats.bytesReceived += body.bytes;
        if (body.kind === "too-large") {
          return {
            kind: "fatal",
            error: new MotoPressError(
              "MOTOPRESS_RESPONSE_TOO_LARGE",
              `The site's answer is larger than ${formatBytes(this.options.maxBodyBytes)} ` +
                `(${body.bytes} bytes or more); it was not read. A MotoPress page of 100 items is far smaller: check ` +
                "the site URL, or raise MOTOPRESS_MAX_BODY_BYTES.",
              { status, url: safeUrl },
            ),
          };
        }
        return this.classify(response, body.text, safeUrl, split);
      }
    } catch (cause) {
      // The caller's signal (deadline, lost run) is not the site's fault: no retry, its own reason.
      if (this.options.signal?.aborted) throw this.options.signal.reason;
      if (timedOut) {
        return {
          kind: "retry",
          badResponse: false,
          retryAfterMs: null,
          error: new MotoPressError(
            "MOTOPRESS_TIMEOUT",
            `The site did not answer within ${this.options.timeoutMs} ms (attempt ${attempt}). It may be ` +
              "overloaded; MotoPress recomputes every booking's prices per request, so try again or raise timeoutMs.",
            { status, url: safeUrl, cause },
          ),
        };
      }
      // The runtime's message can hold the request URL, query-string keys included: the diagnosis
      // quotes it, so it is redacted like every other message.
      const d = diagnoseNetworkError(cause, new URL(this.options.siteUrl).host);
      const message = redact(d.message, [this.options.consumerKey, this.options.consumerSecret]);
      const error = new MotoPressError(d.code, message, { status, url: safeUrl, cause });
      return d.retry
        ? { kind: "retry", badResponse: false, retryAfterMs: null, error }
        : { kind: "fatal", error };
    } finally {
      clearTimeout(timer);
    }
  }

  /** The next hop of a redirect when it stays on the same origin; an error naming both hosts otherwise. */
  private redirectTarget(from: URL, location: string, hop: number, status: number): URL | MotoPressError {
    let next: URL;
    try {
      next = new URL(location, from);
    } catch {
      return new MotoPressError(
        "MOTOPRESS_BAD_RESPONSE",
        `The site answered ${status} with an invalid Location header.`,
        { status },
      );
    }
    if (next.origin !== from.origin) {
      return new MotoPressError(
        "MOTOPRESS_REDIRECT_REFUSED",
        `The site redirected (${status}) from ${from.origin} to ${next.origin}; redirects to another origin are ` +
          "not followed, so the API keys never travel elsewhere. If the site moved, set its site URL to the new address.",
        { status },
      );
    }
    if (hop >= MAX_REDIRECTS) {
      return new MotoPressError(
        "MOTOPRESS_BAD_RESPONSE",
        `The site redirected more than ${MAX_REDIRECTS} times.`,
        { status },
      );
    }
    return next;
  }

  private classify(
    response: Response,
    text: string,
    url: string,
    split?: (text: string) => unknown[] | null,
  ): Outcome {
    const status = response.status;
    // A list the splitter takes is valid JSON (an array: neither HTML nor a WordPress error).
    const items = split && status >= 200 && status < 300 ? split(text) : null;
    if (items) {
      return { kind: "ok", response: { status, headers: response.headers, body: items, attempts: 0 } };
    }
    const html = looksLikeHtml(text, response.headers.get("content-type"));
    let body: unknown = undefined;
    let parsed = false;
    if (!html) {
      try {
        body = JSON.parse(text);
        parsed = true;
      } catch {
        parsed = false;
      }
    }
    const wp: WpError | null = parsed ? (wpErrorSchema.safeParse(body).data ?? null) : null;
    const err = (code: MotoPressErrorCode, message: string) =>
      new MotoPressError(code, message, { status, url, wpCode: wp?.code ?? null });
    const wpText = wp ? `${wp.code}: ${wp.message}` : html ? "an HTML page" : "a non-JSON body";

    // An HTML page is the same page when asked again (plain permalinks' home page, a security
    // plugin, a challenge): never retried. A 5xx page is the exception, below.
    const page = html && status < 500 && status !== 429 ? diagnoseHtml(text, status) : null;
    if (page) return { kind: "fatal", error: err(page.code, page.message) };
    const restOff = wp && status >= 400 && status < 500
      ? diagnoseRestRestriction(status, wp.code, wp.message)
      : null;
    if (restOff) return { kind: "fatal", error: err(restOff.code, restOff.message) };

    if (status >= 200 && status < 300) {
      if (parsed) return { kind: "ok", response: { status, headers: response.headers, body, attempts: 0 } };
      // Cut-off JSON is usually a dropped connection: worth a bounded retry.
      return {
        kind: "retry",
        badResponse: true,
        retryAfterMs: null,
        error: err(
          "MOTOPRESS_BAD_RESPONSE",
          "The site answered 200 with malformed or truncated JSON (often PHP notices printed before the " +
            "JSON, or a connection cut short). Disable WP_DEBUG_DISPLAY on the site and check its error log.",
        ),
      };
    }
    // An error status whose body is neither JSON nor a page was cut short or garbled on the way: the
    // answer itself is unknown, so it is asked again (bounded), never read as "not found".
    if (status >= 400 && status < 500 && status !== 429 && !parsed && !html && text.trim() !== "") {
      return {
        kind: "retry",
        badResponse: true,
        retryAfterMs: null,
        error: err(
          "MOTOPRESS_BAD_RESPONSE",
          `The site answered ${status} with a malformed or truncated body (a connection cut short, or PHP ` +
            "output mixed into the JSON). Check the site's error log.",
        ),
      };
    }
    if (status === 429) {
      return {
        kind: "retry",
        badResponse: false,
        retryAfterMs: parseRetryAfter(response.headers.get("retry-after"), Date.now()),
        error: err(
          "MOTOPRESS_RATE_LIMITED",
          "The site's host, CDN or firewall answered 429 Too Many Requests (MotoPress itself has no rate " +
            "limit). Lower MOTOPRESS_CONCURRENCY, or allow-list the sync's IPs in the host's rate limiting.",
        ),
      };
    }
    if (status >= 500) {
      return {
        kind: "retry",
        badResponse: false,
        retryAfterMs: parseRetryAfter(response.headers.get("retry-after"), Date.now()),
        error: err(
          "MOTOPRESS_UNAVAILABLE",
          html
            ? `The site answered ${status} with an HTML error page (host, CDN or WAF): it is down or overloaded. ` +
              "Try again later."
            : `The site answered ${status} (${wpText}): it is down or overloaded. Try again later.`,
        ),
      };
    }
    if (status === 401) {
      const message = wp?.message ?? "";
      if (wp?.code === "mphb_rest_cannot_view") {
        return { kind: "credentials-ignored", error: err("MOTOPRESS_AUTH_FAILED", wpText) };
      }
      if (/secret is invalid/i.test(message)) {
        return {
          kind: "fatal",
          error: err(
            "MOTOPRESS_AUTH_FAILED",
            "Wrong consumer secret: the site knows the consumer key but the secret does not match. Copy the " +
              "secret again (MotoPress shows it once) or create a new key under Accommodation › Settings › Advanced.",
          ),
        };
      }
      if (/read permission/i.test(message)) {
        return {
          kind: "fatal",
          error: err(
            "MOTOPRESS_FORBIDDEN",
            "The API key has no read permission (it is a write-only key). Set its permission to Read or " +
              "Read/Write under Accommodation › Settings › Advanced.",
          ),
        };
      }
      if (wp?.code === "invalid_username" || /consumer key is invalid/i.test(message)) {
        return {
          kind: "fatal",
          error: err(
            "MOTOPRESS_AUTH_FAILED",
            "Unknown consumer key: the site has no such API key. Check the consumer key (ck_…) or create a " +
              "key under Accommodation › Settings › Advanced.",
          ),
        };
      }
      return {
        kind: "fatal",
        error: err(
          "MOTOPRESS_AUTH_FAILED",
          `The site refused the credentials (401 ${wpText}). Check the API key.`,
        ),
      };
    }
    if (status === 403) {
      if (wp?.code === "mphb_rest_cannot_view" || wp?.code === "rest_forbidden") {
        return {
          kind: "fatal",
          error: err(
            "MOTOPRESS_FORBIDDEN",
            `The API key is valid, but its WordPress user may not read this resource (403 ${wp.code}: it lacks ` +
              "the read_private_posts capability). Give the key to an Administrator or Hotel Manager user.",
          ),
        };
      }
      return {
        kind: "fatal",
        error: err(
          "MOTOPRESS_FORBIDDEN",
          `The site answered 403 (${wpText}). Check the key's permissions and any security plugin.`,
        ),
      };
    }
    if (status === 404) {
      if (wp && /^mphb_rest_invalid_.*_id$/.test(wp.code)) return { kind: "missing" };
      return {
        kind: "fatal",
        error: err(
          "MOTOPRESS_NOT_FOUND",
          wp?.code === "rest_no_route"
            ? "WordPress answered, but it has no mphb/v1 REST route (404 rest_no_route): MotoPress Hotel Booking " +
              "is not active, is older than 4.1 (the REST API arrived in 4.1), or a plugin removes its routes."
            : `Site or REST route not found (404, ${wpText}): check the site URL (the WordPress address).`,
        ),
      };
    }
    if (status === 400) {
      const params = wp?.data && typeof wp.data === "object" && "params" in wp.data
        ? ` ${JSON.stringify((wp.data as { params?: unknown }).params)}`
        : "";
      return {
        kind: "fatal",
        error: err(
          "MOTOPRESS_INVALID_PARAM",
          `The site rejected the request parameters (${wpText}).${params}`,
        ),
      };
    }
    return {
      kind: "fatal",
      error: err("MOTOPRESS_BAD_RESPONSE", `Unexpected HTTP ${status} from the site (${wpText}).`),
    };
  }
}
