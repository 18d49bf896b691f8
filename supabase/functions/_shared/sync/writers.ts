// Page writers: a constant number of statements per page, whatever its size. Each runs inside the
// page's fenced transaction, except a bookings page's when it commits itself: each of those
// statements is a transaction, fenced in its SQL.
import { ownTransaction, type Queryable } from "../db.ts";
import type { Page } from "../motopress/client.ts";
import type { Accommodation, AccommodationType, ItemError } from "../motopress/schemas.ts";
import { type BookingEntry, settle } from "./booking-entries.ts";
import { mapBooking, type ReservationRow, type RoomRow } from "./booking-mapper.ts";
import type { Counters, Entity, PageCommit } from "./paged.ts";
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
  tx: Queryable,
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

export async function writeTypesPage(
  tx: Queryable,
  tenantId: string,
  runId: string,
  page: Page<AccommodationType>,
): Promise<Counters> {
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
  const row = await bookkeeping(
    tx,
    tenantId,
    runId,
    "accommodation_type",
    seenIds(page.items, page.itemErrors),
    page.items.map((t) => t.id),
    fromItemErrors(page.itemErrors),
    items.length ? tx`sync.upsert_accommodation_types(${tenantId}, ${tx.json(items as never)})` : null,
  );
  return { inserted: row.inserted ?? 0, updated: row.updated ?? 0, ...quarantineCounters(row) };
}

export async function writeUnitsPage(
  tx: Queryable,
  tenantId: string,
  runId: string,
  page: Page<Accommodation>,
): Promise<Counters> {
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
    const [t] = await tx`select sync.ensure_accommodation_types(${tenantId}, ${
      tx.array(typeIds, INT4)
    }) as n`;
    typesCreated = t.n;
  }
  const row = await bookkeeping(
    tx,
    tenantId,
    runId,
    "accommodation",
    seenIds(page.items, page.itemErrors),
    page.items.map((u) => u.id),
    fromItemErrors(page.itemErrors),
    items.length ? tx`sync.upsert_accommodation_units(${tenantId}, ${tx.json(items as never)})` : null,
  );
  return {
    inserted: row.inserted ?? 0,
    updated: row.updated ?? 0,
    typesAutoCreated: typesCreated,
    ...quarantineCounters(row),
  };
}

/** Rooms first, in the caller's transaction: the reservations cannot exist without them. */
async function upsertReservations(
  tx: Queryable,
  tenantId: string,
  reservations: ReservationRow[],
  rooms: RoomRow[],
): Promise<Counters> {
  const [u] = await tx`select * from sync.resolve_booked_units(${tenantId}, ${tx.json(rooms as never)})`;
  const [r] = await tx`select * from sync.upsert_reservations(${tenantId}, ${
    tx.json(reservations as never)
  })`;
  return {
    unitsAutoCreated: u.units_created,
    typesAutoCreated: u.types_created,
    inserted: r.inserted,
    updated: r.updated,
  };
}

const roomsCall = (tx: Queryable, tenantId: string, rooms: RoomRow[]): Fragment =>
  tx`sync.upsert_reservation_rooms(${tenantId}, ${tx.json(rooms as never)})`;

const roomCounters = (row: Record<string, number>): Counters => ({
  roomsWritten: row.written,
  roomsRemoved: row.removed,
});

/** Units, reservations and their rooms for a set of bookings (repair uses it for one booking). */
export async function writeReservations(
  tx: Queryable,
  tenantId: string,
  reservations: ReservationRow[],
  rooms: RoomRow[],
): Promise<Counters> {
  const c = await upsertReservations(tx, tenantId, reservations, rooms);
  const [j] = await tx`select * from ${roomsCall(tx, tenantId, rooms)}`;
  return { ...c, ...roomCounters(j) };
}

const NOTHING_WRITTEN: Counters = {
  typesAutoCreated: 0,
  unitsAutoCreated: 0,
  inserted: 0,
  updated: 0,
  roomsWritten: 0,
  roomsRemoved: 0,
  quarantined: 0,
  quarantineResolved: 0,
};

