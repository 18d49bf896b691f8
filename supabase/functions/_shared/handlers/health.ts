// The health report: can the guest chat trust this tenant's data? Per tenant: the last successful
// syncs, the active runs, recent failures, and integrity counters computed from the data itself.
import type { Sql } from "../db.ts";
import { toRun } from "../runs/coordinator.ts";
import { publicRun } from "./run-api.ts";
import type { RoomStatus } from "../rooms/rule.ts";

export interface Integrity {
  /** Must be 0; the schema makes it impossible, and this proves it on live data. */
  reservationsWithoutRoom: number;
  /** Reservations with no junction row (e.g. written before this product existed): see repair. */
  reservationsWithoutRooms: number;
  quarantinedItems: number;
  /** Units created from bookings that the accommodations sync has not completed yet. */
  autoCreatedUnits: number;
  /** Open overbooking conflicts: two active stays overlapping on one unit (hotels.booking_conflicts). */
  overbookingConflicts: number;
  /** Must be 0: room statuses the reconciliation found that no stay explained (last 7 days), repaired. */
  roomStatusDrift: number;
}

const ROOM_STATUS_ORDER: RoomStatus[] = ["out_of_service", "occupied", "dirty", "reserved", "available"];

export async function healthReport(sql: Sql, tenantId: string | null) {
  const tenants = await sql`
    select t.tenant_id, t.slug, t.name, t.timezone, t.is_active,
      (select max(completed_at) from public.sync_runs s where s.tenant_id = t.tenant_id and s.status = 'completed'
         and s.source = 'motopress-accommodations') as last_accommodations,
      (select max(completed_at) from public.sync_runs s where s.tenant_id = t.tenant_id and s.status = 'completed'
         and s.source = 'motopress-bookings') as last_bookings,
      (select count(*)::int from public.guest_reservations r
         where r.tenant_id = t.tenant_id
           and not exists (select 1 from hotels.accommodation_units u where u.id = r.accommodation_unit_id)) as without_room,
      (select count(*)::int from public.guest_reservations r
         where r.tenant_id = t.tenant_id
           and not exists (select 1 from public.reservation_accommodations ra where ra.reservation_id = r.id)) as without_rooms,
      (select count(*)::int from public.sync_quarantine q where q.tenant_id = t.tenant_id and q.resolved_at is null) as quarantined,
      (select count(*)::int from hotels.accommodation_units u
         where u.tenant_id = t.tenant_id and u.auto_created and u.removed_upstream_at is null) as auto_units,
      -- Recorded by the room-status maintenance in the transaction that wrote the second stay.
      (select count(*)::int from hotels.booking_conflicts c
         where c.tenant_id = t.tenant_id and c.resolved_at is null) as overbooked,
      (select count(*)::int from hotels.room_status_changes c
         where c.tenant_id = t.tenant_id and c.cause = 'drift' and c.created_at > now() - interval '7 days') as drift,
      (select count(*)::int from hotels.room_status_changes c
         where c.tenant_id = t.tenant_id and c.created_at > now() - interval '24 hours') as status_changes,
      (select jsonb_object_agg(x.room_status, x.n) from (
         select u.room_status, count(*)::int as n from hotels.accommodation_units u
         where u.tenant_id = t.tenant_id and u.removed_upstream_at is null group by u.room_status) x) as statuses
    from public.tenant_registry t
    where ${tenantId}::uuid is null or t.tenant_id = ${tenantId}
    order by t.slug`;
  const runs = await sql`
    select * from (
      select s.*, row_number() over (partition by s.tenant_id, s.status in ('running', 'continuing') order by s.started_at desc) as rn
      from public.sync_runs s
      where (s.status in ('running', 'continuing') or (s.status = 'failed' and s.started_at > now() - interval '7 days'))
        and (${tenantId}::uuid is null or s.tenant_id = ${tenantId} or s.tenant_id is null)
    ) x where x.rn <= 10 order by x.started_at desc`;
  // What the operator must look at: each unresolved quarantined item with the reason it could not be stored.
  const quarantine = await sql`
    select * from (
      select q.tenant_id, q.entity, q.external_id, q.reason, q.last_seen_at,
             row_number() over (partition by q.tenant_id order by q.last_seen_at desc, q.external_id) as rn
      from public.sync_quarantine q
      where q.resolved_at is null and (${tenantId}::uuid is null or q.tenant_id = ${tenantId})
    ) x where x.rn <= 20 order by x.tenant_id, x.rn`;
  const byTenant = (id: string | null, active: boolean) =>
    runs.filter((r) => r.tenant_id === id && ["running", "continuing"].includes(r.status) === active).map((r) => publicRun(toRun(r)));
  return {
    generatedAt: new Date().toISOString(),
    allTenantRuns: { activeRuns: byTenant(null, true), recentFailures: byTenant(null, false) },
    tenants: tenants.map((t) => {
      const integrity: Integrity = {
        reservationsWithoutRoom: t.without_room,
        reservationsWithoutRooms: t.without_rooms,
        quarantinedItems: t.quarantined,
        autoCreatedUnits: t.auto_units,
        overbookingConflicts: t.overbooked,
        roomStatusDrift: t.drift,
      };
      return {
        tenantId: t.tenant_id,
        slug: t.slug,
        name: t.name,
        isActive: t.is_active,
        lastSuccessfulSync: {
          accommodations: t.last_accommodations?.toISOString() ?? null,
          bookings: t.last_bookings?.toISOString() ?? null,
        },
        activeRuns: byTenant(t.tenant_id, true),
        recentFailures: byTenant(t.tenant_id, false),
        integrity,
        roomStatus: {
          units: Object.fromEntries(ROOM_STATUS_ORDER.map((k) => [k, (t.statuses ?? {})[k] ?? 0])),
          changesLast24h: t.status_changes,
        },
        quarantine: quarantine.filter((q) => q.tenant_id === t.tenant_id).map((q) => ({
          entity: q.entity,
          externalId: q.external_id,
          reason: q.reason,
          lastSeenAt: q.last_seen_at.toISOString(),
        })),
        // The chat can trust the links when no reservation lacks its rooms.
        trustworthy: integrity.reservationsWithoutRoom === 0 && integrity.reservationsWithoutRooms === 0,
      };
    }),
  };
}
