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
  // The counters are sync.tenant_health's (its migration says what each one means).
  const tenants = await sql`select * from sync.tenant_health(${tenantId}::uuid)`;
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
    runs.filter((r) => r.tenant_id === id && ["running", "continuing"].includes(r.status) === active).map((
      r,
    ) => publicRun(toRun(r)));
  return {
    generatedAt: new Date().toISOString(),
    allTenantRuns: { activeRuns: byTenant(null, true), recentFailures: byTenant(null, false) },
    tenants: tenants.map((t) => {
      const integrity: Integrity = {
        reservationsWithoutRoom: t.reservations_without_room,
        reservationsWithoutRooms: t.reservations_without_rooms,
        quarantinedItems: t.quarantined_items,
        autoCreatedUnits: t.auto_created_units,
        overbookingConflicts: t.overbooking_conflicts,
        roomStatusDrift: t.room_status_drift,
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
          units: Object.fromEntries(ROOM_STATUS_ORDER.map((k) => [k, (t.unit_statuses ?? {})[k] ?? 0])),
          changesLast24h: t.status_changes_24h,
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
