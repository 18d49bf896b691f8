// From a validated MotoPress booking to the rows the guest chat reads. Pure: no I/O.
import type { Booking } from "../motopress/schemas.ts";

/**
 * The version of what a booking becomes here (the booking schema's transform in
 * motopress/schemas.ts, mapBooking below, the SQL writers' columns). It is part of each
 * reservation's content hash: bump it with any change to them, and the next sync rewrites every
 * booking instead of taking the unchanged ones as written.
 */
export const BOOKING_MAPPING_VERSION = 2;

export type ReservationKind = "direct" | "imported" | "block";

export interface ReservationRow {
  external_booking_id: string;
  first_unit: number;
  status: string;
  kind: ReservationKind;
  check_in_date: string;
  check_out_date: string;
  /** `HH:MM:SS`: the site's check-in/out times, as MotoPress returns them on every booking. */
  check_in_time: string | null;
  check_out_time: string | null;
  guest_name: string | null;
  guest_email: string | null;
  guest_phone: string | null;
  guest_country: string | null;
  guest_phone_last4: string | null;
  external_reference: string | null;
  adults: number | null;
  children: number | null;
  total_price: number;
  currency: string | null;
  ical_prodid: string | null;
  ical_summary: string | null;
  ical_description: string | null;
  booked_at: string | null;
}

export interface RoomRow {
  external_booking_id: string;
  position: number;
  unit_id: number;
  type_id: number | null;
  adults: number | null;
  children: number | null;
  guest_name: string | null;
}

export type Mapped = { ok: true; reservation: ReservationRow; rooms: RoomRow[] } | {
  ok: false;
  reason: string;
};

// OTA "blocks" are imported bookings that only close dates (reference §3.4-3.5): Airbnb's
// "Airbnb (Not available)", Booking.com's "CLOSED - Not available", and similar wording.
const BLOCK_SUMMARY = /not available|\bclosed\b|\bblocked\b|unavailable/i;

export function kindOf(b: Pick<Booking, "imported" | "icalSummary">): ReservationKind {
  if (!b.imported) return "direct";
  return b.icalSummary && BLOCK_SUMMARY.test(b.icalSummary) ? "block" : "imported";
}

/** Airbnb's description: "Reservation URL: …/details/HMXXXXXXXX\nPhone Number (Last 4 Digits): 0907". */
export function parseIcalDescription(
  description: string | null,
): { reference: string | null; phoneLast4: string | null } {
  if (!description) return { reference: null, phoneLast4: null };
  const reference = description.match(/reservations\/details\/([A-Z0-9]{6,})/i)?.[1] ??
    description.match(/\b(HM[A-Z0-9]{6,})\b/)?.[1] ?? null;
  const phoneLast4 = description.match(/Last 4 Digits\)?:\s*(\d{4})/i)?.[1] ?? null;
  return { reference, phoneLast4 };
}

const blank = (s: string | null | undefined): string | null => (s && s.trim() ? s.trim() : null);

/** The guest chat logs a guest in with the last four digits of the phone, however it was typed. */
export function phoneLast4(phone: string | null): string | null {
  const digits = (phone ?? "").replace(/\D/g, "");
  return digits.length >= 4 ? digits.slice(-4) : null;
}

export function mapBooking(b: Booking): Mapped {
  const rooms = b.reservedAccommodations;
  if (rooms.length === 0) {
    return { ok: false, reason: "Booking has no reserved accommodation, so it has no room to link." };
  }
  const unnamed = rooms.findIndex((r) => r.accommodationId === 0);
  if (unnamed >= 0) {
    return {
      ok: false,
      reason:
        `Room ${unnamed + 1} of the booking names no accommodation (MotoPress sends 0 when the room's ` +
        "record lost its accommodation), so it has no room to link. Reassign the room in the booking's admin page.",
    };
  }
  const id = String(b.id);
  const customerName = blank([b.customer.firstName, b.customer.lastName].filter(Boolean).join(" "));
  const roomGuest = rooms.map((r) => blank(r.guestName)).find((n) => n) ?? null;
  const ical = parseIcalDescription(b.icalDescription);
  // The iCal importer writes the type's capacity as adults/children, not a guest count: unknown.
  const counts = (n: number | null) => (b.imported ? null : n);
  const sum = (pick: (r: (typeof rooms)[number]) => number | null) =>
    rooms.every((r) => pick(r) == null) ? null : rooms.reduce((n, r) => n + (pick(r) ?? 0), 0);
  return {
    ok: true,
    reservation: {
      external_booking_id: id,
      first_unit: rooms[0].accommodationId,
      status: b.status,
      kind: kindOf(b),
      check_in_date: b.checkInDate,
      check_out_date: b.checkOutDate,
      check_in_time: b.checkInTime,
      check_out_time: b.checkOutTime,
      guest_name: customerName ?? roomGuest,
      guest_email: blank(b.customer.email),
      guest_phone: blank(b.customer.phone),
      guest_country: blank(b.customer.country),
      guest_phone_last4: phoneLast4(b.customer.phone) ?? ical.phoneLast4,
      external_reference: ical.reference,
      adults: sum((r) => counts(r.adults)),
      children: sum((r) => counts(r.children)),
      total_price: b.totalPrice,
      currency: b.currency,
      ical_prodid: b.icalProdid,
      ical_summary: b.icalSummary,
      ical_description: b.icalDescription,
      booked_at: b.dateCreatedUtc || null,
    },
    rooms: rooms.map((r, position) => ({
      external_booking_id: id,
      position,
      unit_id: r.accommodationId,
      type_id: r.accommodationTypeId,
      adults: counts(r.adults),
      children: counts(r.children),
      guest_name: blank(r.guestName),
    })),
  };
}
