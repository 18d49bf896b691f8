import { z } from "zod";
import { isRawBooking } from "./booking-check.ts";
import { CONTROL_CHARACTER_REASON, isFreeOfControls, withoutControls } from "./control-chars.ts";
import { BOOKING_STATUSES, type BookingStatus, isCalendarDate, NAIVE_DATE_TIME, YMD } from "./formats.ts";
import { decodeHtmlEntities } from "./html-entities.ts";
import { PRIVATE_TITLE_PREFIXES, PROTECTED_TITLE_PREFIXES } from "./title-prefixes.ts";

// Raw shapes follow the mphb/v1 API as described in docs/motopress-quirks.md and the reference notes.
// Objects are loose: WordPress and add-ons append keys (`_links`, `_embedded`, `targetHints`, custom fields).

/**
 * Statuses a single GET returns for every type (types, units, bookings) but a list never does: in the
 * trash, restored from it (WordPress restores to draft) or an unfinished admin draft. For the sync the
 * item is gone until it is published again.
 */
export const NON_LIVE_POST_STATUSES = ["trash", "auto-draft", "draft"] as const;
export const isNonLiveStatus = (status: unknown): boolean =>
  typeof status === "string" && (NON_LIVE_POST_STATUSES as readonly string[]).includes(status);

const id = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const money = z.number().finite();

const ymd = z.string().regex(YMD, "expected Y-m-d").refine(isCalendarDate, "not a calendar date");
const naiveDateTime = z.string().regex(NAIVE_DATE_TIME, "expected Y-m-d\\TH:i:s");

/** Text as sent: a string, null or absent (converted by `orNull`/`orEmpty`). */
const nullishString = z.string().nullish();
/**
 * A code or a key (a booking's key, a currency, a post status): its control characters cannot be
 * removed without changing what it says, so they refuse the item (quarantined with the reason).
 */
const codeString = z.string().refine(isFreeOfControls, CONTROL_CHARACTER_REASON);
const nullishCode = codeString.nullish();
/** Free text as the sync stores it: control characters removed (control-chars.ts). */
const clean = (v: string | null | undefined): string | null | undefined =>
  typeof v === "string" ? withoutControls(v) : v;
/** WordPress uses `""` for unset meta; some builds or add-ons send null or omit the key. */
const orNull = (
  v: string | null | undefined,
): string | null => (v === undefined || v === null || v === "" ? null : v);
const orEmpty = (v: string | null | undefined): string => v ?? "";
const optionalText = nullishString.transform((v) => orNull(clean(v)));
const text = nullishString.transform((v) => orEmpty(clean(v)));

/** The premium iCal importer stores SUMMARY/DESCRIPTION as `"…"`, literal quotes included. */
export function unquoteIcal(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}
/**
 * `check_in_time`/`check_out_time` are a site setting (option + ":00"). An unreadable value is a
 * harmless oddity: it becomes `null` (unknown) rather than costing the booking.
 */
function siteTime(v: string | null | undefined): string | null {
  const m = v ? /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(v.trim()) : null;
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59) return null;
  return `${m[1].padStart(2, "0")}:${m[2]}:${m[3] ?? "00"}`;
}
function icalText(v: string | null | undefined): string | null {
  const unquoted = unquoteIcal(v ?? "");
  return unquoted === "" ? null : unquoted;
}

const linkObject = z.looseObject({ href: z.string() });
const links = z.record(z.string(), z.array(linkObject)).optional();

// ---------- accommodation types ----------

// Term and service lists are decoration: an odd entry is dropped, never a reason to lose the type.
const namedTerm = z.looseObject({ id: z.number().int().nullish(), name: z.string().nullish() });
const termNames = (terms: z.infer<typeof namedTerm>[] | undefined) =>
  (terms ?? []).flatMap((t) => (t.name ? [withoutControls(decodeHtmlEntities(t.name))] : []));
