// Server-sent events with keep-alive comments, so proxies and the platform's idle timeout do not
// cut a quiet stream.
import { redactDeep } from "../redact.ts";
import { corsHeaders } from "@supabase/supabase-js/cors";

export interface SseSink {
  send(event: string, data: unknown): void;
  readonly closed: boolean;
}

export function wantsEventStream(req: Request): boolean {
  return (req.headers.get("accept") ?? "").includes("text/event-stream");
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
