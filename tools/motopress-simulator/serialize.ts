import { wpDateTime } from "./dates.ts";
import {
  type BookingRecord,
  emptyCustomer,
  type HotelData,
  type TypeRecord,
  type UnitRecord,
} from "./generator.ts";
import { roomPrice } from "./pricing.ts";

export interface SiteSettings {
  checkInTime: string;
  checkOutTime: string;
  /** The site language: WordPress translates the private/protected title prefix into it. */
  language: SiteLanguage;
}

export type SiteLanguage = "en" | "es" | "fr" | "de";

/** `__('Private: %s')` and `__('Protected: %s')` as WordPress's own translations ship them (entities kept). */
const TITLE_FORMATS: Record<SiteLanguage, { private: string; protected: string }> = {
  en: { private: "Private: %s", protected: "Protected: %s" },
  es: { private: "Privado: %s", protected: "Protegido: %s" },
  fr: { private: "Priv&eacute;&nbsp;: %s", protected: "Prot&eacute;g&eacute;&nbsp;: %s" },
  de: { private: "Privat: %s", protected: "Gesch&uuml;tzt: %s" },
};

/** get_the_title(): a password wins over the private status; one prefix at most. */
export function renderedUnitTitle(u: UnitRecord, language: SiteLanguage): string {
  const formats = TITLE_FORMATS[language];
  if (u.password) return formats.protected.replace("%s", u.title);
  if (u.status === "private") return formats.private.replace("%s", u.title);
  return u.title;
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
    services: t.services.map((x) => ({ id: x.id, title: x.title })),
    categories: [],
    tags: [],
    // Term names are stored escaped.
    amenities: [{ id: 21, name: "Wi-Fi" }, { id: 22, name: "Tea &amp; Coffee" }],
    attributes: [],
    images: [],
    _links: {
      self: [link(`${base}/accommodation_types/${t.id}`)],
      collection: [link(`${base}/accommodation_types`)],
      ...(t.services.some((x) => x.id !== null)
        ? {
          services: t.services.filter((x) => x.id !== null).map((x) =>
            link(`${base}/accommodation_types/services/${x.id}`)
          ),
        }
        : {}),
      amenities: [
        link(`${base}/accommodation_types/amenities/21`),
        link(`${base}/accommodation_types/amenities/22`),
      ],
    },
  };
  if (context === "view") return { id: t.id, status: t.status, ...body };
  return body;
}

export function unitJson(u: UnitRecord, base: string, language: SiteLanguage = "en") {
  return {
    id: u.id,
    status: u.status,
    accommodation_type_id: u.typeId,
    title: renderedUnitTitle(u, language),
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
  lookup: {
    unit(id: number): UnitRecord | undefined;
    type(id: number): TypeRecord | undefined;
    rateType(id: number): number;
  },
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
  links.accommodation_type = reserved.map((r) =>
    link(`${base}/accommodation_types/${r.accommodation_type}`, true)
  );
  const rates = b.rooms.filter((r) => r.rateId !== 0).map((r) => link(`${base}/rates/${r.rateId}`, true));
  if (rates.length) links.rate = rates;
  const c = b.customer;
  // An unfinished admin draft has no UTC date (`false`) and may lack its stay dates (api-helper.php).
  const autoDraft = b.status === "auto-draft";
  return {
    id: b.id,
    status: b.status,
    date_created: wpDateTime(b.createdUtcMs + offsetMs),
    date_created_utc: autoDraft ? false : wpDateTime(b.createdUtcMs),
    key: b.key,
    check_in_date: autoDraft ? null : b.checkIn,
    check_out_date: autoDraft ? null : b.checkOut,
    check_in_time: site.checkInTime,
    check_out_time: site.checkOutTime,
    customer: c ?? emptyCustomer(),
    reserved_accommodations: reserved,
    coupon_code: b.couponCode,
    currency: hotel.currency,
    total_price: b.totalPrice,
    checkout_id: b.checkoutId,
    payments: b.payments.map((p) => ({
      id: p.id,
      status: p.status,
      amount: p.amount,
      currency: hotel.currency,
    })),
    imported,
    ical_description: b.ical?.description ?? "",
    ical_prodid: b.ical?.prodid ?? "",
    ical_summary: b.ical?.summary ?? "",
    note: b.note,
    internal_notes: b.internalNotes,
    _links: links,
  };
}