export const rawAccommodationTypeSchema = z.looseObject({
  id,
  status: codeString.min(1).optional(),
  title: z.string(),
  description: text,
  excerpt: text,
  adults: nonNegativeInt.optional(),
  children: nonNegativeInt.optional(),
  total_capacity: nonNegativeInt.optional(),
  base_adults: nonNegativeInt.optional(),
  base_children: nonNegativeInt.optional(),
  bed_type: optionalText,
  // An int by the getter (intval); a float or a negative from an add-on is rounded / dropped, not fatal.
  size: z.number().finite().nullish().transform((
    v,
  ) => (v === null || v === undefined || v < 0 ? null : Math.round(v))),
  view: optionalText,
  // A permanently deleted service is serialized as {"id":null,"title":null}: WordPress empties the
  // trash after 30 days and nothing removes the stale id from the type.
  services: z.array(z.looseObject({ id: z.number().int().nullish(), title: z.string().nullish() }))
    .optional(),
  categories: z.array(namedTerm).optional(),
  tags: z.array(namedTerm).optional(),
  amenities: z.array(namedTerm).optional(),
  _links: links,
});

export interface AccommodationType {
  id: number;
  /** WordPress post status; `null` when fetched in embed context. Lists include `pending` and `private`. */
  status: string | null;
  /** HTML entities decoded. */
  title: string;
  description: string;
  excerpt: string | null;
  adults: number | null;
  children: number | null;
  /** `null` means "not limited" (the API sends 0). */
  totalCapacity: number | null;
  baseAdults: number | null;
  baseChildren: number | null;
  bedType: string | null;
  size: number | null;
  view: string | null;
  /** Live services only; deleted ones (`{"id":null}`) are counted in `deletedServices`. */
  serviceIds: number[];
  deletedServices: number;
  categories: string[];
  amenities: string[];
}

export const accommodationTypeSchema = rawAccommodationTypeSchema.transform((t): AccommodationType => ({
  id: t.id,
  status: t.status ?? null,
  // Decoded first: an entity (&#1;) can be a control character too.
  title: withoutControls(decodeHtmlEntities(t.title)),
  description: t.description,
  excerpt: t.excerpt === "" ? null : t.excerpt,
  adults: t.adults ?? null,
  children: t.children ?? null,
  totalCapacity: t.total_capacity ? t.total_capacity : null,
  baseAdults: t.base_adults ?? null,
  baseChildren: t.base_children ?? null,
  bedType: t.bed_type,
  size: t.size,
  view: t.view,
  serviceIds: (t.services ?? []).flatMap((s) => (typeof s.id === "number" && s.id > 0 ? [s.id] : [])),
  deletedServices: (t.services ?? []).filter((s) => !(typeof s.id === "number" && s.id > 0)).length,
  categories: termNames(t.categories),
  amenities: termNames(t.amenities),
}));

// ---------- accommodations (units) ----------

export const rawAccommodationSchema = z.looseObject({
  id,
  status: codeString.min(1).optional(),
  accommodation_type_id: nonNegativeInt,
  title: z.string(),
  excerpt: text,
  _links: links,
});

export interface Accommodation {
  id: number;
  status: string | null;
  /** `null` when the unit's type meta is missing (the API sends 0). */
  accommodationTypeId: number | null;
  /** HTML entities decoded and WordPress's private/protected prefix (in the site's language) removed. */
  title: string;
  excerpt: string | null;
}

const withoutPrefix = (title: string, prefixes: readonly string[]): string | null => {
  const prefix = prefixes.find((p) => title.startsWith(p));
  return prefix === undefined ? null : title.slice(prefix.length);
};

/**
 * get_the_title() prefixes a private post with "Private: %s" and a password-protected one with
 * "Protected: %s", translated. The private form is removed only from a unit whose status is
 * `private`. A protected post keeps its status (`publish`) and the API hides its password, so the
 * translated "Protected" form itself is the sign; an ordinary title with a colon ("Suite: Sea view")
 * matches neither list and is kept as written.
 */
