// Deno: the CPU per booking of each step a bookings page goes through in the function, measured
// against a running simulator (bench/sim-host.ts prints its URL and keys).
// Args: <siteUrl> <consumerKey> <consumerSecret>. Each step runs 7 times over every page; the best
// time is printed, in µs per booking. An unchanged booking costs the split and the hash; a changed
// one its item's parse, the check, the mapping and the row JSON too.
import { createMotoPressClient } from "../supabase/functions/_shared/motopress/client.ts";
import {
  bookingSchema,
  validateBookingsPage,
  validatePage,
} from "../supabase/functions/_shared/motopress/schemas.ts";
import { JsonItem, splitJsonArray } from "../supabase/functions/_shared/motopress/json-items.ts";
import { entryOf } from "../supabase/functions/_shared/sync/booking-entries.ts";
import { mapBooking } from "../supabase/functions/_shared/sync/booking-mapper.ts";

declare const Deno: { args: string[] };
const [siteUrl, consumerKey, consumerSecret] = Deno.args;
const client = createMotoPressClient({ siteUrl, consumerKey, consumerSecret });
const pages: unknown[][] = [];
for await (const p of client.bookingItems()) pages.push(p.items.map((i) => i.value));
const n = pages.reduce((a, p) => a + p.length, 0);

function step(label: string, run: () => void) {
  run(); // warm-up: the JIT
  let best = Infinity;
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    run();
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`${label.padEnd(28)} ${(best * 1000 / n).toFixed(2)} µs/booking`);
}

const texts = pages.map((p) => JSON.stringify(p));
const split = texts.map((t) => splitJsonArray(t)!);
const valid = pages.map((p) => validatePage(bookingSchema, p).items);
const mapped = valid.map((p) => p.map(mapBooking));
console.log(`${n} bookings, ${Math.round(texts.reduce((a, t) => a + t.length, 0) / n)} JSON characters each`);
step("JSON.parse of the page", () => texts.forEach((t) => JSON.parse(t)));
step("split of the page (the sync)", () => texts.forEach((t) => splitJsonArray(t)));
step("content hash (entryOf)", () => split.forEach((p) => p.forEach((i) => entryOf(i))));
step("JSON.parse of each item", () => texts.forEach((t) => splitJsonArray(t)!.forEach((i) => i.value)));
step("old: stringify + hash", () => pages.forEach((p) => p.forEach((b) => entryOf(JsonItem.of(b)))));
step("zod validation", () => pages.forEach((p) => validatePage(bookingSchema, p)));
step("check + toBooking (the sync)", () => pages.forEach((p) => validateBookingsPage(p)));
step("mapping (mapBooking)", () => valid.forEach((p) => p.forEach(mapBooking)));
step("row JSON for the statement", () => mapped.forEach((p) => JSON.stringify(p)));
