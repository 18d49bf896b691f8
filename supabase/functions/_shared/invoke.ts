import type { Config } from "./config.ts";
import { redact } from "./redact.ts";
import type { Invoker } from "./types.ts";

/** The headers of every call the product makes to a function (pg_cron's jobs send the same). */
export function invokeHeaders(key: string): Record<string, string> {
  return { "content-type": "application/json", apikey: key, authorization: `Bearer ${key}` };
}

/**
 * Invokes a function over HTTP, as the platform does (continuations, pg_cron). Waits only for the
 * acknowledgement: the invoked function works in the background.
 */
export function httpInvoker(config: Config, fetchImpl: typeof fetch = fetch, attempts = 3): Invoker {
  return async (source, body) => {
    for (let attempt = 1;; attempt++) {
      let failure: string;
      try {
        const res = await fetchImpl(`${config.supabaseUrl}/functions/v1/${source}`, {
          method: "POST",
          // API keys belong in `apikey`; the platform accepts a Bearer only when it carries the same value.
          headers: invokeHeaders(config.invokeKey),
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
        const text = await res.text();
        if (res.ok) return;
        failure = `${source} answered ${res.status}: ${redact(text.slice(0, 300), [config.invokeKey])}`;
        // A 4xx is an answer (409: someone else already continues the run); only a 5xx is retried.
        if (res.status < 500) throw new Error(failure);
      } catch (err) {
        if (err instanceof Error && err.message.startsWith(`${source} answered 4`)) throw err;
        failure = String((err as Error)?.message ?? err);
      }
      if (attempt >= attempts) throw new Error(failure);
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  };
}