export function unitDisplayTitle(rawTitle: string, status: string | null | undefined): string {
  const title = withoutControls(decodeHtmlEntities(rawTitle));
  const stripped = (status === "private" ? withoutPrefix(title, PRIVATE_TITLE_PREFIXES) : null) ??
    withoutPrefix(title, PROTECTED_TITLE_PREFIXES);
  return stripped && stripped.trim() ? stripped : title;
}

export const accommodationSchema = rawAccommodationSchema.transform((a): Accommodation => {
  const title = unitDisplayTitle(a.title, a.status);
  return {
    id: a.id,
    status: a.status ?? null,
    accommodationTypeId: a.accommodation_type_id === 0 ? null : a.accommodation_type_id,
    title,
    excerpt: a.excerpt === "" ? null : a.excerpt,
  };
});

// ---------- bookings ----------

// Validation only: every field passes as sent, and `toBooking` converts it. A page's bookings are
// checked by hand first (booking-check.ts, a few times faster: the sync checks every booking of a
// first import); these schemas are the reference that check is tested against, and give a refused
// booking its reason. Plain (stripping) objects, unlike the loose ones above: `toBooking` reads only
// declared keys, so an add-on's extra keys change nothing.

const labelled = z.object({ label: nullishString, value: money.optional(), price: money.optional() });
const taxes = z.object({
  accommodation: z.array(labelled).optional(),
  services: z.array(labelled).optional(),
  fees: z.array(labelled).optional(),
});

const rawReservedAccommodation = z.object({
  // 0 when the room's meta is missing: the booking then cannot be linked, which the mapper says.
  accommodation: nonNegativeInt,
  accommodation_type: nonNegativeInt.optional(),
  rate: nonNegativeInt.optional(),
  adults: nonNegativeInt.optional(),
  children: nonNegativeInt.optional(),
  guest_name: nullishString,
  services: z.array(z.object({
    id: z.number().int().nullish(),
    quantity: nonNegativeInt.optional(),
    adults: nonNegativeInt.optional(),
    price: money.optional(),
  })).optional(),
  accommodation_price_per_days: z.array(z.object({ date: ymd, price: money })).optional(),
  fees: z.array(labelled).optional(),
  taxes: z.union([taxes, z.array(z.never())]).optional(),
  discount: money.optional(),
});

const customerKeys = [
  "first_name",
  "last_name",
  "email",
  "phone",
  "country",
  "state",
  "city",
  "zip",
  "address1",
] as const;
const rawCustomer = z.object(
  Object.fromEntries(customerKeys.map((k) => [k, nullishString])) as {
    [K in typeof customerKeys[number]]: typeof nullishString;
  },
);

export const rawBookingSchema = z.object({
  id,
  status: z.enum(BOOKING_STATUSES),
  date_created: naiveDateTime,
  date_created_utc: naiveDateTime,
  key: nullishCode,
  check_in_date: ymd,
  check_out_date: ymd,
  check_in_time: nullishString,
  check_out_time: nullishString,
  customer: rawCustomer.nullish(),
  reserved_accommodations: z.array(rawReservedAccommodation),
  coupon_code: nullishString,
  currency: nullishCode,
  total_price: money,
  checkout_id: nullishCode,
  payments: z.array(z.object({
    id,
    status: z.string(),
    amount: money,
    currency: nullishString,
  })).optional(),
  imported: z.boolean(),
  ical_prodid: nullishString,
  ical_summary: nullishString,
  ical_description: nullishString,
  note: nullishString,
  // date_utc is `false` when the stored date is not numeric.
  internal_notes: z.array(z.object({
    note: nullishString,
    user: z.number().int().nullish(),
    date_utc: z.union([z.string(), z.literal(false)]).nullish(),
  })).optional(),
  _links: links,
}).refine((b) => b.check_out_date >= b.check_in_date, {
  message: "check_out_date is before check_in_date",
  path: ["check_out_date"],
});
/** A booking as sent, checked. */
export type RawBooking = z.infer<typeof rawBookingSchema>;

