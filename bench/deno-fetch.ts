// Deno script used by bench/run.ts: the fetch-only pass under Deno, the runtime the functions use
// (same client, same pages, no writes). Args: <siteUrl> <consumerKey> <consumerSecret> [concurrency].
// Prints one JSON line {ms, types, units, bookings, pages}.
import { createMotoPressClient } from "../supabase/functions/_shared/motopress/client.ts";

declare const Deno: { args: string[] };
const [siteUrl, consumerKey, consumerSecret, concurrency] = Deno.args;
const client = createMotoPressClient({
  siteUrl,
  consumerKey,
  consumerSecret,
  concurrency: Number(concurrency ?? 2),
});
const t0 = performance.now();
let types = 0, units = 0, bookings = 0, pages = 0;
for await (const p of client.accommodationTypes()) types += p.items.length;
for await (const p of client.accommodations()) units += p.items.length;
for await (const p of client.bookings()) (bookings += p.items.length), pages++;
console.log(JSON.stringify({ ms: performance.now() - t0, types, units, bookings, pages }));
