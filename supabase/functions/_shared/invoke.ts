import type { Config } from "./config.ts";
import type { Source } from "./runs/types.ts";

export type Invoker = (source: Source, body: Record<string, unknown>) => Promise<void>;

/**
 * Invokes a function over HTTP, as the platform does (continuations, pg_cron). Waits only for the
 * acknowledgement: the invoked function works in the background.
 */
export function httpInvoker(config: Config, fetchImpl: typeof fetch = fetch): Invoker {
  return async (source, body) => {
    const res = await fetchImpl(`${config.supabaseUrl}/functions/v1/${source}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${config.invokeKey}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${source} answered ${res.status}: ${text.slice(0, 300)}`);
  };
}
