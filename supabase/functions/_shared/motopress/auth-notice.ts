// When a site ignored the Authorization header and the client fell back to query-string keys, the
// sync works, but the consumer secret now sits in every request URL: the site's access logs (and
// any proxy's or CDN's) record it. The run's stats and test_connection say so, with the fix.
import type { ClientStats } from "./client.ts";

export interface AuthNotice {
  authMode: "query";
  warning: string;
  fix: string;
}

export const QUERY_KEYS_NOTICE: AuthNotice = {
  authMode: "query",
  warning:
    "The site ignored the Authorization header (a proxy or the web server strips it), so the API keys were sent " +
    "in the query string: the consumer secret is then written to the site's access logs (and any proxy's or CDN's).",
  fix: "Pass the Authorization header through to WordPress: on Apache add `CGIPassAuth On` (or " +
    '`SetEnvIf Authorization "(.*)" HTTP_AUTHORIZATION=$1`) to .htaccess; behind nginx with PHP-FPM set ' +
    "`fastcgi_param HTTP_AUTHORIZATION $http_authorization;`. Then rotate the key, since the old secret is in the logs.",
};

/** The notice when this client had to send query-string keys; null when Basic auth worked. */
export function authNotice(stats: Pick<ClientStats, "authMode" | "authFallbacks">): AuthNotice | null {
  return stats.authMode === "query" || stats.authFallbacks > 0 ? QUERY_KEYS_NOTICE : null;
}
