// The hand-written booking check against its reference, zod's rawBookingSchema: the same verdict on
// every booking of the fixtures and of a simulated hotel, and on each of them with any one field
// removed, given a wrong value or given an extra key; where both accept, the same Booking.
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRawBooking } from "../../supabase/functions/_shared/motopress/booking-check.ts";
import {
  bookingSchema,
  rawBookingSchema,
  toBooking,
  validateBookingsPage,
} from "../../supabase/functions/_shared/motopress/schemas.ts";
import { Simulator } from "../../tools/motopress-simulator/simulator.ts";
import { type SimulatorServer, startSimulatorServer } from "../../tools/motopress-simulator/node-server.ts";

const FIXTURES = new URL("../fixtures/motopress/", import.meta.url);
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.startsWith("booking-") && f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(new URL(f, FIXTURES), "utf8")));

// Wrong (and some right) values for any field: types, bounds, formats, shapes.
const VALUES: unknown[] = [
  null,
  "",
  "x",
  0,
  -1,
  1.5,
  2 ** 53,
  Infinity,
  true,
  false,
  [],
  [{}],
  [[]],
  {},
  { href: "x" },
  "2024-02-29",
  "2023-02-29",
  "2024-13-01",
  "2024-02-29T10:00:00",
  "2024-02-29 10:00:00",
  "12:00",
  "confirmed",
  "trash",
  // Control characters: removed from free text, refused in codes and keys (control-chars.ts).
  "\u0000",
  "Ana\u0000\u001f Lu\tz",
  "EUR\u0000",
  "2024-02-29\u0000",
];

type Json = unknown;
/** Every variant of `value` with one change at one place, paths first to last. */
function* variants(value: Json): Generator<Json> {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      for (const v of variants(value[i])) yield value.map((x, j) => (j === i ? v : x));
    }
    yield [...value, ...value.slice(0, 1)];
  } else if (value !== null && typeof value === "object") {
    const o = value as Record<string, Json>;
    for (const key of Object.keys(o)) {
      const { [key]: _, ...without } = o;
      yield without;
      for (const v of variants(o[key])) yield { ...o, [key]: v };
    }
    yield { ...o, added_by_an_add_on: { nested: [1] } };
  }
  yield* VALUES.filter((v) => v !== value);
}

function expectSameVerdict(raw: Json, where: string) {
  const reference = rawBookingSchema.safeParse(raw);
  const checked = isRawBooking(raw);
  if (checked !== reference.success) {
    throw new Error(
      `${where}: the check says ${checked}, the schema ${reference.success}` +
        `${
          reference.success
            ? ""
            : ` (${reference.error.issues[0].message} at ${reference.error.issues[0].path})`
        }` +
        `\n${JSON.stringify(raw).slice(0, 2000)}`,
    );
  }
  if (checked) expect(toBooking(raw as never), where).toEqual(bookingSchema.parse(raw));
  return checked;
}

describe("the hand-written booking check", () => {
  let server: SimulatorServer;
  let simulated: Json[];
  beforeAll(async () => {
    const sim = new Simulator({ seed: 5, hotel: { bookings: 120, types: 3, unitsPerType: 3 } });
    server = await startSimulatorServer({ port: 0, simulator: sim });
    const auth = `Basic ${btoa(`${sim.credentials.consumerKey}:${sim.credentials.consumerSecret}`)}`;
    const res = await fetch(`${server.url}/wp-json/mphb/v1/bookings?per_page=100`, {
      headers: { Authorization: auth },
    });
    simulated = await res.json();
  });
  afterAll(() => server?.close());

  it("agrees with the schema on every fixture and simulated booking as sent", () => {
    const all = [...fixtures, ...simulated];
    expect(all.length).toBeGreaterThan(100);
    const accepted = all.filter((raw, i) => expectSameVerdict(raw, `booking #${i}`)).length;
    expect(accepted).toBeGreaterThan(100);
  });

  it("agrees with the schema on each booking changed at any one place", () => {
    // The fixtures (each a quirk of the plugin) and a few simulated bookings: two rooms, imported,
    // payments, notes.
    const seeds = [...fixtures, ...simulated.slice(0, 6)];
    let checked = 0, refused = 0;
    for (const [i, seed] of seeds.entries()) {
      for (const variant of variants(seed)) {
        checked++;
        if (!expectSameVerdict(variant, `seed #${i}, variant ${checked}`)) refused++;
      }
    }
    expect(checked).toBeGreaterThan(10_000);
    expect(refused).toBeGreaterThan(checked / 3);
  });

  it("a page keeps zod's reason for a refused booking, in the page's order", () => {
    const [good, bad] = [simulated[0], { ...(simulated[1] as object), check_in_date: "2024-02-30" }];
    const page = validateBookingsPage([good, bad, good]);
    expect(page.items.map((b) => b.id)).toEqual([(good as { id: number }).id, (good as { id: number }).id]);
    expect(page.itemErrors.map((e) => e.reason)).toEqual(["check_in_date: not a calendar date"]);
  });
});
