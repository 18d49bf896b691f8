// The core schema's constraints carry names that say what they guarantee, and the CHECKs the code
// relies on refuse rows that break them, each error naming its constraint.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, insertTenant, type TestDatabase } from "../helpers/db.ts";
import { addUnits } from "../helpers/rooms.ts";

let db: TestDatabase;
let tenant: string;
let unitId: string;
let reservationId: string;

beforeAll(async () => {
  db = await createTestDatabase(2);
  tenant = await insertTenant(db.sql);
  unitId = (await addUnits(db.sql, tenant, [11]))[11];
  const [res] = await db.sql`
    insert into public.guest_reservations (tenant_id, external_booking_id, accommodation_unit_id, status, kind,
      check_in_date, check_out_date)
    values (${tenant}, '501', ${unitId}, 'confirmed', 'direct', '2026-12-01', '2026-12-03') returning id`;
  reservationId = res.id;
});
afterAll(async () => {
  await db?.drop();
});

describe("core schema constraints", () => {
  it("no core table keeps a name PostgreSQL generated (<table>_<columns>_key/_check/_fkey)", async () => {
    const generated = await db.sql`
      select c.conrelid::regclass::text as tbl, c.conname
      from pg_constraint c
      where c.conrelid::regclass::text in ('tenant_registry', 'private.motopress_credentials',
          'hotels.accommodation_types', 'hotels.accommodation_units', 'guest_reservations',
          'reservation_accommodations', 'sync_quarantine')
        and c.contype <> 'p' and c.conname ~ '_(key|check|fkey)$'`;
    expect(generated).toEqual([]);
  });

  const rejects = (statement: () => Promise<unknown>, constraint: string) =>
    expect(statement()).rejects.toThrow(new RegExp(`violates check constraint "${constraint}"`));

  it("a reservation's status is one MotoPress defines, its counts non-negative, its last4 four digits", async () => {
    const update = (set: Record<string, unknown>) => () =>
      db.sql`update public.guest_reservations set ${db.sql(set)} where id = ${reservationId}`;
    await rejects(update({ status: "booked" }), "guest_reservations_status_known");
    await rejects(update({ adults: -1 }), "guest_reservations_guest_counts_nonnegative");
    await rejects(update({ guest_phone_last4: "12a4" }), "guest_reservations_phone_last4_digits");
    await rejects(update({ check_out_date: "2026-11-30" }), "guest_reservations_dates_ordered");
  });

  it("a booked room's dates are ordered, its counts non-negative and its MotoPress unit real", async () => {
    // Inserted valid (a trigger copies the reservation's dates on insert), then broken by updates.
    await db.sql`
      insert into public.reservation_accommodations (tenant_id, reservation_id, position, accommodation_unit_id,
        motopress_type_id, motopress_accommodation_id)
      values (${tenant}, ${reservationId}, 0, ${unitId}, 1, 11)`;
    const update = (set: Record<string, unknown>) => () =>
      db.sql`update public.reservation_accommodations set ${
        db.sql(set)
      } where reservation_id = ${reservationId}`;
    await rejects(update({ check_out_date: "2026-11-30" }), "reservation_accommodations_dates_ordered");
    await rejects(update({ children: -2 }), "reservation_accommodations_guest_counts_nonnegative");
    await rejects(update({ motopress_accommodation_id: 0 }), "reservation_accommodations_motopress_ids");
  });

  it("a room type's guest counts and size are non-negative", async () => {
    const update = (set: Record<string, unknown>) => () =>
      db.sql`update hotels.accommodation_types set ${db.sql(set)} where tenant_id = ${tenant}`;
    await rejects(update({ total_capacity: -1 }), "accommodation_types_guest_counts_nonnegative");
    await rejects(update({ size: -5 }), "accommodation_types_size_nonnegative");
  });
});
