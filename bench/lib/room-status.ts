// Figure 8: what room status costs. (a) A sync page with and without the status maintenance (the
// statement triggers), same pages, same run. (b) A full reconciliation of TENANTS x UNITS units with
// no drift (rows written must be 0) and with 1 % injected drift (all repaired, each recorded).
import type { Sql } from "../../supabase/functions/_shared/db.ts";
import { claimRun } from "../../supabase/functions/_shared/runs/coordinator.ts";
import { leaseOf } from "../../supabase/functions/_shared/runs/types.ts";
import type { Page } from "../../supabase/functions/_shared/motopress/client.ts";
import type { JsonItem } from "../../supabase/functions/_shared/motopress/json-items.ts";
import { bookingsPageCommitter } from "./page-writer.ts";
import { type Rows, writeInventory } from "./baselines.ts";
import { median } from "./report.ts";

const TRIGGERS: [string, string][] = [
  ["public.reservation_accommodations", "room_status_stays_insert"],
  ["public.reservation_accommodations", "room_status_stays_update"],
  ["public.reservation_accommodations", "room_status_stays_delete"],
  ["public.guest_reservations", "room_status_reservations_update"],
];

async function setTriggers(sql: Sql, enabled: boolean) {
  for (const [table, name] of TRIGGERS) {
    await sql.unsafe(`alter table ${table} ${enabled ? "enable" : "disable"} trigger ${name}`);
  }
}

/** Writes `pages` for a fresh tenant with our page writer, page by page; returns each page's ms. */
async function writeAll(sql: Sql, tenantId: string, rows: Rows, pages: Page<JsonItem>[]): Promise<number[]> {
  await writeInventory(sql, tenantId, rows);
  const claim = await claimRun(sql, {
    tenantId,
    source: "motopress-bookings",
    trigger: "manual",
    leaseSeconds: 3600,
  });
  if (claim.outcome !== "claimed") throw new Error("could not claim a run for the room-status bench");
  const commit = bookingsPageCommitter(leaseOf(claim.run), tenantId);
  const times: number[] = [];
  for (const page of pages) {
    const t0 = performance.now();
    await commit(sql, page);
    times.push(performance.now() - t0);
  }
  return times;
}

export async function pageCost(
  sql: Sql,
  insertTenant: (slug: string) => Promise<string>,
  rows: Rows,
  pages: Page<JsonItem>[],
) {
  // Without first, so that "with" pays for the larger tables: the overhead is not understated.
  await setTriggers(sql, false);
  let without: number[];
  try {
    without = await writeAll(sql, await insertTenant("bench-rooms-off"), rows, pages);
  } finally {
    await setTriggers(sql, true);
  }
  const withTenant = await insertTenant("bench-rooms-on");
  const withIt = await writeAll(sql, withTenant, rows, pages);
  const [{ unexplained }] =
    await sql`select count(*)::int as unexplained from sync.room_status_unexplained(${withTenant})`;
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    pages: pages.length,
    withMedianMs: median(withIt),
    withoutMedianMs: median(without),
    withTotalMs: sum(withIt),
    withoutTotalMs: sum(without),
    unexplained,
  };
}

/** TENANTS active tenants x UNITS units, each unit with 10 stays over the 60 days around today. */
export async function seedHotels(sql: Sql, tenants: number, units: number): Promise<string[]> {
  await sql`update public.tenant_registry set is_active = false`;
  const ids = (await sql`
    insert into public.tenant_registry (slug, name, timezone)
    select 'bench-rooms-' || i, 'Rooms ' || i, 'Europe/Madrid' from generate_series(1, ${tenants}) i
    returning tenant_id`).map((r) => r.tenant_id as string);
  await sql`insert into hotels.accommodation_types (tenant_id, motopress_type_id, name)
            select t, 1, 'Double' from unnest(${ids}::uuid[]) t`;
  await sql`insert into hotels.accommodation_units (tenant_id, accommodation_type_id, motopress_unit_id, motopress_type_id, name)
            select ty.tenant_id, ty.id, u, 1, 'Room ' || u
            from hotels.accommodation_types ty, generate_series(1, ${units}) u where ty.tenant_id = any (${ids}::uuid[])`;
  await sql`insert into public.guest_reservations (tenant_id, external_booking_id, accommodation_unit_id, status, kind,
              check_in_date, check_out_date, guest_name)
            select u.tenant_id, u.motopress_unit_id * 100 + k, u.id,
              case when (u.motopress_unit_id + k) % 10 = 0 then 'cancelled' else 'confirmed' end, 'direct',
              current_date - 30 + k * 6 + u.motopress_unit_id % 3, current_date - 30 + k * 6 + u.motopress_unit_id % 3 + 3,
              'Guest ' || k
            from hotels.accommodation_units u, generate_series(0, 9) k where u.tenant_id = any (${ids}::uuid[])`;
  await sql`insert into public.reservation_accommodations (tenant_id, reservation_id, position, accommodation_unit_id,
              motopress_type_id, motopress_accommodation_id)
            select r.tenant_id, r.id, 0, r.accommodation_unit_id, 1, u.motopress_unit_id
            from public.guest_reservations r join hotels.accommodation_units u on u.id = r.accommodation_unit_id
            where r.tenant_id = any (${ids}::uuid[])`;
  await sql`analyze hotels.accommodation_units, public.guest_reservations, public.reservation_accommodations`;
  return ids;
}

/** One full reconciliation in one transaction: its report, time, and the rows it wrote (xact stats). */
export async function reconcileOnce(sql: Sql) {
  return await sql.begin(async (tx) => {
    const t0 = performance.now();
    const [{ report }] = await tx`select sync.reconcile_room_status() as report`;
    const ms = performance.now() - t0;
    const [w] = await tx`
      select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::int as written from pg_stat_xact_user_tables
      where (schemaname, relname) in (('hotels', 'accommodation_units'), ('public', 'reservation_accommodations'),
                                      ('hotels', 'room_status_changes'), ('hotels', 'booking_conflicts'))`;
    return {
      report: report as { checked: number; changed: number; changes: { cause: string }[] },
      ms,
      written: w.written as number,
    };
  });
}
