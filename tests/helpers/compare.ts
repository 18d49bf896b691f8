// The shared oracle: what the database must hold for a simulated MotoPress site, derived from the
// simulator's own records (not from the sync's mapper), compared as one canonical value.
import { expect } from "vitest";
import type { Sql } from "../../supabase/functions/_shared/db.ts";
import type { Simulator } from "../../tools/motopress-simulator/simulator.ts";
// The library itself, not the product's wrapper around it.
import { decodeHTML, DecodingMode } from "entities";

const LISTED_STATUSES = new Set(["publish", "private", "pending"]);
/** Returned by id but never listed: gone for the sync until published again. */
const NON_LIVE = new Set(["trash", "draft", "auto-draft"]);
const decode = (s: string) => decodeHTML(s, DecodingMode.Strict);

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

function expectedKind(b: ReturnType<Simulator["getBooking"]> & object): string {
  if (!b.ical) return "direct";
  return b.ical.source === "airbnb-reservation" ? "imported" : "block";
}

function expectedGuest(b: ReturnType<Simulator["getBooking"]> & object): string | null {
  const name = [b.customer?.first_name, b.customer?.last_name].filter((s) => s && s.trim()).join(" ").trim();
  if (name) return name;
  return b.rooms.map((r) => r.guestName.trim()).find((n) => n) ?? null;
}

// Written apart from the mapper on purpose: the oracle must not share the code it checks.
function expectedPhoneLast4(b: ReturnType<Simulator["getBooking"]> & object): string | null {
  const digits = (b.customer?.phone ?? "").split("").filter((c) => c >= "0" && c <= "9").join("");
  if (digits.length >= 4) return digits.slice(-4);
  return b.ical?.description.match(/Last 4 Digits\): (\d{4})/)?.[1] ?? null;
}

/** A booking the sync can store: it names at least one room, and every room names its unit. */
const storable = (b: ReturnType<Simulator["getBooking"]> & object) =>
  b.rooms.length > 0 && b.rooms.every((r) => r.unitId > 0);

export function expectedState(sim: Simulator) {
  const live = sim.bookingIds().map((id) => sim.getBooking(id)!).filter((b) => !NON_LIVE.has(b.status));
  const reservations = live.filter(storable).map((b) => {
    const id = b.id;
    return {
      id: String(id),
      status: b.status,
      kind: expectedKind(b),
      checkIn: b.checkIn,
      checkOut: b.checkOut,
      checkInTime: sim.site.checkInTime,
      checkOutTime: sim.site.checkOutTime,
      guest: expectedGuest(b),
      phoneLast4: expectedPhoneLast4(b),
      // iCal imports carry the type's capacity, not a guest count: unknown.
      adults: b.ical ? null : b.rooms.reduce((n, r) => n + r.adults, 0),
      children: b.ical ? null : b.rooms.reduce((n, r) => n + r.children, 0),
      summary: b.ical ? unquote(b.ical.summary) || null : null,
      rooms: b.rooms.map((r) => r.unitId),
    };
  }).sort((a, b) => Number(a.id) - Number(b.id));
  const referenced = new Set(reservations.flatMap((r) => r.rooms));
  const units = sim.listUnits()
    .filter((u) =>
      !NON_LIVE.has(u.status) && ((!u.hidden && LISTED_STATUSES.has(u.status)) || referenced.has(u.id))
    )
    .map((u) => ({
      id: u.id,
      // The simulator keeps titles without the private/protected prefix it renders in the site's
      // language. A unit only a booking knows is created as a placeholder, then named from its
      // answer by id at the end of the pass.
      name: decode(u.title),
      autoCreated: false,
    }))
    .sort((a, b) => a.id - b.id);
  const types = sim.listTypes()
    .filter((t) => LISTED_STATUSES.has(t.status))
    .map((t) => ({
      id: t.id,
      name: decode(t.title),
      services: t.services.filter((x) => x.id !== null).map((x) => x.id),
    }))
    .sort((a, b) => a.id - b.id);
  return { reservations, units, types };
}

export async function actualState(sql: Sql, tenantId: string) {
  const reservations = await sql`
    select r.external_booking_id as id, r.status, r.kind, r.check_in_date::text as "checkIn",
           r.check_out_date::text as "checkOut", r.check_in_time::text as "checkInTime",
           r.check_out_time::text as "checkOutTime", r.guest_name as guest, r.guest_phone_last4 as "phoneLast4",
           r.adults, r.children, r.ical_summary as summary,
           first.motopress_unit_id as first_unit,
           coalesce((select array_agg(u.motopress_unit_id order by ra.position)
                     from public.reservation_accommodations ra
                     join hotels.accommodation_units u on u.id = ra.accommodation_unit_id
                     where ra.reservation_id = r.id), '{}') as rooms
    from public.guest_reservations r
    join hotels.accommodation_units first on first.id = r.accommodation_unit_id
    where r.tenant_id = ${tenantId} and r.removed_upstream_at is null
    order by r.external_booking_id::int`;
  for (const r of reservations) {
    // The reservation's own room is the first booked room.
    expect(r.first_unit, `booking ${r.id}: accommodation_unit_id is the first room`).toBe(r.rooms[0]);
    delete r.first_unit;
  }
  const units = await sql`
    select motopress_unit_id as id, name, auto_created as "autoCreated"
    from hotels.accommodation_units where tenant_id = ${tenantId} and removed_upstream_at is null
    order by motopress_unit_id`;
  // Placeholders made from a unit's or booking's data are not listed types; the rest must be.
  const types = await sql`
    select motopress_type_id as id, name, coalesce(details->'serviceIds', '[]') as services
    from hotels.accommodation_types
    where tenant_id = ${tenantId} and removed_upstream_at is null and not auto_created
    order by motopress_type_id`;
  return {
    reservations: reservations.map((r) => ({ ...r })),
    units: units.map((u) => ({ ...u })),
    types: types.map((t) => ({ ...t })),
  };
}

/** Asserts the database holds exactly the site's data: every booking, every room, nothing else. */
export async function expectDatabaseMatches(
  sql: Sql,
  tenantId: string,
  sim: Simulator,
  opts: { units?: boolean } = {},
) {
  const expected = expectedState(sim);
  const actual = await actualState(sql, tenantId);
  expect(actual.reservations.length).toBe(expected.reservations.length);
  expect(actual.reservations).toEqual(expected.reservations);
  if (opts.units !== false) {
    expect(actual.units).toEqual(expected.units);
    expect(actual.types).toEqual(expected.types);
  }
  await expectIntegrity(sql, tenantId);
}

/** The invariants the guest chat relies on, whatever the data. */
export async function expectIntegrity(sql: Sql, tenantId: string) {
  const [row] = await sql`
    select
      (select count(*)::int from public.guest_reservations r
        where r.tenant_id = ${tenantId}
          and not exists (select 1 from public.reservation_accommodations ra where ra.reservation_id = r.id)) as without_rooms,
      (select count(*)::int from public.reservation_accommodations ra
        join public.guest_reservations r on r.id = ra.reservation_id
        where r.tenant_id = ${tenantId} and ra.position = 0 and ra.accommodation_unit_id <> r.accommodation_unit_id) as first_room_mismatch,
      (select count(*)::int from (select tenant_id, external_booking_id from public.guest_reservations
        where tenant_id = ${tenantId} group by 1, 2 having count(*) > 1) d) as duplicates`;
  expect(row).toEqual({ without_rooms: 0, first_room_mismatch: 0, duplicates: 0 });
}
