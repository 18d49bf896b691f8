// Measuring instruments: resident memory of a process (Linux /proc), and a TCP proxy in front of
// PostgreSQL that counts the client's round trips (Sync and simple Query messages).
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";

function statusField(pid: number, field: string): number | null {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export const rssMiB = (pid: number) => statusField(pid, "VmRSS");
export const hwmMiB = (pid: number) => statusField(pid, "VmHWM");

/** Resets the kernel's peak-RSS counter (VmHWM) of a process: `echo 5 > /proc/<pid>/clear_refs`. */
export function resetHwm(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

export interface RssSampler {
  stop(): { peakMiB: number | null; samples: number };
}

export function sampleRss(pid: number, everyMs = 100): RssSampler {
  let peak: number | null = null;
  let samples = 0;
  const timer = setInterval(() => {
    const v = rssMiB(pid);
    if (v !== null) {
      samples++;
      peak = Math.max(peak ?? 0, v);
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { peakMiB: peak, samples };
    },
  };
}

export interface CountingProxy {
  url: string;
  /** Frontend messages seen since the last reset, by type letter (S = Sync, Q = simple query). */
  counts(): Record<string, number>;
  /** Client→server round trips: each Sync, Flush or simple Query is followed by a wait for the server. */
  roundTrips(): number;
  reset(): void;
  close(): Promise<void>;
}

/** A TCP proxy to one PostgreSQL URL (no TLS): `wire` connects each client socket to its upstream. */
export async function tcpProxy(targetUrl: string, wire: (client: net.Socket, upstream: net.Socket) => void) {
  const target = new URL(targetUrl);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    wire(client, upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", close).on("error", close);
    upstream.on("close", close).on("error", close);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const url = new URL(targetUrl);
  url.hostname = "127.0.0.1";
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A proxy for one PostgreSQL URL (no TLS) that parses the frontend protocol of every connection. */
export async function startCountingProxy(targetUrl: string): Promise<CountingProxy> {
  let counts: Record<string, number> = {};
  const proxy = await tcpProxy(targetUrl, (client, upstream) => {
    let buf = Buffer.alloc(0);
    let startup = true;
    client.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (startup) {
          if (buf.length < 4) break;
          const len = buf.readInt32BE(0);
          if (buf.length < len) break;
          buf = buf.subarray(len);
          startup = false;
          continue;
        }
        if (buf.length < 5) break;
        const len = buf.readInt32BE(1);
        if (buf.length < 1 + len) break;
        const type = String.fromCharCode(buf[0]);
        counts[type] = (counts[type] ?? 0) + 1;
        buf = buf.subarray(1 + len);
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => client.write(chunk));
  });
  return {
    ...proxy,
    counts: () => ({ ...counts }),
    roundTrips: () => (counts.S ?? 0) + (counts.Q ?? 0) + (counts.H ?? 0),
    reset: () => (counts = {}),
  };
}
