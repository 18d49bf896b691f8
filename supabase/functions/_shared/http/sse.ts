// Server-sent events with keep-alive comments, so proxies and the platform's idle timeout do not
// cut a quiet stream.
import { redactDeep } from "../redact.ts";
import { corsHeaders } from "@supabase/supabase-js/cors";

export interface SseSink {
  send(event: string, data: unknown): void;
  readonly closed: boolean;
}

/**
 * Whether the caller asked for the progress stream: `Accept` names text/event-stream (media types
 * are case-insensitive) with a quality above 0 (`q=0` means "not this one", RFC 9110 §12.4.2).
 * Only an explicit range selects it: `*\/*` keeps the JSON answer.
 */
export function wantsEventStream(req: Request): boolean {
  return acceptsEventStream(req.headers.get("accept"));
}

export function acceptsEventStream(accept: string | null): boolean {
  return (accept ?? "").split(",").some((range) => {
    const [type, ...params] = range.split(";").map((p) => p.trim().toLowerCase());
    if (type !== "text/event-stream") return false;
    const q = params.find((p) => /^q\s*=/.test(p))?.replace(/^q\s*=\s*/, "");
    return q === undefined || Number(q) > 0;
  });
}

export function sseResponse(
  produce: (sink: SseSink) => Promise<void>,
  opts: { keepAliveMs?: number; onError?: (err: unknown, sink: SseSink) => void } = {},
): Response {
  const encoder = new TextEncoder();
  let closed = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const write = (text: string) => {
        if (closed) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          closed = true;
        }
      };
      const sink: SseSink = {
        send: (event, data) => write(`event: ${event}\ndata: ${JSON.stringify(redactDeep(data))}\n\n`),
        get closed() {
          return closed;
        },
      };
      write(": stream open\n\n");
      timer = setInterval(() => write(": keep-alive\n\n"), opts.keepAliveMs ?? 15_000);
      produce(sink)
        .catch((err) => opts.onError?.(err, sink))
        .finally(() => {
          clearInterval(timer);
          if (!closed) {
            closed = true;
            controller.close();
          }
        });
    },
    cancel() {
      // The client went away; the sync itself goes on (it was started under waitUntil).
      closed = true;
      clearInterval(timer);
    },
  });
  return new Response(stream, {
    status: 200,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
      ...corsHeaders,
    },
  });
}
