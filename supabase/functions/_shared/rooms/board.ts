// The room board: every unit of a tenant as readers see it (one stored row per unit), with its
// block, the guest in house, the next arrival and open overbooking conflicts. Units removed
// upstream (trashed or deleted at the hotel) are not rooms any more: they are left out of the
// counts and the list, and given apart for a reader that wants to show them. The JSON shape is
// documented in docs/room-status.md.
import type { Sql, Tx } from "../db.ts";
import type { Housekeeping, RoomStatus } from "./rule.ts";

export interface BoardStay {
  reservationId: string;
  externalBookingId: string;
  guestName: string | null;
  checkInDate: string;
  checkOutDate: string;
  stayState: string;
}

export interface BoardUnit {
  unitId: string;
  motopressUnitId: number;
  name: string;
  typeName: string | null;
  status: RoomStatus;
  reason: string;
  statusAt: string;
  housekeeping: Housekeeping;
  block: {
    blockId: string;
    kind: string;
    startsOn: string;
    endsOn: string;
    reason: string;
    activeToday: boolean;
  } | null;
  inHouse: BoardStay | null;
  nextArrival: BoardStay | null;
  openConflicts: number;
  removedUpstream: boolean;
}

export interface Board {
  tenantId: string;
  timezone: string;
  today: string;
  generatedAt: string;
  /** The units that are rooms (not removed upstream), by status. */
  counts: Record<RoomStatus, number>;
  units: BoardUnit[];
  /** Units removed upstream (trash, draft, deleted) that the database still holds for their history. */
  removedUnits: BoardUnit[];
}

const iso = (d: Date | string | null) => (d instanceof Date ? d.toISOString() : d);

const stay = (j: Record<string, string> | null): BoardStay | null =>
  j && {
    reservationId: j.reservation_id,
    externalBookingId: j.external_booking_id,
    guestName: j.guest_name ?? null,
    checkInDate: j.check_in_date,
    checkOutDate: j.check_out_date,
    stayState: j.stay_state,
  };

/** The board, optionally restricted to some units (an action's answer). */
export async function roomBoard(
  sql: Sql | Tx,
  tenantId: string,
  unitIds: string[] | null = null,
): Promise<Board> {
  const [head] = await sql`
    select sync.tenant_zone(${tenantId}) as tz, (now() at time zone sync.tenant_zone(${tenantId}))::date::text as today`;
  const rows = await sql`
    select u.id, u.motopress_unit_id, u.name, ty.name as type_name, u.room_status, u.room_status_reason,
      u.room_status_at, u.housekeeping, u.removed_upstream_at is not null as removed,
      (select jsonb_build_object('id', b.id, 'kind', b.kind, 'starts_on', b.starts_on, 'ends_on', b.ends_on,
                                 'reason', b.reason, 'active', b.starts_on <= ${head.today}::date)
         from hotels.unit_blocks b
        where b.accommodation_unit_id = u.id and b.ended_at is null and b.ends_on > ${head.today}::date
        order by b.starts_on limit 1) as block,
      (select to_jsonb(s) from (
         select r.id as reservation_id, r.external_booking_id, r.guest_name, r.check_in_date, r.check_out_date, ra.stay_state
         from public.reservation_accommodations ra join public.guest_reservations r on r.id = ra.reservation_id
         where ra.accommodation_unit_id = u.id and ra.stay_state = 'in_house'
         order by r.check_in_date limit 1) s) as in_house,
      (select to_jsonb(s) from (
         select r.id as reservation_id, r.external_booking_id, r.guest_name, r.check_in_date, r.check_out_date, ra.stay_state
         from public.reservation_accommodations ra join public.guest_reservations r on r.id = ra.reservation_id
         where ra.accommodation_unit_id = u.id and ra.stay_state = 'expected' and r.check_in_date >= ${head.today}::date
           -- By the unit's dates (the stay carries its booking's): its future, not its history.
           and ra.check_out_date >= ${head.today}::date
         order by r.check_in_date, r.external_booking_id limit 1) s) as next_arrival,
      (select count(*)::int from hotels.booking_conflicts c
        where c.accommodation_unit_id = u.id and c.resolved_at is null) as conflicts
    from hotels.accommodation_units u
    left join hotels.accommodation_types ty on ty.id = u.accommodation_type_id
    where u.tenant_id = ${tenantId} and (${unitIds}::uuid[] is null or u.id = any (${unitIds}::uuid[]))
    order by u.name, u.motopress_unit_id`;
  const counts = { out_of_service: 0, occupied: 0, dirty: 0, reserved: 0, available: 0 } as Record<
    RoomStatus,
    number
  >;
  const all: BoardUnit[] = rows.map((r) => {
    if (!r.removed) counts[r.room_status as RoomStatus]++;
    return {
      unitId: r.id,
      motopressUnitId: r.motopress_unit_id,
      name: r.name,
      typeName: r.type_name,
      status: r.room_status,
      reason: r.room_status_reason,
      statusAt: iso(r.room_status_at)!,
      housekeeping: r.housekeeping,
      block: r.block && {
        blockId: r.block.id,
        kind: r.block.kind,
        startsOn: r.block.starts_on,
        endsOn: r.block.ends_on,
        reason: r.block.reason,
        activeToday: r.block.active,
      },
      inHouse: stay(r.in_house),
      nextArrival: stay(r.next_arrival),
      openConflicts: r.conflicts,
      removedUpstream: r.removed,
    };
  });
  return {
    tenantId,
    timezone: head.tz,
    today: head.today,
    generatedAt: new Date().toISOString(),
    counts,
    units: all.filter((u) => !u.removedUpstream),
    removedUnits: all.filter((u) => u.removedUpstream),
  };
}
