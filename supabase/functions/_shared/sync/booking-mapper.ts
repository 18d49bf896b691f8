// From a validated MotoPress booking to the rows the guest chat reads. Pure: no I/O.
import type { Booking } from "../motopress/schemas.ts";

export type ReservationKind = "direct" | "imported" | "block";

export interface ReservationRow {
  external_booking_id: string;
  first_unit: number;
  status: string;
  kind: ReservationKind;
  check_in_date: string;
  check_out_date: string;
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

export type Mapped = { ok: true; reservation: ReservationRow; rooms: RoomRow[] } | { ok: false; reason: string };

// OTA "blocks" are imported bookings that only close dates (reference §3.4-3.5): Airbnb's
// "Airbnb (Not available)", Booking.com's "CLOSED - Not available", and similar wording.
const BLOCK_SUMMARY = /not available|\bclosed\b|\bblocked\b|unavailable/i;

export function kindOf(b: Pick<Booking, "imported" | "icalSummary">): ReservationKind {
  if (!b.imported) return "direct";
  return b.icalSummary && BLOCK_SUMMARY.test(b.icalSummary) ? "block" : "imported";
}

/** Airbnb's description: "Reservation URL: …/details/HMXXXXXXXX\nPhone Number (Last 4 Digits): 0907". */
export function parseIcalDescription(description: string | null): { reference: string | null; phoneLast4: string | null } {
  if (!description) return { reference: null, phoneLast4: null };
  const reference = description.match(/reservations\/details\/([A-Z0-9]{6,})/i)?.[1] ??
    description.match(/\b(HM[A-Z0-9]{6,})\b/)?.[1] ?? null;
  const phoneLast4 = description.match(/Last 4 Digits\)?:\s*(\d{4})/i)?.[1] ?? null;
  return { reference, phoneLast4 };
}

const blank = (s: string | null | undefined): string | null => (s && s.trim() ? s.trim() : null);

export function mapBooking(b: Booking): Mapped {
  const rooms = b.reservedAccommodations;
  if (rooms.length === 0) return { ok: false, reason: "Booking has no reserved accommodation, so it has no room to link." };
  const id = String(b.id);
  const customerName = blank([b.customer.firstName, b.customer.lastName].filter(Boolean).join(" "));
  const roomGuest = rooms.map((r) => blank(r.guestName)).find((n) => n) ?? null;
  const ical = parseIcalDescription(b.icalDescription);
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
      guest_name: customerName ?? roomGuest,
      guest_email: blank(b.customer.email),
      guest_phone: blank(b.customer.phone),
      guest_country: blank(b.customer.country),
      guest_phone_last4: blank(b.customer.phone) ? null : ical.phoneLast4,
      external_reference: ical.reference,
      adults: sum((r) => r.adults),
      children: sum((r) => r.children),
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
      adults: r.adults,
      children: r.children,
      guest_name: blank(r.guestName),
    })),
  };
}
