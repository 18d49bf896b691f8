// Repair: reservations written before this product existed can lack their junction rows. Each is
// re-read from MotoPress and re-linked through the same writers as a sync. Dry-run by default.
import type { Sql } from "../db.ts";
import type { MotoPressClient } from "../motopress/client.ts";
import { withFencedTransaction } from "../runs/coordinator.ts";
import type { Job } from "../runs/executor.ts";
import { RunLostError } from "../runs/coordinator.ts";
import { withDbRetry } from "../runs/db-faults.ts";
import type { Lease } from "../runs/types.ts";
import { mapBooking } from "./booking-mapper.ts";
import { writeReservations } from "./writers.ts";

/** Per call: each item is one MotoPress request, and a call must answer within the platform's limit. */
export const REPAIR_LIMIT = 100;

export interface RepairReport {
  tenantId: string;
  dryRun: boolean;
  found: number;
  /** More unlinked reservations remain beyond this call's limit: call again. */
  more: boolean;
  relinked: { bookingId: string; units: number[] }[];
  goneUpstream: string[];
  unrepairable: { bookingId: string; reason: string }[];
}

export async function findUnlinked(sql: Sql, tenantId: string): Promise<string[]> {
  const rows = await sql`
    select r.external_booking_id from public.guest_reservations r
    where r.tenant_id = ${tenantId}
      and not exists (select 1 from public.reservation_accommodations ra where ra.reservation_id = r.id)
    order by r.external_booking_id limit ${REPAIR_LIMIT + 1}`;
  return rows.map((r) => r.external_booking_id);
}

/** With `lease` (a claimed bookings run) it writes, fenced; without, it only reports. */
export async function repairTenant(
  sql: Sql,
  client: MotoPressClient,
  tenantId: string,
  lease: Lease | null,
  signal?: AbortSignal,
): Promise<RepairReport> {
  const all = await findUnlinked(sql, tenantId);
  const ids = all.slice(0, REPAIR_LIMIT);
  const report: RepairReport = {
    tenantId,
    dryRun: !lease,
    found: ids.length,
    more: all.length > REPAIR_LIMIT,
    relinked: [],
    goneUpstream: [],
    unrepairable: [],
  };
  const fenced = (fn: Parameters<typeof withFencedTransaction>[2]) =>
    withDbRetry(() => withFencedTransaction(sql, lease!, fn), { signal });
  for (const bookingId of ids) {
    if (signal?.aborted && lease) throw new RunLostError(lease.runId, "cancelled");
    const numeric = Number(bookingId);
    if (!Number.isInteger(numeric) || numeric <= 0) {
      report.unrepairable.push({ bookingId, reason: "Not a MotoPress booking id." });
      continue;
    }
    const booking = await client.booking(numeric);
    if (!booking) {
      report.goneUpstream.push(bookingId);
      if (lease) {
        await fenced((tx) =>
          tx`update public.guest_reservations set removed_upstream_at = now(), updated_at = now()
             where tenant_id = ${tenantId} and external_booking_id = ${bookingId} and removed_upstream_at is null`
        );
      }
      continue;
    }
    const mapped = mapBooking(booking);
    if (!mapped.ok) {
      report.unrepairable.push({ bookingId, reason: mapped.reason });
      continue;
    }
    report.relinked.push({ bookingId, units: mapped.rooms.map((r) => r.unit_id) });
    if (lease) {
      await fenced((tx) => writeReservations(tx, tenantId, [mapped.reservation], mapped.rooms));
    }
  }
  return report;
}

/** Repair with apply as a job of its claimed bookings run; `onReport` receives the full report. */
export function repairJob(client: MotoPressClient, onReport: (report: RepairReport) => void): Job {
  return async (ctx) => {
    const report = await repairTenant(ctx.sql, client, ctx.run.tenantId!, ctx.lease, ctx.signal);
    onReport(report);
    return { status: "completed", stats: { repair: { ...report, relinked: report.relinked.length } } };
  };
}
