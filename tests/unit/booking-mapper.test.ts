import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { bookingSchema } from "../../supabase/functions/_shared/motopress/schemas.ts";
import {
  kindOf,
  mapBooking,
  parseIcalDescription,
  phoneLast4,
} from "../../supabase/functions/_shared/sync/booking-mapper.ts";
import { canTransition, TRANSITIONS } from "../../supabase/functions/_shared/runs/state-machine.ts";

const fixture = (name: string) =>
  bookingSchema.parse(
    JSON.parse(readFileSync(path.join(import.meta.dirname, "../fixtures/motopress", `${name}.json`), "utf8")),
  );

describe("mapBooking", () => {
  it("a two-room booking: the first room is the reservation's room, one junction row per room", () => {
    const m = mapBooking(fixture("booking-two-rooms"));
    if (!m.ok) throw new Error(m.reason);
    expect(m.reservation).toMatchObject({
      external_booking_id: "4521",
      first_unit: 131,
      status: "confirmed",
      kind: "direct",
      guest_name: "Laura Gómez",
    });
    expect(m.rooms.map((r) => [r.position, r.unit_id, r.guest_name])).toEqual([[0, 131, "Laura Gómez"], [
      1,
      137,
      "Pablo Gómez",
    ]]);
  });

  it("an Airbnb reservation: imported, with the reservation code and the last four phone digits", () => {
    const m = mapBooking(fixture("booking-airbnb-imported"));
    if (!m.ok) throw new Error(m.reason);
    expect(m.reservation).toMatchObject({
      kind: "imported",
      guest_name: null,
      external_reference: "HMABCD1234",
      guest_phone_last4: "4821",
      ical_summary: "Reserved",
    });
  });

  it("stores the site's check-in/out times and the last four digits of the customer's phone", () => {
    const m = mapBooking(fixture("booking-two-rooms"));
    if (!m.ok) throw new Error(m.reason);
    expect(m.reservation).toMatchObject({
      check_in_time: "15:00:00",
      check_out_time: "11:00:00",
      guest_phone_last4: "3456",
    });
    expect(mapBooking(fixture("booking-cancelled"))).toMatchObject({
      reservation: { guest_phone_last4: "5678" },
    });
  });

  it("an iCal import's adults/children are the type's capacity, so they are stored as unknown", () => {
    const m = mapBooking(fixture("booking-airbnb-imported"));
    if (!m.ok) throw new Error(m.reason);
    expect([m.reservation.adults, m.reservation.children]).toEqual([null, null]);
    expect(m.rooms.map((r) => [r.adults, r.children])).toEqual([[null, null]]);
    const direct = mapBooking(fixture("booking-two-rooms"));
    expect(direct.ok && [direct.reservation.adults, direct.reservation.children]).toEqual([4, 1]);
  });

  it("an unreadable site time is unknown, not a reason to lose the booking", () => {
    const raw = JSON.parse(
      readFileSync(path.join(import.meta.dirname, "../fixtures/motopress/booking-cancelled.json"), "utf8"),
    );
    const b = bookingSchema.parse({ ...raw, check_in_time: "3 pm", check_out_time: "9:30" });
    expect([b.checkInTime, b.checkOutTime]).toEqual([null, "09:30:00"]);
  });

  it.each([
    ["+34 600 123 456", "3456"],
    ["(555) 01-23", "0123"],
    ["123", null],
    ["", null],
    [null, null],
  ])("phoneLast4(%j) = %j", (phone, last4) => {
    expect(phoneLast4(phone)).toBe(last4);
  });

  it("a cancelled booking is mapped too, with its status", () => {
    const m = mapBooking(fixture("booking-cancelled"));
    expect(m.ok && m.reservation.status).toBe("cancelled");
  });

  it("a booking without rooms cannot be linked and says why", () => {
    const b = { ...fixture("booking-cancelled"), reservedAccommodations: [] };
    expect(mapBooking(b)).toEqual({
      ok: false,
      reason: "Booking has no reserved accommodation, so it has no room to link.",
    });
  });

  it("the room's guest name stands in for an empty customer", () => {
    const b = fixture("booking-two-rooms");
    const m = mapBooking({ ...b, customer: { ...b.customer, firstName: null, lastName: null } });
    expect(m.ok && m.reservation.guest_name).toBe("Laura Gómez");
  });
});

describe("kinds and iCal descriptions", () => {
  it.each(
    [
      [false, null, "direct"],
      [true, "Reserved", "imported"],
      [true, "Airbnb (Not available)", "block"],
      [true, "CLOSED - Not available", "block"],
      [true, null, "imported"],
    ] as const,
  )("imported=%s summary=%s -> %s", (imported, icalSummary, kind) => {
    expect(kindOf({ imported, icalSummary })).toBe(kind);
  });

  it("reads nothing from an empty or foreign description", () => {
    expect(parseIcalDescription(null)).toEqual({ reference: null, phoneLast4: null });
    expect(parseIcalDescription("Booked via a channel manager")).toEqual({
      reference: null,
      phoneLast4: null,
    });
  });
});

describe("state machine", () => {
  it("terminal states have no way out; a run resumes only from running or continuing", () => {
    for (const from of ["completed", "failed", "cancelled"] as const) {
      expect(TRANSITIONS.filter(([f]) => f === from)).toEqual([]);
    }
    expect(canTransition("continuing", "running")).toBe(true);
    // A fan-out parent waits on its chains in `continuing`; the last chain's end completes it there.
    expect(canTransition("continuing", "completed")).toBe(true);
    expect(canTransition("continuing", "continuing")).toBe(false);
    expect(canTransition("cancelled", "completed")).toBe(false);
  });
});
