// Deno script: node_modules/deno-platform/deno run -A bench/client-memory.ts --bookings 20000 [--concurrency 2] [--latency 0]
// Reads every booking of a simulated site through the client and reports peak RSS. The simulator runs
// in the same process, so the figure includes the simulated site's own data; the baseline line shows it.
import { createMotoPressClient } from "../supabase/functions/_shared/motopress/client.ts";
import { Simulator } from "../tools/motopress-simulator/simulator.ts";

declare const Deno: {
  args: string[];
  memoryUsage(): { rss: number; heapUsed: number };
  serve(
    options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void },
    handler: (req: Request) => Response | Promise<Response>,
  ): { shutdown(): Promise<void>; finished: Promise<void> };
};

function arg(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const bookings = arg("bookings", 20_000);
const mb = (n: number) => (n / 1024 / 1024).toFixed(1);

const t0 = performance.now();
const simulator = new Simulator({
  seed: 1,
  hotel: { bookings, units: Math.max(20, Math.ceil(bookings / 100)), types: 10 },
});
simulator.setFaults({ latencyMsPerPage: arg("latency", 0) });
const generatedMs = performance.now() - t0;

let port = 0;
const server = Deno.serve(
  { port: 0, hostname: "127.0.0.1", onListen: (addr) => (port = addr.port) },
  simulator.handler,
);
while (port === 0) await new Promise((r) => setTimeout(r, 5));

(globalThis as { gc?: () => void }).gc?.();
const baseline = Deno.memoryUsage().rss;
let peak = baseline;
const sampler = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 20);

const client = createMotoPressClient({
  siteUrl: `http://127.0.0.1:${port}`,
  ...simulator.credentials,
  concurrency: arg("concurrency", 2),
});
const start = performance.now();
let count = 0;
let itemErrors = 0;
let pages = 0;
for await (const page of client.bookings()) {
  pages++;
  count += page.items.length;
  itemErrors += page.itemErrors.length;
  peak = Math.max(peak, Deno.memoryUsage().rss);
}
const elapsed = performance.now() - start;
clearInterval(sampler);
await server.shutdown();

const stats = client.describe();
console.log(JSON.stringify(
  {
    bookingsOnSite: bookings,
    bookingsRead: count,
    itemErrors,
    pages,
    requests: stats.requests,
    retries: stats.retries,
    generateMs: Math.round(generatedMs),
    elapsedMs: Math.round(elapsed),
    rssBaselineMiB: mb(baseline),
    rssPeakMiB: mb(peak),
    rssGrowthDuringScanMiB: mb(peak - baseline),
  },
  null,
  2,
));
if (count + itemErrors !== bookings) throw new Error(`read ${count + itemErrors} of ${bookings} bookings`);