export interface Customer {
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  phone: string | null;
  country: string | null;
  state: string | null;
  city: string | null;
  zip: string | null;
  address1: string | null;
}

export interface LabelledAmount {
  label: string;
  amount: number;
}

export interface ReservedAccommodation {
  accommodationId: number;
  /** Derived by MotoPress from the unit's *current* type at read time; `null` when it sent 0. */
  accommodationTypeId: number | null;
  /** `null` for iCal-imported rooms (rate 0). */
  rateId: number | null;
  adults: number | null;
  children: number | null;
  /** `null` when empty or when the site predates 4.2.5. */
  guestName: string | null;
  services: { id: number; quantity: number | null; adults: number | null; price: number | null }[];
  /** Recomputed by MotoPress from current rates on every request: informational, not historical. */
  pricePerDay: { date: string; price: number }[];
  fees: LabelledAmount[];
  taxes: { accommodation: LabelledAmount[]; services: LabelledAmount[]; fees: LabelledAmount[] };
  discount: number;
}

export interface Booking {
  id: number;
  status: BookingStatus;
  /** Site-local wall time, no offset (as sent). */
  dateCreated: string;
  /** ISO 8601 UTC with `Z`. */
  dateCreatedUtc: string;
  key: string | null;
  checkInDate: string;
  checkOutDate: string;
  /** `HH:MM:SS`, the site's check-in time; `null` when absent or unreadable. */
  checkInTime: string | null;
  /** `HH:MM:SS`, the site's check-out time; `null` when absent or unreadable. */
  checkOutTime: string | null;
  customer: Customer;
  reservedAccommodations: ReservedAccommodation[];
  couponCode: string | null;
  currency: string | null;
  /** The stored historical total: the source of truth for money. */
  totalPrice: number;
  checkoutId: string | null;
  payments: { id: number; status: string; amount: number; currency: string | null }[];
  imported: boolean;
  icalProdid: string | null;
  /** Surrounding quotes removed. */
  icalSummary: string | null;
  /** Surrounding quotes removed; may contain newlines. */
  icalDescription: string | null;
  note: string | null;
  internalNotes: { note: string; user: number | null; dateUtc: string | null }[];
}

// Fees carry `price` on real sites although the published schema says `value`; taxes use `value`.
function amounts(items: z.infer<typeof labelled>[] | undefined): LabelledAmount[] {
  return (items ?? []).map((i) => ({ label: orEmpty(clean(i.label)), amount: i.price ?? i.value ?? 0 }));
}

/**
 * The booking the sync writes, from one as sent (checked by either validator). Free text loses its
 * control characters here, for both validators alike (codes and keys with one were refused).
 */
