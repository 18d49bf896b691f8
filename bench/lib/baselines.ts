// The comparison points, run in the bench's own Node process with the project's MotoPress client:
//   * fetchAll: the pages a sync reads (types, units, bookings), no writes — the fetch-only pass;
//   * writeFloor: the same rows written by one bulk upsert per table;
//   * writeOriginal: the original implementation's pattern, per booking a lookup, an insert of the
//     reservation and one junction insert per room, each its own autocommitted statement.
import type { Sql } from "../../supabase/functions/_shared/db.ts";
import { createMotoPressClient, type Page } from "../../supabase/functions/_shared/motopress/client.ts";
import type { JsonItem } from "../../supabase/functions/_shared/motopress/json-items.ts";
import {
  type Accommodation,
  type AccommodationType,
  type Booking,
  bookingSchema,
  validatePage,
} from "../../supabase/functions/_shared/motopress/schemas.ts";
import {
  mapBooking,
  type ReservationRow,
  type RoomRow,
} from "../../supabase/functions/_shared/sync/booking-mapper.ts";

export interface Site {
  url: string;
  consumerKey: string;
  consumerSecret: string;
}

export interface Fetched {
  types: AccommodationType[];
  units: Accommodation[];
  bookingPages: Page<Booking>[];
  /** The same pages as received (what a sync's page writer takes). */
  rawPages: Page<JsonItem>[];
  ms: { types: number; units: number; bookings: number; total: number };
  requests: number;
  itemErrors: number;
}

export async function fetchAll(site: Site, concurrency = 2): Promise<Fetched> {
  const client = createMotoPressClient({
    siteUrl: site.url,
    consumerKey: site.consumerKey,
    consumerSecret: site.consumerSecret,
    concurrency,
  });
  const t0 = performance.now();
  const types: AccommodationType[] = [];
  const units: Accommodation[] = [];
  const bookingPages: Page<Booking>[] = [];
  const rawPages: Page<JsonItem>[] = [];
  let itemErrors = 0;
  for await (const p of client.accommodationTypes()) {
    types.push(...p.items), (itemErrors += p.itemErrors.length);
  }
  const t1 = performance.now();
  for await (const p of client.accommodations()) units.push(...p.items), (itemErrors += p.itemErrors.length);
  const t2 = performance.now();
  for await (const raw of client.bookingItems()) {
    const p = { ...raw, ...validatePage(bookingSchema, raw.items.map((i) => i.value)) };
    rawPages.push(raw), bookingPages.push(p), (itemErrors += p.itemErrors.length);
  }
  const t3 = performance.now();
  return {
    types,
    units,
    bookingPages,
    rawPages,
    ms: { types: t1 - t0, units: t2 - t1, bookings: t3 - t2, total: t3 - t0 },
    requests: client.describe().requests,
    itemErrors,
  };
}

export interface Rows {
  types: {
    id: number;
    name: string;
    status: string;
    description: string;
    excerpt: string;
    details: unknown;
    auto: boolean;
  }[];
  units: { id: number; type_id: number; name: string; status: string; auto: boolean }[];
  reservations: ReservationRow[];
  rooms: RoomRow[];
  unmapped: number;
}

