// Hotel data for room-status tests, written through the real sync writers (so the statement
// triggers run as they do in a sync), with the room-status clock injected per transaction.
import type { Sql, Tx } from "../../supabase/functions/_shared/db.ts";
import type { ReservationRow, RoomRow } from "../../supabase/functions/_shared/sync/booking-mapper.ts";
import { writeReservations } from "../../supabase/functions/_shared/sync/writers.ts";

export async function addUnits(
  sql: Sql,
  tenantId: string,
  motopressIds: number[],
): Promise<Record<number, string>> {
  await sql`select sync.ensure_accommodation_types(${tenantId}, ${[1]})`;
  await sql`select * from sync.upsert_accommodation_units(${tenantId},
    ${
    sql.json(motopressIds.map((id) => ({ id, type_id: 1, name: `Room ${id}`, status: "publish" })) as never)
  })`;
  const rows =
    await sql`select id, motopress_unit_id from hotels.accommodation_units where tenant_id = ${tenantId}`;
  return Object.fromEntries(rows.map((r) => [r.motopress_unit_id, r.id]));
}

export interface BookingSpec {
  id: number;
  units: number[];
  checkIn: string;
  checkOut: string;
  status?: string;
  checkInTime?: string | null;
  checkOutTime?: string | null;
  guest?: string;
}

export function bookingRows(b: BookingSpec): { reservation: ReservationRow; rooms: RoomRow[] } {
  const external_booking_id = String(b.id);
  return {
    reservation: {
      external_booking_id,
      first_unit: b.units[0],
      status: b.status ?? "confirmed",
      kind: "direct",
      check_in_date: b.checkIn,
      check_out_date: b.checkOut,
      check_in_time: b.checkInTime ?? null,
      check_out_time: b.checkOutTime ?? null,
      guest_name: b.guest ?? `Guest ${b.id}`,
      guest_email: null,
      guest_phone: null,
      guest_country: null,
      guest_phone_last4: null,
      external_reference: null,
      adults: 2,
      children: 0,
      total_price: 100,
      currency: "EUR",
      ical_prodid: null,
      ical_summary: null,
      ical_description: null,
      booked_at: null,
    },
    rooms: b.units.map((unit_id, position) => ({
      external_booking_id,
      position,
      unit_id,
      type_id: 1,
      adults: 2,
      children: 0,
      guest_name: null,
    })),
  };
}

/** Writes bookings as a sync page does (units, reservations, rooms), at `now` when given. */
export async function writeBookings(
  sql: Sql,
  tenantId: string,
  bookings: BookingSpec[],
  now: Date | null = null,
) {
  const rows = bookings.map(bookingRows);
  return await sql.begin(async (tx: Tx) => {
    if (now) await tx`select set_config('sync.room_status_now', ${now.toISOString()}, true)`;
    return await writeReservations(
      tx,
      tenantId,
      rows.map((r) => r.reservation),
      rows.flatMap((r) => r.rooms),
    );
  });
}

export async function unitStatus(sql: Sql, unitId: string) {
  const [u] = await sql`
    select room_status, room_status_reason, housekeeping, room_status_at from hotels.accommodation_units where id = ${unitId}`;
  return u;
}

export async function reservationId(sql: Sql, tenantId: string, bookingId: number): Promise<string> {
  const [r] =
    await sql`select id from public.guest_reservations where tenant_id = ${tenantId} and external_booking_id = ${
      String(bookingId)
    }`;
  return r.id;
}

export const at = (iso: string) => new Date(iso);
