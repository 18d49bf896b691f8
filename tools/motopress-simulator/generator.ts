import { addDays, DAY_MS, dayStartMs, dayToYmd, ymdToDay } from "./dates.ts";
import { roomTotal } from "./pricing.ts";
import { createRng, hex, intBetween, pick } from "./prng.ts";

export type BookingStatus =
  | "pending-user"
  | "pending-payment"
  | "pending"
  | "abandoned"
  | "confirmed"
  | "cancelled";
/** Post statuses a GET by id returns but no list does: in the trash, restored from it, an unfinished admin draft. */
export type NonLiveStatus = "trash" | "draft" | "auto-draft";
export const LOCKING_STATUSES: ReadonlySet<string> = new Set([
  "pending-user",
  "pending-payment",
  "pending",
  "confirmed",
]);

export interface TypeRecord {
  id: number;
  /** Raw post title: not run through `the_title`, but kses may have stored `&amp;` or a named entity. */
  title: string;
  /** The type's services meta; a service deleted for good serializes as `{id: null, title: null}`. */
  services: { id: number | null; title: string | null }[];
  status: string;
  adults: number;
  children: number;
  totalCapacity: number;
  bedType: string;
  size: number;
  view: string;
  rateId: number;
  nightlyPrice: number;
}

export interface UnitRecord {
  id: number;
  typeId: number;
  /**
   * As `the_title` renders it (entities included) but without the private/protected prefix, which the
   * serializer adds in the site's language.
   */
  title: string;
  status: string;
  /** Password-protected: `get_the_title()` prefixes "Protected: %s" (translated); the status stays. */
  password?: boolean;
  /** Created after the caller's last accommodations sync: absent from lists until revealed. */
  hidden: boolean;
}

/** MotoPress sends all nine customer keys, "" when empty. */
export const emptyCustomer = (): CustomerRecord => ({
  first_name: "",
  last_name: "",
  email: "",
  phone: "",
  country: "",
  state: "",
  city: "",
  zip: "",
  address1: "",
});

export interface CustomerRecord {
  first_name: string;
  last_name: string;
  email: string;
  phone: string;
  country: string;
  state: string;
  city: string;
  zip: string;
  address1: string;
}

export interface RoomRecord {
  unitId: number;
  /** 0 for iCal-imported rooms. */
  rateId: number;
  adults: number;
  children: number;
  guestName: string;
}

export type IcalSource = "airbnb-reservation" | "airbnb-block" | "booking-block";

export interface IcalRecord {
  source: IcalSource;
  prodid: string;
  /** Stored exactly as the API returns it: usually wrapped in literal quotes (quirk Q10). */
  summary: string;
  description: string;
}

export interface PaymentRecord {
  id: number;
  status: string;
  amount: number;
}

export interface BookingRecord {
  id: number;
  status: BookingStatus | NonLiveStatus;
  createdUtcMs: number;
  modifiedUtcMs: number;
  checkIn: string;
  checkOut: string;
  customer: CustomerRecord | null;
  rooms: RoomRecord[];
  totalPrice: number;
  couponCode: string;
  checkoutId: string;
  payments: PaymentRecord[];
  ical: IcalRecord | null;
  note: string;
  internalNotes: { note: string; user: number; date_utc: string }[];
  key: string;
}

export interface HotelData {
  today: string;
  nowMs: number;
  utcOffsetMinutes: number;
  currency: string;
  types: TypeRecord[];
  units: UnitRecord[];
  bookings: BookingRecord[];
  nextId: number;
}

export interface GenerateOptions {
  seed?: number;
  types?: number;
  unitsPerType?: number;
  /** Total units, spread round-robin over the types; overrides unitsPerType. */
  units?: number;
  bookings?: number;
  /** Property-local date `Y-m-d`; defaults to the current UTC date. */
  today?: string;
  /** Units referenced by bookings but hidden from /accommodations until revealed. Default 1. */
  hiddenUnits?: number;
  /** "mixed" (default) quotes most imported iCal strings and leaves a few plain, as real sites disagree. */
  icalQuoting?: "quoted" | "plain" | "mixed";
  utcOffsetMinutes?: number;
  /**
   * Every stay within this many days of today (the expensive case for room status: each one moves
   * its unit's status), instead of the usual spread over two years.
   */
  aroundTodayDays?: number;
  /** iCal imports ignore the calendar, as an overbooking feed does: stays overlap. */
  overbook?: boolean;
}

