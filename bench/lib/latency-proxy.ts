// A TCP proxy in front of PostgreSQL that adds network latency (bench figures 1-3 "at 1 ms RTT":
// the same-region case; the original system ran its per-booking statements over such a network).
// Each chunk is held for the delay of its direction, in order. Node's timers have a 1 ms
// granularity, so a 1 ms round trip is made by holding the server's answers 1 ms and the client's
// messages not at all (half each way would become 1 ms each way); the added round trip is measured
// (`measureRttMs`) and printed with the figures.
import type net from "node:net";
import postgres from "postgres";
import { tcpProxy } from "./probes.ts";

export interface LatencyProxy {
  url: string;
  close(): Promise<void>;
}

function delayedPipe(from: net.Socket, to: net.Socket, delayMs: number) {
  if (delayMs <= 0) {
    from.on("data", (chunk) => to.write(chunk));
    return;
  }
  const queue: { due: number; chunk: Buffer }[] = [];
  let timer: NodeJS.Timeout | null = null;
  const drain = () => {
    timer = null;
    const now = performance.now();
    while (queue.length && queue[0].due <= now + 0.05) to.write(queue.shift()!.chunk);
    if (queue.length) timer = setTimeout(drain, queue[0].due - now);
  };
  from.on("data", (chunk: Buffer) => {
    queue.push({ due: performance.now() + delayMs, chunk });
    if (!timer) timer = setTimeout(drain, delayMs);
  });
}

export function startLatencyProxy(
  targetUrl: string,
  delays: { toServerMs: number; toClientMs: number },
): Promise<LatencyProxy> {
  return tcpProxy(targetUrl, (client, upstream) => {
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    delayedPipe(client, upstream, delays.toServerMs);
    delayedPipe(upstream, client, delays.toClientMs);
  });
}

/** Median round trip of a trivial simple query on one connection to `url`, in ms. */
export async function measureRttMs(url: string, samples = 200): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe("select 1");
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await sql.unsafe("select 1");
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  } finally {
    await sql.end({ timeout: 5 });
  }
}
