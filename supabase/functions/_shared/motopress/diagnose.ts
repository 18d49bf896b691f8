// What an answer that is not the API's JSON means, and what the operator should do about it. Each
// diagnosis names the likely cause and the fix; every one here is deterministic (asking again gives
// the same page), so none is retried.
import type { MotoPressErrorCode } from "./errors.ts";

export interface Diagnosis {
  code: MotoPressErrorCode;
  message: string;
}

const titleOf = (html: string): string | null => {
  const m = /<title[^>]*>([^<]{0,200})<\/title>/i.exec(html);
  return m ? m[1].replace(/\s+/g, " ").trim() || null : null;
};

/** WordPress prints `<link rel="https://api.w.org/" href="<REST root>">` on every front-end page. */
function restRootLink(html: string): string | null {
  for (const tag of html.match(/<link\b[^>]*>/gi) ?? []) {
    if (!/rel=["']https:\/\/api\.w\.org\/["']/i.test(tag)) continue;
    const href = /href=["']([^"']+)["']/i.exec(tag)?.[1];
    if (href) return href.replace(/&#0?38;|&amp;/g, "&");
  }
  return null;
}

const SECURITY_PAGES: { test: RegExp; who: string; fix: string }[] = [
  {
    // Not the word "cloudflare" alone: theme pages load scripts from cdnjs.cloudflare.com.
    test:
      /cf-chl|challenge-platform|<title>Just a moment\.\.\.<\/title>|Attention Required! \| Cloudflare|used Cloudflare to restrict access|cf-error-details/i,
    who: "Cloudflare's bot protection (a challenge or block page)",
    fix:
      "In Cloudflare add a WAF custom rule that skips bot checks for the path /wp-json/mphb/ (or the sync's IPs).",
  },
  {
    test: /Wordfence|wfls-|access to this site has been limited by the site owner/i,
    who: "the Wordfence security plugin",
    fix:
      "In Wordfence › Firewall allow-list the sync's IP addresses, or unblock them under Wordfence › Tools.",
  },
  {
    test: /Sucuri WebSite Firewall|sucuri\.net\/privacy-policy|cloudproxy/i,
    who: "the Sucuri website firewall",
    fix: "Allow-list the sync's IP addresses in the Sucuri dashboard.",
  },
  {
    test:
      /mod_security|modsecurity|Not Acceptable!|imunify360|<title>\s*(Access denied|Request blocked|Bot protection)/i,
    who: "a firewall or security module in front of WordPress",
    fix: "Ask the host to allow the sync's requests to /wp-json/mphb/ (or its IPs).",
  },
];

/** An HTML page where the API's JSON should be (any status). */
export function diagnoseHtml(html: string, status: number): Diagnosis {
  const title = titleOf(html);
  const page = title ? `an HTML page ("${title}")` : "an HTML page";
  // A page of the WordPress site itself (its head announces the REST root) says more than any
  // wording on it; security and challenge pages are standalone and carry no such link.
  const restRoot = restRootLink(html);
  const security = restRoot === null ? SECURITY_PAGES.find((s) => s.test.test(html)) : undefined;
  if (security) {
    return {
      code: "MOTOPRESS_BLOCKED",
      message:
        `The site answered ${status} with ${page} from ${security.who} instead of the API's JSON. ${security.fix}`,
    };
  }
  if (restRoot !== null && /[?&]rest_route=/.test(restRoot)) {
    return {
      code: "MOTOPRESS_PLAIN_PERMALINKS",
      message:
        `The site uses WordPress's Plain permalinks: /wp-json/ is not routed, so it answered ${status} with ` +
        `${page} (its REST API is announced at ${restRoot}). MotoPress checks API keys only on /wp-json/mphb/ ` +
        "addresses, so ?rest_route= cannot authenticate either. In WordPress open Settings › Permalinks, choose any " +
        "structure other than Plain (e.g. Post name) and save.",
    };
  }
  if (restRoot !== null) {
    return {
      code: "MOTOPRESS_NOT_FOUND",
      message:
        `The site answered ${status} with ${page} of the WordPress site instead of the API. Its REST API is ` +
        `announced at ${restRoot}: register the site URL that address starts with (the WordPress address, ` +
        "including any subdirectory).",
    };
  }
  if (status === 401) {
    return {
      code: "MOTOPRESS_AUTH_FAILED",
      message:
        `The site answered 401 with ${page}: it sits behind HTTP password protection (often a staging ` +
        "site's .htaccess/.htpasswd), which asks for its own password before WordPress sees the API key. Lift the " +
        "protection for /wp-json/mphb/.",
    };
  }
  if (status >= 200 && status < 300) {
    return {
      code: "MOTOPRESS_BAD_RESPONSE",
      message:
        `The site answered 200 with ${page} instead of JSON: a caching, maintenance or "coming soon" ` +
        "plugin, or a proxy, answers for /wp-json/mphb/. Exclude /wp-json/ from it.",
    };
  }
  return {
    code: status === 403 ? "MOTOPRESS_BLOCKED" : "MOTOPRESS_NOT_FOUND",
    message: status === 403
      ? `The site answered 403 with ${page}: a firewall, CDN or security plugin blocked the request. ` +
        "Allow-list the sync's requests to /wp-json/mphb/."
      : `The site answered ${status} with ${page}: check the site URL (the WordPress address) and that ` +
        "permalinks are not set to Plain.",
  };
}

/** WordPress error codes that plugins and hosts use to switch the REST API off or limit it to logged-in users. */
const REST_OFF_CODES =
  /^(rest_disabled|rest_login_required|rest_cannot_access|rest_not_logged_in|rest_api_disabled|rest_authentication_required|itsec_rest_api_access_restricted|rest_user_cannot_view)$/;

export function diagnoseRestRestriction(status: number, code: string, message: string): Diagnosis | null {
  if (
    !REST_OFF_CODES.test(code) &&
    !/REST API.*(disabled|restricted|only authenticated|logged.in)/i.test(message)
  ) {
    return null;
  }
  return {
    code: "MOTOPRESS_REST_DISABLED",
    message:
      `The WordPress REST API is switched off or limited to logged-in users on this site (${status} ${code}: ` +
      `${message}), by a plugin such as Disable REST API, Solid Security, Perfmatters or WP Hide, or by the host. ` +
      "Allow the path /wp-json/mphb/ in that plugin's settings.",
  };
}

/** Concatenates an error's messages and codes down its cause chain (Deno and Node word TLS errors differently). */
function errorText(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e && depth < 6; depth++) {
    const x = e as { message?: unknown; code?: unknown; cause?: unknown };
    if (typeof x.message === "string") parts.push(x.message);
    if (typeof x.code === "string") parts.push(x.code);
    e = x.cause;
  }
  return parts.join(": ");
}

/** A failed connection: TLS certificate problems are deterministic; refused/reset/DNS are for a retry. */
export function diagnoseNetworkError(error: unknown, host: string): Diagnosis & { retry: boolean } {
  const text = errorText(error);
  const tls = (why: string, fix: string): Diagnosis & { retry: boolean } => ({
    code: "MOTOPRESS_TLS",
    retry: false,
    message: `The site's HTTPS certificate ${why} (${text.slice(0, 400)}). ${fix}`,
  });
  if (/expired|CERT_HAS_EXPIRED|NotValidYet|CERT_NOT_YET_VALID/i.test(text)) {
    return tls(
      "has expired or is not valid yet",
      `Renew the certificate for ${host} (e.g. Let's Encrypt auto-renewal).`,
    );
  }
  if (
    /NotValidForName|ALTNAME|does not match|not valid for|CertNotValidForName|hostname mismatch/i.test(text)
  ) {
    return tls(
      `was issued for another host name than ${host}`,
      "Check the site URL's host (www. or not, as on the certificate) or install a certificate that covers it.",
    );
  }
  if (
    /UnknownIssuer|self[- ]signed|UNABLE_TO_VERIFY|local issuer|CaUsedAsEndEntity|DEPTH_ZERO|SELF_SIGNED|untrusted|unknown ca|BadSignature/i
      .test(text)
  ) {
    return tls(
      "is not signed by a trusted authority: it is self-signed, or the server does not send its intermediate certificate",
      `Install a certificate from a public authority for ${host} (e.g. Let's Encrypt), with its full chain.`,
    );
  }
  if (
    /certificate|handshake|WRONG_VERSION_NUMBER|InvalidContentType|corrupt message|\bssl\b|\btls\b/i.test(
      text,
    )
  ) {
    return tls(
      "or TLS handshake failed",
      "Check that the site serves HTTPS on this address and port with a valid certificate.",
    );
  }
  const refused = /ECONNREFUSED|refused/i.test(text);
  const dns =
    /ENOTFOUND|EAI_AGAIN|dns error|failed to lookup|Name or service not known|nodename nor servname/i.test(
      text,
    );
  return {
    code: "MOTOPRESS_UNAVAILABLE",
    retry: true,
    message: dns
      ? `The site's host name ${host} does not resolve (${text.slice(0, 400)}): check the site URL.`
      : refused
      ? `The site refused the connection (${
        text.slice(0, 400)
      }): nothing answers on that address and port. ` +
        "Check the site URL and that the site is up."
      : `Network error talking to the site (${
        text.slice(0, 400)
      }): the connection was reset or cut. Check that ` +
        "the site is up.",
  };
}
