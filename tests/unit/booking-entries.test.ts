import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  entryOf as entryOfItem,
  settle,
  validatedEntry,
} from "../../supabase/functions/_shared/sync/booking-entries.ts";
import { JsonItem, splitJsonArray } from "../../supabase/functions/_shared/motopress/json-items.ts";
import { bookingSchema } from "../../supabase/functions/_shared/motopress/schemas.ts";

const raw = () =>
  JSON.parse(
    readFileSync(path.join(import.meta.dirname, "../fixtures/motopress/booking-two-rooms.json"), "utf8"),
  );

const entryOf = (value: unknown, version?: number) => entryOfItem(JsonItem.of(value), version);

describe("booking entries (the unchanged-booking check)", () => {
  it("the same booking hashes the same; any change of its content or of our mapping's version does not", () => {
    const a = entryOf(raw());
    expect(a.id).toBe(4521);
    expect(entryOf(raw()).hash).toBe(a.hash);
    const edited = raw();
    edited.reserved_accommodations[1].guest_name = "Pablo Gomez";
    expect(entryOf(edited).hash).not.toBe(a.hash);
    const price = raw();
    price.total_price = price.total_price + 0.01;
    expect(entryOf(price).hash).not.toBe(a.hash);
    expect(entryOf(raw(), 999).hash).not.toBe(a.hash);
  });

  it("hashes an item's text as received: split from its page, it hashes as its JSON does", () => {
    const text = JSON.stringify([raw(), { ...raw(), id: 4522 }]);
    const [first, second] = splitJsonArray(text)!.map((i) => entryOfItem(i));
    expect(first).toMatchObject({ id: 4521, hash: entryOf(raw()).hash });
    expect(second.id).toBe(4522);
    expect(second.hash).not.toBe(first.hash);
    // The same booking written otherwise (spacing, escapes) is taken as changed: it is then only
    // validated and compared again, never missed.
    const spaced = splitJsonArray(JSON.stringify([raw()], null, 1))!.map((i) => entryOfItem(i));
    expect(spaced[0].id).toBe(4521);
    expect(spaced[0].hash).not.toBe(first.hash);
  });

  it("an item without a usable id has no hash (it is always validated, and quarantined)", () => {
    expect(entryOf({ id: "x" })).toMatchObject({ id: null, hash: null });
    expect(entryOf(null)).toMatchObject({ id: null, hash: null });
  });

  it("settle validates only what it is given; an already validated booking passes as it is", () => {
    const broken = { ...raw(), id: 7, check_in_date: "2027-02-30" };
    const fetched = bookingSchema.parse({ ...raw(), id: 8 });
    const { valid, itemErrors } = settle([entryOf(raw()), entryOf(broken), validatedEntry(fetched)]);
    expect(valid.map((v) => [v.booking.id, v.hash === null])).toEqual([[8, true], [4521, false]]);
    expect(itemErrors.map((e) => e.id)).toEqual([7]);
  });
});
