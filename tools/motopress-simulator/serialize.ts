import { wpDateTime } from "./dates.ts";
import { type BookingRecord, emptyCustomer, type HotelData, type TypeRecord, type UnitRecord } from "./generator.ts";
import { roomPrice } from "./pricing.ts";

export interface SiteSettings {
  checkInTime: string;
  checkOutTime: string;
}

const link = (href: string, embeddable?: boolean) => (embeddable ? { href, embeddable: true } : { href });

export function typeJson(t: TypeRecord, base: string, context: "view" | "embed" = "view") {
  const body: Record<string, unknown> = {
    id: t.id,
    title: t.title,
    description: `<!-- wp:paragraph -->\n<p>${t.title}.</p>\n<!-- /wp:paragraph -->`,
    excerpt: "",
    adults: t.adults,
    children: t.children,
    total_capacity: t.totalCapacity,
    base_adults: t.adults,
    base_children: 0,
    bed_type: t.bedType,
    size: t.size,
    view: t.view,
    services: [],
    categories: [],
    tags: [],
    amenities: [{ id: 21, name: "Wi-Fi" }],
    attributes: [],
    images: [],
    _links: {
      self: [link(`${base}/accommodation_types/${t.id}`)],
      collection: [link(`${base}/accommodation_types`)],
      amenities: [link(`${base}/accommodation_types/amenities/21`)],
    },
  };
  if (context === "view") return { id: t.id, status: t.status, ...body };
  return body;
}

export function unitJson(u: UnitRecord, base: string) {
  return {
    id: u.id,
    status: u.status,
    accommodation_type_id: u.typeId,
    title: u.title,
    excerpt: "",
    _links: {
      self: [link(`${base}/accommodations/${u.id}`)],
      collection: [link(`${base}/accommodations`)],
      accommodation_type_id: [link(`${base}/accommodation_types/${u.typeId}`, true)],
    },
  };
}

/**
 * Builds the booking exactly as MotoPress renders it at read time: the room's type comes from the
 * unit's *current* type (Q6) and the price breakdown from the *current* rate (Q4); `total_price` is stored.
 */
export function bookingJson(
  b: BookingRecord,
  hotel: HotelData,
  lookup: { unit(id: number): UnitRecord | undefined; type(id: number): TypeRecord | undefined; rateType(id: number): number },
  base: string,
  site: SiteSettings,
) {
  const offsetMs = hotel.utcOffsetMinutes * 60_000;
  const imported = b.ical !== null;
  const reserved = b.rooms.map((r) => {
    const unit = lookup.unit(r.unitId);
    const typeId = unit?.typeId ?? lookup.rateType(r.rateId);
    const type = lookup.type(typeId);
    const emptyPrices = imported && b.totalPrice === 0;
    const price = !emptyPrices && type ? roomPrice(type.nightlyPrice, b.checkIn, b.checkOut) : null;
    return {
      accommodation: r.unitId,
      accommodation_type: type ? typeId : 0,
      rate: r.rateId,
      adults: r.adults,
      children: r.children,
      guest_name: r.guestName,
      services: [],
      accommodation_price_per_days: price?.perDay ?? [],
      fees: price?.fees ?? [],
      taxes: price?.taxes ?? { accommodation: [], services: [], fees: [] },
      discount: 0,
    };
  });
  const links: Record<string, unknown[]> = {
    self: [link(`${base}/bookings/${b.id}`)],
    collection: [link(`${base}/bookings`)],
  };
  if (b.payments.length) links.payments = b.payments.map((p) => link(`${base}/payments/${p.id}`, true));
  else if (b.status !== "confirmed") links.payments = [link(`${base}/payments`)];
  links.accommodation = b.rooms.map((r) => link(`${base}/accommodations/${r.unitId}`, true));
  links.accommodation_type = reserved.map((r) => link(`${base}/accommodation_types/${r.accommodation_type}`, true));
  const rates = b.rooms.filter((r) => r.rateId !== 0).map((r) => link(`${base}/rates/${r.rateId}`, true));
  if (rates.length) links.rate = rates;
  const c = b.customer;
  return {
    id: b.id,
    status: b.status,
    date_created: wpDateTime(b.createdUtcMs + offsetMs),
    date_created_utc: wpDateTime(b.createdUtcMs),
    key: b.key,
    check_in_date: b.checkIn,
    check_out_date: b.checkOut,
    check_in_time: site.checkInTime,
    check_out_time: site.checkOutTime,
    customer: c ?? emptyCustomer(),
    reserved_accommodations: reserved,
    coupon_code: b.couponCode,
    currency: hotel.currency,
    total_price: b.totalPrice,
    checkout_id: b.checkoutId,
    payments: b.payments.map((p) => ({ id: p.id, status: p.status, amount: p.amount, currency: hotel.currency })),
    imported,
    ical_description: b.ical?.description ?? "",
    ical_prodid: b.ical?.prodid ?? "",
    ical_summary: b.ical?.summary ?? "",
    note: b.note,
    internal_notes: b.internalNotes,
    _links: links,
  };
}