/**
 * A bookings page in one statement or two, each a transaction of its own (`ownTransaction`, under
 * the transaction bounds) when the page commits itself (`commit`), and each carries the fence. Checking
 * first, the first statement takes the bookings whose content hash equals their reservation's; an
 * unchanged page ends there, its checkpoint, seen ids and stats recorded by it. The others are
 * validated, mapped and written by the second, which records the page's seen ids, quarantine,
 * checkpoint and stats. Writing at once (`checkFirst` false) skips the check: every booking is
 * validated and mapped, and the one statement writes those that differ. `changed` is how many
 * bookings needed writing (or could not be used), to guess the next page's way.
 */
export async function writeBookingsPage(
  sql: Queryable,
  tenantId: string,
  runId: string,
  page: Page<BookingEntry>,
  commit?: PageCommit,
  checkFirst = true,
): Promise<{ counters: Counters; changed: number }> {
  const entries = page.items;
  const ids: number[] = [];
  for (const e of entries) if (e.id !== null) ids.push(e.id);
  const token = commit ? commit.lease.fencingToken : null;
  const checkpoint = commit ? sql.json(commit.checkpoint as never) : null;
  let todo = entries;
  if (checkFirst) {
    // Every counter a page can add, so that a run of unchanged pages reports its zeros too.
    const allCounted = { items: entries.length, itemErrors: 0, ...NOTHING_WRITTEN };
    const hashes = entries.flatMap((e) => (e.id === null ? [] : [e.hash]));
    // An item without an id is always written (quarantined): the check cannot be the whole page.
    const whole = commit && ids.length === entries.length;
    const [check] = await ownTransaction(
      sql,
      (sql) =>
        sql`
      select owned, changed from sync.check_bookings_page(${tenantId}, ${runId}, ${token},
        ${whole ? checkpoint : null}::jsonb, ${sql.array(ids, INT4)}, ${sql.array(hashes as string[], TEXT)},
        ${whole ? sql.json(commit.stats(allCounted) as never) : null}::jsonb)`,
    );
    if (commit) await commit.held(check.owned);
    const changed = new Set<number>(check.changed);
    todo = entries.filter((e) => e.id === null || changed.has(e.id));
    if (todo.length === 0) return { counters: allCounted, changed: 0 };
  }

  const { valid, itemErrors } = settle(todo);
  const reservations: (ReservationRow & { content_hash: string | null })[] = [];
  const rooms: RoomRow[] = [];
  const quarantine = fromItemErrors(itemErrors);
  for (const { booking, hash } of valid) {
    const mapped = mapBooking(booking);
    if (mapped.ok) {
      reservations.push({ ...mapped.reservation, content_hash: hash });
      rooms.push(...mapped.rooms);
    } else {
      quarantine.push({
        id: booking.id,
        reason: quarantineReason(mapped.reason),
        payload: quarantinePayload(booking),
      });
    }
  }
  const counted = { items: entries.length - itemErrors.length, itemErrors: itemErrors.length };
  const [w] = await ownTransaction(
    sql,
    (sql) =>
      sql`
    select * from sync.commit_bookings_page(${tenantId}, ${runId}, ${token}, ${checkpoint}::jsonb,
      ${sql.json(reservations as never)}, ${sql.json(rooms as never)}, ${sql.array(ids, INT4)},
      ${sql.array(reservations.map((r) => r.external_booking_id), TEXT)}, ${sql.json(quarantine as never)},
      ${commit ? sql.json(commit.stats(counted) as never) : null}::jsonb)`,
  );
  if (commit) await commit.held(w.owned);
  return {
    counters: {
      ...counted,
      typesAutoCreated: w.types_created,
      unitsAutoCreated: w.units_created,
      inserted: w.inserted,
      updated: w.updated,
      roomsWritten: w.rooms_written,
      roomsRemoved: w.rooms_removed,
      quarantined: w.quarantined,
      quarantineResolved: w.resolved,
    },
    changed: checkFirst ? todo.length : w.inserted + w.updated + quarantine.length,
  };
}

/**
 * A run's bookings writer: each page checks first unless most of the page before it needed
 * writing (an import), when it writes at once and saves the check's statement.
 */
export function bookingsWriter(tenantId: string, runId: string) {
  let checkFirst = true;
  return async (sql: Queryable, page: Page<BookingEntry>, commit?: PageCommit): Promise<Counters> => {
    const { counters, changed } = await writeBookingsPage(sql, tenantId, runId, page, commit, checkFirst);
    checkFirst = changed * 2 <= page.items.length;
    return counters;
  };
}