/** The rows a sync writes for these pages: listed types and units, plus the ones only bookings name. */
export function toRows(f: Fetched, pages = f.bookingPages): Rows {
  const reservations: ReservationRow[] = [];
  const rooms: RoomRow[] = [];
  let unmapped = 0;
  for (const page of pages) {
    for (const b of page.items) {
      const m = mapBooking(b);
      if (m.ok) reservations.push(m.reservation), rooms.push(...m.rooms);
      else unmapped++;
    }
  }
  const types: Rows["types"] = f.types.map((t) => ({
    id: t.id,
    name: t.title,
    status: t.status ?? "publish",
    description: t.description,
    excerpt: t.excerpt ?? "",
    details: {
      baseAdults: t.baseAdults,
      baseChildren: t.baseChildren,
      categories: t.categories,
      amenities: t.amenities,
      serviceIds: t.serviceIds,
    },
    auto: false,
  }));
  const units = f.units.map((u) => ({
    id: u.id,
    type_id: u.accommodationTypeId ?? 0,
    name: u.title,
    status: u.status ?? "publish",
    auto: false,
  }));
  const knownTypes = new Set(types.map((t) => t.id));
  const knownUnits = new Set(units.map((u) => u.id));
  for (const u of units) {
    if (!knownTypes.has(u.type_id)) knownTypes.add(u.type_id), types.push(placeholderType(u.type_id));
  }
  for (const r of rooms) {
    if (knownUnits.has(r.unit_id)) continue;
    knownUnits.add(r.unit_id);
    const typeId = r.type_id ?? 0;
    if (!knownTypes.has(typeId)) knownTypes.add(typeId), types.push(placeholderType(typeId));
    units.push({
      id: r.unit_id,
      type_id: typeId,
      name: `Accommodation #${r.unit_id}`,
      status: "publish",
      auto: true,
    });
  }
  return { types, units, reservations, rooms, unmapped };
}

const placeholderType = (id: number) => ({
  id,
  name: id === 0 ? "Unknown accommodation type" : `Accommodation type #${id}`,
  status: "publish",
  description: "",
  excerpt: "",
  details: {},
  auto: true,
});

/** Types and units: one statement each. */
export async function writeInventory(sql: Sql, tenantId: string, rows: Rows): Promise<void> {
  await sql`
    insert into hotels.accommodation_types as at (tenant_id, motopress_type_id, name, status, description, excerpt, details, auto_created)
    select ${tenantId}, t.id, t.name, t.status, t.description, t.excerpt, t.details, t.auto
    from jsonb_to_recordset(${
    sql.json(rows.types as never)
  }) as t(id integer, name text, status text, description text, excerpt text, details jsonb, auto boolean)
    on conflict (tenant_id, motopress_type_id) do update set name = excluded.name, status = excluded.status,
      description = excluded.description, excerpt = excluded.excerpt, details = excluded.details, updated_at = now()`;
  await sql`
    insert into hotels.accommodation_units as au (tenant_id, accommodation_type_id, motopress_unit_id, motopress_type_id, name, status, auto_created)
    select ${tenantId}, ty.id, u.id, u.type_id, u.name, u.status, u.auto
    from jsonb_to_recordset(${
    sql.json(rows.units as never)
  }) as u(id integer, type_id integer, name text, status text, auto boolean)
    join hotels.accommodation_types ty on ty.tenant_id = ${tenantId} and ty.motopress_type_id = u.type_id
    on conflict (tenant_id, motopress_unit_id) do update set accommodation_type_id = excluded.accommodation_type_id,
      name = excluded.name, status = excluded.status, updated_at = now()`;
}

