// Control characters in upstream text (NUL above all, which PostgreSQL refuses in text and jsonb):
// free text loses them, codes and keys that hold one are refused with a readable reason, and what a
// quarantine row keeps of a refused item is jsonb-safe.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  visibleControls,
  withoutControls,
} from "../../supabase/functions/_shared/motopress/control-chars.ts";
import {
  accommodationSchema,
  accommodationTypeSchema,
  validateAccommodationTypesPage,
  validateBookingsPage,
} from "../../supabase/functions/_shared/motopress/schemas.ts";
import {
  quarantinePayload,
  quarantineReason,
} from "../../supabase/functions/_shared/sync/quarantine-payload.ts";

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/motopress/${name}.json`, import.meta.url), "utf8"));

/** What PostgreSQL's jsonb cast refuses: a \u0000 escape in the JSON text. */
const jsonbSafe = (value: unknown) => !/\\u0000/.test(JSON.stringify(value));

describe("control characters in upstream text", () => {
  it("removes C0 controls from text, keeping tab, line feed and carriage return", () => {
    expect(withoutControls("Ana\u0000 Lu\u0007\u001fz")).toBe("Ana Luz");
    expect(withoutControls("line one\r\nline\ttwo")).toBe("line one\r\nline\ttwo");
    const plain = "nothing to remove";
    expect(withoutControls(plain)).toBe(plain);
  });

  it("a booking with a NUL in the guest's name is kept, the name without it", () => {
    const raw = fixture("booking-pending");
    raw.customer = { ...raw.customer, first_name: "Ma\u0000ria", last_name: "Lo\u0001pez" };
    raw.note = "late\u0000 arrival\nroom 2";
    const page = validateBookingsPage([raw]);
    expect(page.itemErrors).toEqual([]);
    expect(page.items[0].customer.firstName).toBe("Maria");
    expect(page.items[0].customer.lastName).toBe("Lopez");
    expect(page.items[0].note).toBe("late arrival\nroom 2");
    expect(jsonbSafe(page.items[0])).toBe(true);
  });

  it("a booking whose key or currency holds one is refused, with a reason, and its payload is jsonb-safe", () => {
    for (const field of ["key", "currency", "checkout_id"]) {
      const raw = { ...fixture("booking-pending"), [field]: "ab\u0000c" };
      const page = validateBookingsPage([raw]);
      expect(page.items, field).toEqual([]);
      expect(page.itemErrors[0].reason).toContain(`${field}: contains a control character`);
      const payload = quarantinePayload(page.itemErrors[0].raw) as Record<string, unknown>;
      expect(payload[field]).toBe("ab\u2400c");
      expect(jsonbSafe(payload)).toBe(true);
    }
    // A date with one is refused by its format already.
    const page = validateBookingsPage([{ ...fixture("booking-pending"), check_in_date: "2026-12-01\u0000" }]);
    expect(page.itemErrors[0].reason).toContain("check_in_date");
  });

  it("a type's title (entities included) and a unit's title lose them; a status with one is refused", () => {
    const type = accommodationTypeSchema.parse({
      ...fixture("accommodation-type"),
      title: "Sea\u0000 view &#1;Suite",
      description: "two\u0000 rooms\n",
    });
    expect(type.title).toBe("Sea view Suite");
    expect(type.description).toBe("two rooms\n");
    const unit = accommodationSchema.parse({ ...fixture("accommodation"), title: "Room\u0000 101" });
    expect(unit.title).toBe("Room 101");
    const page = validateAccommodationTypesPage([{
      ...fixture("accommodation-type"),
      status: "pub\u0000lish",
    }]);
    expect(page.items).toEqual([]);
    expect(page.itemErrors[0].reason).toContain("status: contains a control character");
  });

  it("a quarantine payload and reason show control characters as symbols, keys included", () => {
    const payload = quarantinePayload({ "na\u0000me": ["a\u0000b", { x: "\u001f" }], n: 1 });
    expect(payload).toEqual({ "na\u2400me": ["a\u2400b", { x: "\u241f" }], n: 1 });
    expect(jsonbSafe(payload)).toBe(true);
    expect(quarantineReason("bad\u0000 value")).toBe("bad\u2400 value");
    expect(visibleControls("tab\tstays")).toBe("tab\tstays");
  });
});
