// A bookings page as it arrives, before any per-booking work: each booking's id and a hash of its
// text as received. The page's first statement compares the hashes with the ones stored on the
// reservations, and only the bookings that differ are validated, mapped and written (an unchanged
// re-sync then costs little more than fetching the pages).
import type { Page } from "../motopress/client.ts";
import type { JsonItem } from "../motopress/json-items.ts";
import { type Booking, validateBookingsPage } from "../motopress/schemas.ts";
import { BOOKING_MAPPING_VERSION } from "./booking-mapper.ts";

export interface BookingEntry {
  /** MotoPress's id when the item has a usable one (else it cannot match and is validated). */
  id: number | null;
  /** Of the item's text as received and our mapping's version; null: never taken as unchanged. */
  hash: string | null;
  /** The item as received (parsed and validated only when it changed). */
  item: JsonItem | null;
  /** Already validated (fetched by id): used as it is. */
  booking?: Booking;
}

export function entryOf(item: JsonItem, mappingVersion = BOOKING_MAPPING_VERSION): BookingEntry {
  return { id: item.id, hash: item.id === null ? null : item.hash(`${mappingVersion}\n`), item };
}

/** A booking fetched by id (already validated): written in full, its hash stored as unknown. */
export const validatedEntry = (booking: Booking): BookingEntry => ({
  id: booking.id,
  hash: null,
  item: null,
  booking,
});

/** A page of items as entries. */
export const entriesOf = (page: Page<JsonItem>): Page<BookingEntry> => ({
  ...page,
  items: page.items.map((item) => entryOf(item)),
});

/** Validates the entries that changed; already validated ones pass as they are. */
export function settle(entries: BookingEntry[]) {
  const fresh = entries.filter((e) => !e.booking);
  const { items, itemErrors } = validateBookingsPage(fresh.map((e) => e.item!.value));
  const hashOf = new Map(fresh.flatMap((e) => (e.id === null ? [] : [[e.id, e.hash] as const])));
  const valid = [
    ...entries.flatMap((e) => (e.booking ? [{ booking: e.booking, hash: e.hash }] : [])),
    ...items.map((booking) => ({ booking, hash: hashOf.get(booking.id) ?? null })),
  ];
  return { valid, itemErrors };
}