/** Reservations and their rooms: one statement each, over every row at once. */
export async function writeReservationsBulk(sql: Sql, tenantId: string, rows: Rows): Promise<void> {
  await sql`
    insert into public.guest_reservations as r (tenant_id, external_booking_id, accommodation_unit_id, status, kind,
      check_in_date, check_out_date, guest_name, guest_email, guest_phone, guest_country, guest_phone_last4,
      external_reference, adults, children, total_price, currency, ical_prodid, ical_summary, ical_description, booked_at)
    select ${tenantId}, i.external_booking_id, u.id, i.status, i.kind, i.check_in_date, i.check_out_date, i.guest_name,
      i.guest_email, i.guest_phone, i.guest_country, i.guest_phone_last4, i.external_reference, i.adults, i.children,
      i.total_price, i.currency, i.ical_prodid, i.ical_summary, i.ical_description, i.booked_at
    from jsonb_to_recordset(${
    sql.json(rows.reservations as never)
  }) as i(external_booking_id text, first_unit integer, status text, kind text,
      check_in_date date, check_out_date date, guest_name text, guest_email text, guest_phone text, guest_country text,
      guest_phone_last4 text, external_reference text, adults integer, children integer, total_price numeric,
      currency text, ical_prodid text, ical_summary text, ical_description text, booked_at timestamptz)
    join hotels.accommodation_units u on u.tenant_id = ${tenantId} and u.motopress_unit_id = i.first_unit
    on conflict (tenant_id, external_booking_id) do update set status = excluded.status, updated_at = now()`;
  await sql`
    insert into public.reservation_accommodations as ra (tenant_id, reservation_id, position, accommodation_unit_id,
      motopress_type_id, motopress_accommodation_id, adults, children, guest_name)
    select ${tenantId}, r.id, i.position, u.id, coalesce(i.type_id, 0), i.unit_id, i.adults, i.children, i.guest_name
    from jsonb_to_recordset(${
    sql.json(rows.rooms as never)
  }) as i(external_booking_id text, position integer, unit_id integer,
      type_id integer, adults integer, children integer, guest_name text)
    join public.guest_reservations r on r.tenant_id = ${tenantId} and r.external_booking_id = i.external_booking_id
    join hotels.accommodation_units u on u.tenant_id = ${tenantId} and u.motopress_unit_id = i.unit_id
    on conflict (reservation_id, position) do update set accommodation_unit_id = excluded.accommodation_unit_id, updated_at = now()`;
}

/**
 * The original pattern: for each booking, look up its units, insert the reservation, insert each
 * room. Every statement autocommits, one after the other. Returns the statements it sent.
 */
export async function writeOriginal(
  sql: Sql,
  tenantId: string,
  rows: Rows,
  count: number,
): Promise<{ bookings: number; statements: number }> {
  const roomsOf = new Map<string, RoomRow[]>();
  for (const r of rows.rooms) {
    const list = roomsOf.get(r.external_booking_id);
    list ? list.push(r) : roomsOf.set(r.external_booking_id, [r]);
  }
  let statements = 0;
  const subset = rows.reservations.slice(0, count);
  for (const b of subset) {
    const rooms = roomsOf.get(b.external_booking_id) ?? [];
    const units = await sql`
      select id, motopress_unit_id from hotels.accommodation_units
      where tenant_id = ${tenantId} and motopress_unit_id in ${sql(rooms.map((r) => r.unit_id))}`;
    statements++;
    const unitUuid = new Map(units.map((u) => [u.motopress_unit_id as number, u.id as string]));
    const [res] = await sql`
      insert into public.guest_reservations (tenant_id, external_booking_id, accommodation_unit_id, status, kind,
        check_in_date, check_out_date, guest_name, guest_email, guest_phone, guest_country, guest_phone_last4,
        external_reference, adults, children, total_price, currency, ical_prodid, ical_summary, ical_description, booked_at)
      values (${tenantId}, ${b.external_booking_id}, ${unitUuid.get(
      b.first_unit,
    )!}, ${b.status}, ${b.kind}, ${b.check_in_date},
        ${b.check_out_date}, ${b.guest_name}, ${b.guest_email}, ${b.guest_phone}, ${b.guest_country}, ${b.guest_phone_last4},
        ${b.external_reference}, ${b.adults}, ${b.children}, ${b.total_price}, ${b.currency}, ${b.ical_prodid},
        ${b.ical_summary}, ${b.ical_description}, ${b.booked_at})
      returning id`;
    statements++;
    for (const r of rooms) {
      await sql`
        insert into public.reservation_accommodations (tenant_id, reservation_id, position, accommodation_unit_id,
          motopress_type_id, motopress_accommodation_id, adults, children, guest_name)
        values (${tenantId}, ${res.id}, ${r.position}, ${unitUuid.get(r.unit_id)!}, ${
        r.type_id ?? 0
      }, ${r.unit_id},
          ${r.adults}, ${r.children}, ${r.guest_name})`;
      statements++;
    }
  }
  return { bookings: subset.length, statements };
}