// Raw titles as WordPress stores them: kses keeps `&amp;`, some editors store named entities.
const TYPE_NAMES = [
  "Deluxe Double Room",
  "Standard Twin Room",
  "Caba&ntilde;a Familiar",
  "Bed &amp; Breakfast Suite",
  "Garden Bungalow",
  "Sea View Apartment",
  "Economy Single",
  "Penthouse Loft",
  "Owner's Cottage",
  "Junior Suite",
];
const FIRST = [
  "Laura",
  "Pablo",
  "Tom",
  "Anna",
  "Jean",
  "Marta",
  "Luca",
  "Sofia",
  "Omar",
  "Chloé",
  "Noah",
  "Ines",
  "Kai",
  "Zoë",
  "Rafael",
  "Yuki",
];
const LAST = [
  "Gómez",
  "Becker",
  "Dubois",
  "Rossi",
  "Smith",
  "Novak",
  "Silva",
  "O'Brien",
  "Müller",
  "Tanaka",
  "Haddad",
  "Jensen",
];
const PLACES: [country: string, city: string, state: string][] = [
  ["ES", "Madrid", "Madrid"],
  ["DE", "Hamburg", ""],
  ["FR", "Lyon", ""],
  ["IT", "Milano", "MI"],
  ["GB", "London", ""],
  ["US", "Austin", "TX"],
  ["CO", "Medellín", "Antioquia"],
  ["", "", ""],
];
const NOTES = [
  "We will arrive around 22:00.",
  "Late check-in please.",
  "Travelling with a dog.",
  "Need a baby cot.",
];
const ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";

export const ICAL_PRODIDS: Record<IcalSource, string> = {
  "airbnb-reservation": "-//Airbnb Inc//Hosting Calendar 0.8.8//EN",
  "airbnb-block": "-//Airbnb Inc//Hosting Calendar 0.8.8//EN",
  "booking-block": "-//Booking.com//Booking.com Availability Calendar//EN",
};

/**
 * WordPress's `the_title` output: convert_chars turns a bare `&` into `&#038;` (a stored entity such
 * as `&amp;` or `&ntilde;` passes through), wptexturize curls apostrophes to `&#8217;`.
 */