export function toBooking(b: RawBooking): Booking {
  const c = b.customer;
  return {
    id: b.id,
    status: b.status,
    dateCreated: b.date_created,
    dateCreatedUtc: `${b.date_created_utc}Z`,
    key: orNull(b.key),
    checkInDate: b.check_in_date,
    checkOutDate: b.check_out_date,
    checkInTime: siteTime(b.check_in_time),
    checkOutTime: siteTime(b.check_out_time),
    customer: {
      firstName: orNull(clean(c?.first_name)),
      lastName: orNull(clean(c?.last_name)),
      email: orNull(clean(c?.email)),
      phone: orNull(clean(c?.phone)),
      country: orNull(clean(c?.country))?.toUpperCase() ?? null,
      state: orNull(clean(c?.state)),
      city: orNull(clean(c?.city)),
      zip: orNull(clean(c?.zip)),
      address1: orNull(clean(c?.address1)),
    },
    reservedAccommodations: b.reserved_accommodations.map((r) => {
      const t = Array.isArray(r.taxes) ? undefined : r.taxes;
      return {
        accommodationId: r.accommodation,
        accommodationTypeId: r.accommodation_type ? r.accommodation_type : null,
        rateId: r.rate ? r.rate : null,
        adults: r.adults ?? null,
        children: r.children ?? null,
        guestName: clean(r.guest_name)?.trim() || null,
        services: (r.services ?? []).flatMap((s) => (typeof s.id === "number" && s.id > 0 ? [s] : [])).map((
          s,
        ) => ({
          id: s.id as number,
          quantity: s.quantity ?? null,
          adults: s.adults ?? null,
          price: s.price ?? null,
        })),
        pricePerDay: (r.accommodation_price_per_days ?? []).map((d) => ({ date: d.date, price: d.price })),
        fees: amounts(r.fees),
        taxes: {
          accommodation: amounts(t?.accommodation),
          services: amounts(t?.services),
          fees: amounts(t?.fees),
        },
        discount: r.discount ?? 0,
      };
    }),
    couponCode: orNull(clean(b.coupon_code)),
    currency: orNull(b.currency),
    totalPrice: b.total_price,
    checkoutId: orNull(b.checkout_id),
    payments: (b.payments ?? []).map((p) => ({
      id: p.id,
      status: withoutControls(p.status),
      amount: p.amount,
      currency: orNull(clean(p.currency)),
    })),
    imported: b.imported,
    icalProdid: orNull(clean(b.ical_prodid)),
    icalSummary: icalText(clean(b.ical_summary)),
    icalDescription: icalText(clean(b.ical_description)),
    note: orNull(clean(b.note)),
    internalNotes: (b.internal_notes ?? []).map((n) => ({
      note: orEmpty(clean(n.note)),
      user: n.user ?? null,
      dateUtc: typeof n.date_utc === "string" && n.date_utc !== "" ? `${withoutControls(n.date_utc)}Z` : null,
    })),
  };
}

export const bookingSchema = rawBookingSchema.transform(toBooking);

// ---------- WordPress error body ----------

export const wpErrorSchema = z.looseObject({
  code: z.string(),
  message: z.string(),
  data: z.looseObject({ status: z.number().int().optional() }).nullish(),
});
export type WpError = z.infer<typeof wpErrorSchema>;

// ---------- page validation ----------

export interface ItemError {
  id: number | null;
  reason: string;
  raw: unknown;
}

export interface ValidatedPage<T> {
  items: T[];
  itemErrors: ItemError[];
}

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}

/** The item's id when it is a usable MotoPress id (a positive integer). */
export function rawId(raw: unknown): number | null {
  const value = raw !== null && typeof raw === "object" ? (raw as { id?: unknown }).id : undefined;
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : null;
}

/**
 * Validates item by item, so one malformed booking never costs the rest of its page. `quick`, a
 * faster check of the same rules, answers first where it can.
 */
export function validatePage<T>(
  schema: z.ZodType<T>,
  rawItems: readonly unknown[],
  quick?: (raw: unknown) => T | undefined,
): ValidatedPage<T> {
  const items: T[] = [];
  const itemErrors: ItemError[] = [];
  for (const raw of rawItems) {
    const checked = quick?.(raw);
    if (checked !== undefined) {
      items.push(checked);
      continue;
    }
    const result = schema.safeParse(raw);
    if (result.success) items.push(result.data);
    else itemErrors.push({ id: rawId(raw), reason: describeIssues(result.error), raw });
  }
  return { items, itemErrors };
}

/**
 * Bookings: what the hand-written check passes is converted at once, the rest parsed by zod, which
 * refuses it with its reason (or accepts it, should the check ever be stricter than the schema).
 */
const checkedBooking = (
  raw: unknown,
): Booking | undefined => (isRawBooking(raw) ? toBooking(raw as RawBooking) : undefined);
export const validateBookingsPage = (raw: readonly unknown[]) =>
  validatePage(bookingSchema, raw, checkedBooking);
export const validateAccommodationsPage = (raw: readonly unknown[]) => validatePage(accommodationSchema, raw);
export const validateAccommodationTypesPage = (raw: readonly unknown[]) =>
  validatePage(accommodationTypeSchema, raw);
