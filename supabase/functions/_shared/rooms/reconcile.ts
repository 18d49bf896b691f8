// The reconciliation (sync.reconcile_room_status): recomputes every unit of one tenant or of every
// active tenant, writes only what differs and records each change with its cause.
import type { Sql, Tx } from "../db.ts";

export interface StatusChange {
  tenantId: string;
  unitId: string;
  from: string;
  to: string;
  reason: string;
  cause: "sync" | "schedule" | "operator" | "drift";
}

export interface ReconcileReport {
  checked: number;
  changed: number;
  changes: StatusChange[];
}

/** `now` is injectable for tests; the database clock otherwise. */
export async function reconcileRoomStatus(
  sql: Sql | Tx,
  tenantId: string | null,
  now: Date | null = null,
): Promise<ReconcileReport> {
  const [row] = await sql`
    select sync.reconcile_room_status(${tenantId}::uuid, coalesce(${now}::timestamptz, now())) as report`;
  return row.report as ReconcileReport;
}
