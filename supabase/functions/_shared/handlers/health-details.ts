// Health drill-downs: the rows behind each integrity counter of the health report, so an operator
// sees which reservation, item or room is wrong and why.
import type { Sql } from "../db.ts";

const LIMIT = 100;
// Statuses that hold the room (same list as the health report's counter).
const LOCKING = ["confirmed", "pending", "pending-user", "pending-payment"];
// Sent as one text value: postgres.js serializes a JS array as `a,b,c` (a malformed array literal)
// on a connection that has not loaded the array types yet, which failed a health report now and then.
const LOCKING_CSV = LOCKING.join(",");

/** A payload excerpt small enough for a table cell; never the whole upstream record. */
function excerpt(payload: unknown): string | null {
  if (payload == null) return null;
  const text = JSON.stringify(payload);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

export async function healthDetails(sql: Sql, tenantId: string) {
  const withoutRooms = await sql`
    select r.id, r.external_booking_id, r.status, r.check_in_date::text, r.check_out_date::text, r.guest_name
    from public.guest_reservations r
    where r.tenant_id = ${tenantId}
      and not exists (select 1 from public.reservation_accommodations ra where ra.reservation_id = r.id)
    order by r.check_in_date desc limit ${LIMIT}`;
  const quarantine = await sql`
    select q.id, q.entity, q.external_id, q.reason, q.payload, q.first_seen_at, q.last_seen_at
    from public.sync_quarantine q
    where q.tenant_id = ${tenantId} and q.resolved_at is null
    order by q.last_seen_at desc limit ${LIMIT}`;
  const conflicts = await sql`
    select u.name as unit_name, r1.external_booking_id as booking, r2.external_booking_id as other_booking,
      greatest(r1.check_in_date, r2.check_in_date)::text as from_date,
      least(r1.check_out_date, r2.check_out_date)::text as to_date
    from public.reservation_accommodations a1
    join public.guest_reservations r1 on r1.id = a1.reservation_id
    join public.reservation_accommodations a2
      on a2.tenant_id = a1.tenant_id and a2.accommodation_unit_id = a1.accommodation_unit_id
     and a2.reservation_id > a1.reservation_id
    join public.guest_reservations r2 on r2.id = a2.reservation_id
    join hotels.accommodation_units u on u.id = a1.accommodation_unit_id
    where a1.tenant_id = ${tenantId}
      and r1.status = any (string_to_array(${LOCKING_CSV}, ',')) and r2.status = any (string_to_array(${LOCKING_CSV}, ','))
      and r1.removed_upstream_at is null and r2.removed_upstream_at is null
      and r1.check_in_date < r2.check_out_date and r2.check_in_date < r1.check_out_date
      and greatest(r1.check_out_date, r2.check_out_date) >= current_date
    order by from_date limit ${LIMIT}`;
  // Room-status drift the reconciliation repaired (contract §6), where that table exists.
  const [{ has_changes }] =
    await sql`select to_regclass('hotels.room_status_changes') is not null as has_changes`;
  const drift = has_changes
    ? await sql`
      select c.created_at, u.name as unit_name, c.from_status, c.to_status, c.reason
      from hotels.room_status_changes c join hotels.accommodation_units u on u.id = c.accommodation_unit_id
      where c.tenant_id = ${tenantId} and c.cause = 'drift'
      order by c.created_at desc limit ${LIMIT}`
    : [];
  return {
    tenantId,
    limit: LIMIT,
    reservationsWithoutRooms: withoutRooms.map((r) => ({
      reservationId: r.id,
      bookingId: r.external_booking_id,
      status: r.status,
      checkIn: r.check_in_date,
      checkOut: r.check_out_date,
      guestName: r.guest_name,
    })),
    quarantined: quarantine.map((q) => ({
      id: q.id,
      entity: q.entity,
      externalId: q.external_id,
      reason: q.reason,
      payloadExcerpt: excerpt(q.payload),
      firstSeenAt: new Date(q.first_seen_at).toISOString(),
      lastSeenAt: new Date(q.last_seen_at).toISOString(),
    })),
    overbookingConflicts: conflicts.map((c) => ({
      unitName: c.unit_name,
      bookingId: c.booking,
      otherBookingId: c.other_booking,
      from: c.from_date,
      to: c.to_date,
    })),
    roomStatusDrift: drift.map((d) => ({
      at: new Date(d.created_at).toISOString(),
      unitName: d.unit_name,
      from: d.from_status,
      to: d.to_status,
      reason: d.reason,
    })),
  };
}
