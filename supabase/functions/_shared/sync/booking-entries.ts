// A bookings page as it arrives, before any per-booking work: each booking's id and a hash of its
// content. The page's first statement compares the hashes with the ones stored on the
// reservations, and only the bookings that differ are validated, mapped and written (an unchanged
// re-sync then costs little more than fetching the pages).
import type { Page } from "../motopress/client.ts";
import { type Booking, rawId, validateBookingsPage } from "../motopress/schemas.ts";
import { BOOKING_MAPPING_VERSION } from "./booking-mapper.ts";

export interface BookingEntry {
  /** MotoPress's id when the item has a usable one (else it cannot match and is validated). */
  id: number | null;
  /** Of the item's JSON and our mapping's version; null: never taken as unchanged. */
  hash: string | null;
  /** The item as received (validated only when it changed). */
  raw: unknown;
  /** Already validated (fetched by id): used as it is. */
  booking?: Booking;
}

/**
 * cyrb53 over the item's JSON text: a fast non-cryptographic 53-bit hash, one pass. A collision
 * could only hide a change of one booking of one site from its own sync (each is compared with its
 * own reservation's), about once in 2^53 changes.
 */
export function contentHash(text: string): string {
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

export function entryOf(raw: unknown, mappingVersion = BOOKING_MAPPING_VERSION): BookingEntry {
  const id = rawId(raw);
  return { id, hash: id === null ? null : contentHash(`${mappingVersion}\n${JSON.stringify(raw)}`), raw };
}

/** A booking fetched by id (already validated): written in full, its hash stored as unknown. */
export const validatedEntry = (booking: Booking): BookingEntry => ({
  id: booking.id,
  hash: null,
  raw: null,
  booking,
});

/** A page of raw items as entries. */
export const entriesOf = (page: Page<unknown>): Page<BookingEntry> => ({
  ...page,
  items: page.items.map((raw) => entryOf(raw)),
});

/** Validates the entries that changed; already validated ones pass as they are. */
export function settle(entries: BookingEntry[]) {
  const fresh = entries.filter((e) => !e.booking);
  const { items, itemErrors } = validateBookingsPage(fresh.map((e) => e.raw));
  const hashOf = new Map(fresh.flatMap((e) => (e.id === null ? [] : [[e.id, e.hash] as const])));
  const valid = [
    ...entries.flatMap((e) => (e.booking ? [{ booking: e.booking, hash: e.hash }] : [])),
    ...items.map((booking) => ({ booking, hash: hashOf.get(booking.id) ?? null })),
  ];
  return { valid, itemErrors };
}
