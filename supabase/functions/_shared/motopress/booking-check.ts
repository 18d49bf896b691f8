// The rules of schemas.ts's `rawBookingSchema`, checked by hand: a first import checks every
// booking, and zod's generic walk cost more than the rest of a booking's CPU in the isolate. The
// schema stays the reference (tests/unit/booking-check.test.ts holds the two equal over every field
// of the fixtures and a set of wrong values) and gives a refused booking its reason: this check
// only says yes or no.
import { isFreeOfControls } from "./control-chars.ts";
import { BOOKING_STATUSES, isCalendarDate, NAIVE_DATE_TIME, YMD } from "./formats.ts";

type Check = (v: unknown) => boolean;
type Fields = Record<string, unknown>;

const STATUSES: ReadonlySet<unknown> = new Set(BOOKING_STATUSES);

/** What zod's z.object accepts: any non-null object that is not an array. */
const isObject = (v: unknown): v is Fields => typeof v === "object" && v !== null && !Array.isArray(v);
/** z.number().int(): a safe integer. */
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isId = (v: unknown) => isInt(v) && v > 0;
const isCount = (v: unknown) => isInt(v) && v >= 0;
/** z.number(): finite. */
const isMoney = (v: unknown) => Number.isFinite(v);
const isString = (v: unknown): v is string => typeof v === "string";
const isNullishString = (v: unknown) => v === undefined || v === null || typeof v === "string";
/** A code or a key: a string without control characters (schemas.ts's `codeString`). */
const isNullishCode = (v: unknown) => v === undefined || v === null || (isString(v) && isFreeOfControls(v));
const isYmd = (v: unknown) => isString(v) && YMD.test(v) && isCalendarDate(v);
const isNaiveDateTime = (v: unknown) => isString(v) && NAIVE_DATE_TIME.test(v);

const optional = (check: Check): Check => (v) => v === undefined || check(v);
const nullish = (check: Check): Check => (v) => v === undefined || v === null || check(v);
const arrayOf = (check: Check): Check => (v) => {
  if (!Array.isArray(v)) return false;
  for (const item of v) if (!check(item)) return false;
  return true;
};
const objectOf = (fields: Record<string, Check>): Check => {
  const entries = Object.entries(fields);
  return (v) => {
    if (!isObject(v)) return false;
    for (const [key, check] of entries) if (!check(v[key])) return false;
    return true;
  };
};

const labelled = objectOf({ label: isNullishString, value: optional(isMoney), price: optional(isMoney) });
const labelledList = optional(arrayOf(labelled));
const taxes = objectOf({ accommodation: labelledList, services: labelledList, fees: labelledList });
const isEmptyArray = (v: unknown) => Array.isArray(v) && v.length === 0;

const reservedAccommodation = objectOf({
  accommodation: isCount,
  accommodation_type: optional(isCount),
  rate: optional(isCount),
  adults: optional(isCount),
  children: optional(isCount),
  guest_name: isNullishString,
  services: optional(arrayOf(objectOf({
    id: nullish(isInt),
    quantity: optional(isCount),
    adults: optional(isCount),
    price: optional(isMoney),
  }))),
  accommodation_price_per_days: optional(arrayOf(objectOf({ date: isYmd, price: isMoney }))),
  fees: labelledList,
  taxes: optional((v) => taxes(v) || isEmptyArray(v)),
  discount: optional(isMoney),
});

const customer = objectOf({
  first_name: isNullishString,
  last_name: isNullishString,
  email: isNullishString,
  phone: isNullishString,
  country: isNullishString,
  state: isNullishString,
  city: isNullishString,
  zip: isNullishString,
  address1: isNullishString,
});

/** z.record(z.string(), z.array(z.looseObject({ href: z.string() }))). */
const linkList = arrayOf(objectOf({ href: isString }));
const links = (v: unknown) => {
  if (!isObject(v)) return false;
  for (const key of Object.keys(v)) if (!linkList(v[key])) return false;
  return true;
};

const booking = objectOf({
  id: isId,
  status: (v) => STATUSES.has(v),
  date_created: isNaiveDateTime,
  date_created_utc: isNaiveDateTime,
  key: isNullishCode,
  check_in_date: isYmd,
  check_out_date: isYmd,
  check_in_time: isNullishString,
  check_out_time: isNullishString,
  customer: nullish(customer),
  reserved_accommodations: arrayOf(reservedAccommodation),
  coupon_code: isNullishString,
  currency: isNullishCode,
  total_price: isMoney,
  checkout_id: isNullishCode,
  payments: optional(
    arrayOf(objectOf({ id: isId, status: isString, amount: isMoney, currency: isNullishString })),
  ),
  imported: (v) => typeof v === "boolean",
  ical_prodid: isNullishString,
  ical_summary: isNullishString,
  ical_description: isNullishString,
  note: isNullishString,
  internal_notes: optional(arrayOf(objectOf({
    note: isNullishString,
    user: nullish(isInt),
    date_utc: nullish((d) => isString(d) || d === false),
  }))),
  _links: optional(links),
});

/** True when `rawBookingSchema` accepts `raw` (as tested): a `RawBooking`. */
export function isRawBooking(raw: unknown): boolean {
  return booking(raw) &&
    ((raw as Fields).check_out_date as string) >= ((raw as Fields).check_in_date as string);
}
