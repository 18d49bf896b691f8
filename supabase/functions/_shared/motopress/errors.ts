export type MotoPressErrorCode =
  | "MOTOPRESS_AUTH_FAILED"
  | "MOTOPRESS_FORBIDDEN"
  /** A firewall, CDN or security plugin answered instead of WordPress. */
  | "MOTOPRESS_BLOCKED"
  /** Plain permalinks: /wp-json/ is not routed and the plugin authenticates nothing else. */
  | "MOTOPRESS_PLAIN_PERMALINKS"
  /** A plugin or the host switched the REST API off or limited it to logged-in users. */
  | "MOTOPRESS_REST_DISABLED"
  /** The site's certificate is not trusted (self-signed, expired, another host name) or TLS failed. */
  | "MOTOPRESS_TLS"
  | "MOTOPRESS_HTTPS_REQUIRED"
  | "MOTOPRESS_NOT_FOUND"
  | "MOTOPRESS_BAD_RESPONSE"
  | "MOTOPRESS_UNAVAILABLE"
  | "MOTOPRESS_TIMEOUT"
  | "MOTOPRESS_RATE_LIMITED"
  | "MOTOPRESS_INVALID_PARAM"
  | "MOTOPRESS_INVALID_CONFIG"
  /** The site URL (or where it redirected) is not one the functions may fetch: see net/outbound.ts. */
  | "MOTOPRESS_URL_REFUSED"
  | "MOTOPRESS_REDIRECT_REFUSED"
  | "MOTOPRESS_RESPONSE_TOO_LARGE"
  /** A list whose pages stop bringing new items, or run far past the total the site announced. */
  | "MOTOPRESS_ENDLESS_PAGES";

export interface MotoPressErrorDetails {
  status?: number | null;
  attempts?: number;
  wpCode?: string | null;
  url?: string;
  cause?: unknown;
}

/** A failure talking to a MotoPress site; `message` says what the site owner or operator should fix. */
export class MotoPressError extends Error {
  readonly code: MotoPressErrorCode;
  /** HTTP status of the last response, `null` when none arrived (timeout, network error). */
  readonly status: number | null;
  /** Requests made for this call, retries included. */
  readonly attempts: number;
  /** WordPress error `code` from the body, when the body was a WP error. */
  readonly wpCode: string | null;
  /** Request URL with credentials removed. */
  readonly url: string | null;

  constructor(code: MotoPressErrorCode, message: string, details: MotoPressErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "MotoPressError";
    this.code = code;
    this.status = details.status ?? null;
    this.attempts = details.attempts ?? 0;
    this.wpCode = details.wpCode ?? null;
    this.url = details.url ?? null;
  }

  withAttempts(attempts: number): MotoPressError {
    return new MotoPressError(this.code, this.message, {
      status: this.status,
      attempts,
      wpCode: this.wpCode,
      url: this.url ?? undefined,
      cause: this.cause,
    });
  }

  toJSON() {
    return {
      code: this.code,
      message: this.message,
      status: this.status,
      attempts: this.attempts,
      wpCode: this.wpCode,
    };
  }
}

export function isMotoPressError(value: unknown): value is MotoPressError {
  return value instanceof MotoPressError;
}
