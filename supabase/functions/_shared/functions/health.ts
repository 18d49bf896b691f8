// The health report: can the guest chat trust this tenant's data? Per tenant: the last successful
// syncs, the active runs, recent failures, and integrity counters computed from the data itself.
import type { Sql } from "../db.ts";
import { toRun } from "../runs/coordinator.ts";
import { publicRun } from "./run-api.ts";

// Statuses that hold the room (reference §3.3); cancelled and abandoned ones free it.
const LOCKING = ["confirmed", "pending", "pending-user", "pending-payment"];
// Sent as one text value: postgres.js serializes a JS array as `a,b,c` (a malformed array literal)
// on a connection that has not loaded the array types yet, which failed a health report now and then.
const LOCKING_CSV = LOCKING.join(",");

export interface Integrity {
  /** Must be 0; the schema makes it impossible, and this proves it on live data. */
  reservationsWithoutRoom: number;
  /** Reservations with no junction row (e.g. written before this product existed): see repair. */
  reservationsWithoutRooms: number;
  quarantinedItems: number;
  /** Units created from bookings that the accommodations sync has not completed yet. */
  autoCreatedUnits: number;
  /** Pairs of room-holding reservations on the same unit with overlapping current or future stays. */
  overbookingConflicts: number;
}

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
      (select count(*)::int
         from public.reservation_accommodations a1
         join public.guest_reservations r1 on r1.id = a1.reservation_id
         join public.reservation_accommodations a2
           on a2.tenant_id = a1.tenant_id and a2.accommodation_unit_id = a1.accommodation_unit_id
          and a2.reservation_id > a1.reservation_id
         join public.guest_reservations r2 on r2.id = a2.reservation_id
         where a1.tenant_id = t.tenant_id
           and r1.status = any (string_to_array(${LOCKING_CSV}, ',')) and r2.status = any (string_to_array(${LOCKING_CSV}, ','))
           and r1.removed_upstream_at is null and r2.removed_upstream_at is null
           and r1.check_in_date < r2.check_out_date and r2.check_in_date < r1.check_out_date
           and greatest(r1.check_out_date, r2.check_out_date) >= current_date) as overbooked
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
