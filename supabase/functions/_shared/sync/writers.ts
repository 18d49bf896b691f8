// Page writers: a constant number of statements per page, whatever its size. Each runs inside the
// page's fenced transaction.
import type { Tx } from "../db.ts";
import type { Page } from "../motopress/client.ts";
import type { Accommodation, AccommodationType, Booking, ItemError } from "../motopress/schemas.ts";
import { mapBooking, type ReservationRow, type RoomRow } from "./booking-mapper.ts";
import type { Counters, Entity } from "./paged.ts";
import { quarantinePayload, quarantineReason } from "./quarantine-payload.ts";

const INT4 = 23;
const TEXT = 25;

interface QuarantineItem {
  id: number | null;
  reason: string;
  payload: unknown;
}

const fromItemErrors = (errors: ItemError[]): QuarantineItem[] =>
  errors.map((e) => ({ id: e.id, reason: quarantineReason(e.reason), payload: quarantinePayload(e.raw) }));

// deno-lint-ignore no-explicit-any
type Fragment = any;

/**
 * Records what the page saw and quarantines what it could not use. With `main` (a set-returning
 * writer call), that write shares the statement: one round trip fewer per page.
 */
async function bookkeeping(
  tx: Tx,
  tenantId: string,
  runId: string,
  entity: Entity,
  seen: number[],
  valid: number[],
  quarantine: QuarantineItem[],
  main: Fragment | null = null,
): Promise<Record<string, number>> {
  const [row] = await tx`
    select ${main ? tx`m.*,` : tx``} sync.mark_seen(${runId}, ${entity}, ${tx.array(seen, INT4)}) as seen,
           q.quarantined, q.resolved
    from ${main ? tx`${main} m,` : tx``}
         sync.quarantine(${tenantId}, ${runId}, ${entity}, ${tx.json(quarantine as never)},
                         ${tx.array(valid.map(String), TEXT)}) q`;
  return row;
}

const quarantineCounters = (row: Record<string, number>): Counters => ({
  quarantined: row.quarantined,
  quarantineResolved: row.resolved,
});

const seenIds = (items: { id: number }[], errors: ItemError[]) => [
  ...items.map((i) => i.id),
  ...errors.flatMap((e) => (e.id === null ? [] : [e.id])),
];

export async function writeTypesPage(tx: Tx, tenantId: string, runId: string, page: Page<AccommodationType>): Promise<Counters> {
  const items = page.items.map((t) => ({
    id: t.id,
    name: t.title,
    status: t.status ?? "publish",
    description: t.description,
    excerpt: t.excerpt,
    adults: t.adults,
    children: t.children,
    total_capacity: t.totalCapacity,
    bed_type: t.bedType,
    size: t.size,
    view: t.view,
    details: {
      baseAdults: t.baseAdults,
      baseChildren: t.baseChildren,
      categories: t.categories,
      amenities: t.amenities,
      serviceIds: t.serviceIds,
    },
  }));
  const row = await bookkeeping(tx, tenantId, runId, "accommodation_type", seenIds(page.items, page.itemErrors),
    page.items.map((t) => t.id), fromItemErrors(page.itemErrors),
    items.length ? tx`sync.upsert_accommodation_types(${tenantId}, ${tx.json(items as never)})` : null);
  return { inserted: row.inserted ?? 0, updated: row.updated ?? 0, ...quarantineCounters(row) };
}

export async function writeUnitsPage(tx: Tx, tenantId: string, runId: string, page: Page<Accommodation>): Promise<Counters> {
  const items = page.items.map((u) => ({
    id: u.id,
    type_id: u.accommodationTypeId ?? 0,
    name: u.title,
    status: u.status ?? "publish",
  }));
  let typesCreated = 0;
  if (items.length) {
    // A unit's type must exist before the unit (its foreign key): a statement of its own.
    const typeIds = [...new Set(items.map((i) => i.type_id))];
    const [t] = await tx`select sync.ensure_accommodation_types(${tenantId}, ${tx.array(typeIds, INT4)}) as n`;
    typesCreated = t.n;
  }
  const row = await bookkeeping(tx, tenantId, runId, "accommodation", seenIds(page.items, page.itemErrors),
    page.items.map((u) => u.id), fromItemErrors(page.itemErrors),
    items.length ? tx`sync.upsert_accommodation_units(${tenantId}, ${tx.json(items as never)})` : null);
  return { inserted: row.inserted ?? 0, updated: row.updated ?? 0, typesAutoCreated: typesCreated, ...quarantineCounters(row) };
}

/** Rooms first, in the caller's transaction: the reservations cannot exist without them. */
async function upsertReservations(
  tx: Tx,
  tenantId: string,
  reservations: ReservationRow[],
  rooms: RoomRow[],
): Promise<Counters> {
  const [u] = await tx`select * from sync.resolve_booked_units(${tenantId}, ${tx.json(rooms as never)})`;
  const [r] = await tx`select * from sync.upsert_reservations(${tenantId}, ${tx.json(reservations as never)})`;
  return { unitsAutoCreated: u.units_created, typesAutoCreated: u.types_created, inserted: r.inserted, updated: r.updated };
}

const roomsCall = (tx: Tx, tenantId: string, rooms: RoomRow[]): Fragment =>
  tx`sync.upsert_reservation_rooms(${tenantId}, ${tx.json(rooms as never)})`;

const roomCounters = (row: Record<string, number>): Counters => ({ roomsWritten: row.written, roomsRemoved: row.removed });

/** Units, reservations and their rooms for a set of bookings (repair uses it for one booking). */
export async function writeReservations(
  tx: Tx,
  tenantId: string,
  reservations: ReservationRow[],
  rooms: RoomRow[],
): Promise<Counters> {
  const c = await upsertReservations(tx, tenantId, reservations, rooms);
  const [j] = await tx`select * from ${roomsCall(tx, tenantId, rooms)}`;
  return { ...c, ...roomCounters(j) };
}

export async function writeBookingsPage(tx: Tx, tenantId: string, runId: string, page: Page<Booking>): Promise<Counters> {
  const reservations: ReservationRow[] = [];
  const rooms: RoomRow[] = [];
  const quarantine = fromItemErrors(page.itemErrors);
  for (const booking of page.items) {
    const mapped = mapBooking(booking);
    if (mapped.ok) {
      reservations.push(mapped.reservation);
      rooms.push(...mapped.rooms);
    } else {
      quarantine.push({ id: booking.id, reason: quarantineReason(mapped.reason), payload: quarantinePayload(booking) });
    }
  }
  // Statements: units, reservations, then rooms together with the page's bookkeeping.
  const c: Counters = reservations.length ? await upsertReservations(tx, tenantId, reservations, rooms) : {};
  const valid = reservations.map((r) => Number(r.external_booking_id));
  const row = await bookkeeping(tx, tenantId, runId, "booking", seenIds(page.items, page.itemErrors), valid, quarantine,
    reservations.length ? roomsCall(tx, tenantId, rooms) : null);
  return { ...c, ...(reservations.length ? roomCounters(row) : {}), ...quarantineCounters(row) };
}