export function wpTitle(raw: string): string {
  return raw.replace(/&(?!#?[A-Za-z0-9]+;)/g, "&#038;").replace(/'/g, "&#8217;");
}

/** The type's services: the second type lists a service deleted for good, as on most real sites. */
function typeServices(index: number): TypeRecord["services"] {
  const breakfast = { id: 90, title: "Breakfast" };
  return index === 1 ? [breakfast, { id: null, title: null }] : index === 0 ? [breakfast] : [];
}

export function makeIcal(
  source: IcalSource,
  rng: () => number,
  quoted: boolean,
): IcalRecord {
  const q = (s: string) => (quoted && s !== "" ? `"${s}"` : s);
  if (source === "airbnb-reservation") {
    let code = "HM";
    for (let i = 0; i < 8; i++) code += ALNUM[Math.floor(rng() * ALNUM.length)];
    const phone = String(intBetween(rng, 0, 9999)).padStart(4, "0");
    return {
      source,
      prodid: ICAL_PRODIDS[source],
      summary: q("Reserved"),
      description: q(
        `Reservation URL: https://www.airbnb.com/hosting/reservations/details/${code}\nPhone Number (Last 4 Digits): ${phone}`,
      ),
    };
  }
  return {
    source,
    prodid: ICAL_PRODIDS[source],
    summary: q(source === "airbnb-block" ? "Airbnb (Not available)" : "CLOSED - Not available"),
    description: "",
  };
}

export function bookingKey(id: number, rng: () => number): string {
  return `booking_${id}_${hex(rng, 14)}.${String(intBetween(rng, 10_000_000, 99_999_999))}`;
}

export function uuid(rng: () => number): string {
  const h = hex(rng, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface Draft {
  createdUtcMs: number;
  record: Omit<BookingRecord, "id" | "payments" | "key"> & {
    paymentPlan: { status: string; share: number }[];
  };
}

/**
 * Builds a deterministic hotel. Bookings of locking statuses never overlap on a unit (a per-unit
 * occupancy bitmap), so any overbooking a sync reports comes from a later mutation, not from the generator.
 */
export function generateHotel(options: GenerateOptions = {}): HotelData {
  const seed = options.seed ?? 1;
  const rng = createRng(seed);
  const today = options.today ?? new Date().toISOString().slice(0, 10);
  const todayDay = ymdToDay(today);
  const nowMs = dayStartMs(today) + 11 * 3_600_000;
  const typeCount = Math.max(1, options.types ?? 4);
  const unitCount = Math.max(1, options.units ?? typeCount * (options.unitsPerType ?? 3));
  const bookingCount = Math.max(0, options.bookings ?? 200);
  const quoting = options.icalQuoting ?? "mixed";
  let nextId = 100;

  const types: TypeRecord[] = [];
  for (let i = 0; i < typeCount; i++) {
    const base = TYPE_NAMES[i % TYPE_NAMES.length];
    const adults = intBetween(rng, 1, 4);
    const children = intBetween(rng, 0, 2);
    types.push({
      id: nextId++,
      title: i < TYPE_NAMES.length ? base : `${base} ${Math.floor(i / TYPE_NAMES.length) + 1}`,
      services: typeServices(i),
      // Real sites list a pending type alongside published ones.
      status: typeCount >= 3 && i === typeCount - 1 ? "pending" : "publish",
      adults,
      children,
      totalCapacity: rng() < 0.5 ? 0 : adults + children,
      bedType: pick(rng, ["1 king-size bed", "2 single beds", ""]),
      size: intBetween(rng, 14, 80),
      view: pick(rng, ["Sea view", "Garden view", ""]),
      rateId: nextId++,
      nightlyPrice: intBetween(rng, 6, 40) * 5,
    });
  }

  const units: UnitRecord[] = [];
  for (let i = 0; i < unitCount; i++) {
    const typeIndex = i % typeCount;
    const type = types[typeIndex];
    const k = Math.floor(i / typeCount);
    const number = String(100 * (k % 9 + 1) + typeIndex + 1 + typeCount * Math.floor(k / 9));
    const isPrivate = unitCount >= 6 && i === 5;
    const isProtected = unitCount >= 8 && i === 6;
    units.push({
      id: nextId++,
      typeId: type.id,
      title: `${wpTitle(type.title)} &#8211; ${number}`,
      status: isPrivate ? "private" : "publish",
      ...(isProtected ? { password: true } : {}),
      hidden: false,
    });
  }
  const hiddenCount = Math.min(Math.max(0, options.hiddenUnits ?? 1), Math.max(0, unitCount - 1));
  for (let i = 0; i < hiddenCount; i++) units[unitCount - 1 - i].hidden = true;
  const hiddenUnits = units.filter((u) => u.hidden);
  const typeById = new Map(types.map((t) => [t.id, t]));

  const windowStart = todayDay - 420;
  const windowDays = 420 + 720;
  const occupancy = units.map(() => new Uint8Array(windowDays));
  const free = (unitIndex: number, start: number, nights: number) => {
    const occ = occupancy[unitIndex];
    for (let d = start - windowStart; d < start - windowStart + nights; d++) if (occ[d]) return false;
    return true;
  };
  const occupy = (unitIndex: number, start: number, nights: number) => {
    const occ = occupancy[unitIndex];
    for (let d = start - windowStart; d < start - windowStart + nights; d++) occ[d] = 1;
  };

  const drafts: Draft[] = [];
  for (let n = 0; n < bookingCount; n++) {
    const r = rng();
    let ical: IcalSource | null = r < 0.08
      ? "airbnb-reservation"
      : r < 0.13
      ? "airbnb-block"
      : r < 0.17
      ? "booking-block"
      : null;
    const shape = rng();
    let start: number;
    let nights = ical && ical !== "airbnb-reservation"
      ? intBetween(rng, 1, 14)
      : pick(rng, [1, 2, 2, 3, 3, 3, 4, 5, 7]);
    if (options.aroundTodayDays !== undefined) {
      start = todayDay + intBetween(rng, -options.aroundTodayDays, options.aroundTodayDays);
    } else if (shape < 0.04) {
      start = todayDay - 1; // in-house today
      nights = Math.max(nights, 2);
    } else if (shape < 0.06) {
      start = todayDay + intBetween(rng, 400, 650);
    } else if (ical) {
      start = todayDay + intBetween(rng, -2, 300);
    } else {
      start = todayDay + intBetween(rng, -400, 365);
    }
    let status: BookingStatus;
    if (ical) status = "confirmed";
    else {
      const s = rng();
      status = s < 0.68
        ? "confirmed"
        : s < 0.72
        ? "pending"
        : s < 0.75
        ? "pending-payment"
        : s < 0.77
        ? "pending-user"
        : s < 0.91
        ? "cancelled"
        : "abandoned";
      if (start + nights < todayDay && status.startsWith("pending-")) status = "abandoned";
    }
    const roomCount = !ical && rng() < 0.12 ? intBetween(rng, 2, Math.min(3, unitCount)) : 1;
    const locks = LOCKING_STATUSES.has(status);

    const chosen: number[] = [];
    const forced = n < hiddenUnits.length ? units.indexOf(hiddenUnits[n]) : -1;
    for (let tries = 0; tries < 12 && chosen.length < roomCount; tries++) {
      const idx = forced >= 0 && chosen.length === 0 && tries < 6 ? forced : Math.floor(rng() * unitCount);
      if (chosen.includes(idx)) continue;
      if (!locks || free(idx, start, nights) || (ical && options.overbook)) chosen.push(idx);
      else if (chosen.length === 0 && tries >= 6) start += intBetween(rng, 1, 30);
    }
    if (chosen.length < roomCount) {
      // The calendar is full here: keep the booking as a non-locking direct one rather than overbook.
      ical = null;
      status = "cancelled";
      while (chosen.length < roomCount) {
        const idx = Math.floor(rng() * unitCount);
        if (!chosen.includes(idx)) chosen.push(idx);
      }
    }
    if (LOCKING_STATUSES.has(status)) { for (const idx of chosen) occupy(idx, start, nights); }

    const checkIn = dayToYmd(start);
    const checkOut = addDays(checkIn, nights);
    const leadDays = ical ? intBetween(rng, 1, 60) : intBetween(rng, 1, 240);
    const createdUtcMs = Math.min(
      nowMs - intBetween(rng, 3_600, 86_400 * 3) * 1000,
      (start - leadDays) * DAY_MS + intBetween(rng, 0, 86_399) * 1000,
    );

    const first = pick(rng, FIRST);
    const last = pick(rng, LAST);
    const [country, city, state] = pick(rng, PLACES);
    const customer: CustomerRecord | null = ical ? null : {
      first_name: first,
      last_name: last,
      email: rng() < 0.95 ? `${first}.${last}${n}@example.com`.toLowerCase().replace(/[^a-z0-9.@]/g, "") : "",
      phone: rng() < 0.8
        ? `+34 6${intBetween(rng, 10, 99)} ${intBetween(rng, 100, 999)} ${intBetween(rng, 100, 999)}`
        : "",
      country,
      state,
      city,
      zip: country ? String(intBetween(rng, 10000, 99999)) : "",
      address1: rng() < 0.5 ? `Calle Mayor ${intBetween(rng, 1, 200)}` : "",
    };
    const rooms: RoomRecord[] = chosen.map((idx, i) => {
      const type = typeById.get(units[idx].typeId)!;
      return {
        unitId: units[idx].id,
        rateId: ical ? 0 : type.rateId,
        adults: ical ? type.adults : intBetween(rng, 1, type.adults),
        children: ical ? type.children : intBetween(rng, 0, type.children),
        guestName: ical
          ? ""
          : i === 0
          ? (rng() < 0.7 ? `${first} ${last}` : "")
          : `${pick(rng, FIRST)} ${last}`,
      };
    });
    const totalPrice = ical ? 0 : Math.round(
      chosen.reduce((sum, idx) => {
        const type = typeById.get(units[idx].typeId)!;
        return sum + roomTotal(type.nightlyPrice, start, nights);
      }, 0) * 100,
    ) / 100;
    const paymentPlan: { status: string; share: number }[] = [];
    if (!ical) {
      if (status === "confirmed") paymentPlan.push({ status: "completed", share: rng() < 0.3 ? 0.3 : 1 });
      else if (status === "pending-payment") paymentPlan.push({ status: "pending", share: 1 });
      else if (status === "cancelled" && rng() < 0.3) paymentPlan.push({ status: "refunded", share: 1 });
      else if (status === "abandoned" && rng() < 0.5) paymentPlan.push({ status: "abandoned", share: 1 });
    }
    const quoted = quoting === "quoted" || (quoting === "mixed" && rng() < 0.85);
    drafts.push({
      createdUtcMs,
      record: {
        status,
        createdUtcMs,
        modifiedUtcMs: createdUtcMs,
        checkIn,
        checkOut,
        customer,
        rooms,
        totalPrice,
        couponCode: !ical && rng() < 0.05 ? "SUMMER10" : "",
        checkoutId: !ical && rng() < 0.8 ? uuid(rng) : "",
        ical: ical ? makeIcal(ical, rng, quoted) : null,
        note: !ical && rng() < 0.1 ? pick(rng, NOTES) : "",
        internalNotes: !ical && rng() < 0.03
          ? [{
            note: "Guest asked for a quiet room.",
            user: 1,
            date_utc: new Date(createdUtcMs + 3_600_000).toISOString().slice(0, 19),
          }]
          : [],
        paymentPlan,
      },
    });
  }

  // WordPress ids grow with creation time, and payments share the post id sequence.
  drafts.sort((a, b) => a.createdUtcMs - b.createdUtcMs);
  const bookings: BookingRecord[] = new Array(drafts.length);
  for (let i = 0; i < drafts.length; i++) {
    const { paymentPlan, ...rest } = drafts[i].record;
    const id = nextId++;
    const payments = paymentPlan.map((p) => ({
      id: nextId++,
      status: p.status,
      amount: Math.round(rest.totalPrice * p.share * 100) / 100,
    }));
    bookings[i] = { ...rest, id, payments, key: rest.ical ? "" : bookingKey(id, rng) };
  }
  return {
    today,
    nowMs,
    utcOffsetMinutes: options.utcOffsetMinutes ?? 120,
    currency: "EUR",
    types,
    units,
    bookings,
    nextId,
  };
}
