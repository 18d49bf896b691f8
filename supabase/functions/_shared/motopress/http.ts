import { MotoPressError, type MotoPressErrorCode } from "./errors.ts";
import { wpErrorSchema, type WpError } from "./schemas.ts";

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
  return url.replace(/(consumer_secret|consumer_key)=[^&]*/g, "$1=REDACTED");
}

function looksLikeHtml(text: string, contentType: string | null): boolean {
  const head = text.trimStart().slice(0, 100).toLowerCase();
  return head.startsWith("<") || (contentType ?? "").includes("text/html");
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

  constructor(private readonly options: HttpOptions) {
    this.authMode = options.authMode;
    this.isPlainHttp = options.siteUrl.startsWith("http://");
  }

  get currentAuthMode(): AuthMode {
    return this.authMode;
  }

  buildUrl(path: string, params: Record<string, string | number> = {}, mode: AuthMode = this.authMode): string {
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
   * which is how MotoPress reports an item that does not exist (or was hard-deleted).
   */
  async getJson(path: string, params: Record<string, string | number> = {}): Promise<JsonResponse | null> {
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
      const outcome = await this.attempt(url, mode, attempts);
      switch (outcome.kind) {
        case "ok":
          return { ...outcome.response, attempts };
        case "missing":
          return null;
        case "fatal":
          throw outcome.error.withAttempts(attempts);
        case "credentials-ignored": {
          if (mode === "basic" && this.options.authFallback && !fellBack) {
            fellBack = true;
            this.authMode = "query";
            this.stats.authFallbacks++;
            continue;
          }
          throw this.credentialsIgnoredError(outcome.error, attempts);
        }
        case "retry": {
          const budgetLeft = retries < this.options.maxRetries &&
            (!outcome.badResponse || badResponseRetries < this.options.maxBadResponseRetries);
          if (!budgetLeft) throw outcome.error.withAttempts(attempts);
          if (outcome.retryAfterMs !== null && outcome.retryAfterMs > this.options.maxRetryAfterMs) {
            throw new MotoPressError(
              "MOTOPRESS_RATE_LIMITED",
              `${outcome.error.message} The site asked to wait ${Math.round(outcome.retryAfterMs / 1000)} s, ` +
                `longer than the ${Math.round(this.options.maxRetryAfterMs / 1000)} s this client waits; try again later.`,
              { status: outcome.error.status, attempts, url: outcome.error.url ?? undefined },
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

  /** Full jitter: a random delay up to the exponential cap spreads retries from concurrent page fetches. */
  private backoff(retry: number): number {
    const cap = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (retry - 1));
    return Math.floor(this.options.random() * cap);
  }

  private credentialsIgnoredError(error: MotoPressError, attempts: number): MotoPressError {
    if (this.isPlainHttp) {
      return new MotoPressError(
        "MOTOPRESS_HTTPS_REQUIRED",
        "The site is served over plain HTTP, where MotoPress ignores consumer keys (both Basic auth and " +
          "consumer_key/consumer_secret query parameters). Use the https:// site URL, or fix the TLS proxy so " +
          "WordPress detects HTTPS (X-Forwarded-Proto).",
        { status: error.status, attempts, wpCode: error.wpCode, url: error.url ?? undefined },
      );
    }
    return new MotoPressError(
      "MOTOPRESS_AUTH_FAILED",
      "The site ignored the API credentials (401 mphb_rest_cannot_view) with Basic auth and with query-string " +
        "keys. Check that the server passes the Authorization header to PHP, that WordPress detects HTTPS " +
        "behind its proxy, and that the URL uses /wp-json/ (plain-permalink ?rest_route= sites skip key auth).",
      { status: error.status, attempts, wpCode: error.wpCode, url: error.url ?? undefined },
    );
  }

  private async attempt(url: string, mode: AuthMode, attempt: number): Promise<Outcome> {
    const safeUrl = redactUrl(url);
    const headers: Record<string, string> = { Accept: "application/json" };
    if (mode === "basic") {
      headers.Authorization = `Basic ${btoa(`${this.options.consumerKey}:${this.options.consumerSecret}`)}`;
    }
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.options.timeoutMs);
    this.stats.requests++;
    let status: number | null = null;
    try {
      const signal = this.options.signal ? AbortSignal.any([controller.signal, this.options.signal]) : controller.signal;
      const response = await this.options.fetch(url, { method: "GET", headers, signal });
      status = response.status;
      // The body read stays under the same timer: a server that stalls mid-body is as dead as one that never answers.
      const text = await response.text();
      this.stats.bytesReceived += text.length;
      return this.classify(response, text, safeUrl);
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
      const reason = cause instanceof Error ? cause.message : String(cause);
      return {
        kind: "retry",
        badResponse: false,
        retryAfterMs: null,
        error: new MotoPressError(
          "MOTOPRESS_UNAVAILABLE",
          `Network error talking to the site (${reason}): the connection was refused or reset. Check the site ` +
            "URL and that the site is up.",
          { status, url: safeUrl, cause },
        ),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  private classify(response: Response, text: string, url: string): Outcome {
    const status = response.status;
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

    if (status >= 200 && status < 300) {
      if (parsed) return { kind: "ok", response: { status, headers: response.headers, body, attempts: 0 } };
      return {
        kind: "retry",
        badResponse: true,
        retryAfterMs: null,
        error: err(
          "MOTOPRESS_BAD_RESPONSE",
          html
            ? "The site answered 200 with an HTML page instead of JSON: a firewall/WAF challenge, a caching " +
              "plugin or a PHP error page. Allow-list the sync's requests to /wp-json/mphb/ in the WAF or cache."
            : "The site answered 200 with malformed or truncated JSON (often PHP notices printed before the " +
              "JSON, or a connection cut short). Disable WP_DEBUG_DISPLAY on the site and check its error log.",
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
          "The site (or its CDN/WAF: MotoPress itself has no rate limit) answered 429 Too Many Requests. " +
            "Lower the client's concurrency or allow-list the sync's IP.",
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
        error: err("MOTOPRESS_AUTH_FAILED", `The site refused the credentials (401 ${wpText}). Check the API key.`),
      };
    }
    if (status === 403) {
      if (wp?.code === "mphb_rest_cannot_view" || wp?.code === "rest_forbidden") {
        return {
          kind: "fatal",
          error: err(
            "MOTOPRESS_FORBIDDEN",
            "The API key's WordPress user may not read this resource (403 mphb_rest_cannot_view). Attach the " +
              "key to an Administrator or Hotel Manager user.",
          ),
        };
      }
      return {
        kind: "fatal",
        error: err(
          "MOTOPRESS_FORBIDDEN",
          html
            ? "The site answered 403 with an HTML page: a firewall, CDN or security plugin blocked the request. " +
              "Allow-list the sync's requests to /wp-json/mphb/."
            : `The site answered 403 (${wpText}). Check the key's permissions and any security plugin.`,
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
            ? "The site has no mphb/v1 REST route: check the site URL, that MotoPress Hotel Booking 4.1+ is " +
              "active, and that permalinks are not set to Plain."
            : `Site or REST route not found (404, ${wpText}): check the site URL and that permalinks are enabled.`,
        ),
      };
    }
    if (status === 400) {
      const params = wp?.data && typeof wp.data === "object" && "params" in wp.data
        ? ` ${JSON.stringify((wp.data as { params?: unknown }).params)}`
        : "";
      return {
        kind: "fatal",
        error: err("MOTOPRESS_INVALID_PARAM", `The site rejected the request parameters (${wpText}).${params}`),
      };
    }
    return {
      kind: "fatal",
      error: err("MOTOPRESS_BAD_RESPONSE", `Unexpected HTTP ${status} from the site (${wpText}).`),
    };
  }
}
