// Operator actions on room status. Each runs in one transaction that first takes the tenant's
// room-status lock, then validates against the committed data and refuses (409
// INVALID_OPERATION, nothing written) what would make it inconsistent, then writes, recomputes the
// affected units (cause `operator`) and records who did it and when.
import { z } from "zod";
import type { Sql, Tx } from "../db.ts";
import { InvalidOperationError, NotFoundError, TenantNotFoundError } from "../errors.ts";
import { type Board, roomBoard } from "./board.ts";
import type { StatusChange } from "./reconcile.ts";
import { HOUSEKEEPING } from "./rule.ts";
import { noteText } from "../text.ts";

const id = (what: string) => z.uuid({ message: `Must be a ${what} id (uuid).` });
const tenantId = id("tenant");
const stayAction = <A extends string>(action: A) =>
  z.strictObject({
    tenantId,
    action: z.literal(action),
    reservationId: id("reservation"),
    unitId: id("unit").optional(),
  });
const date = (what: string) => z.iso.date({ message: `Must be a date (YYYY-MM-DD): ${what}.` });

const blockAction = z.strictObject({
  tenantId,
  action: z.literal("block"),
  unitId: id("unit"),
  kind: z.enum(["out_of_service", "out_of_order"], { message: "Must be out_of_service or out_of_order." }),
  startsOn: date("the first blocked night"),
  endsOn: date("the day after the last blocked night (exclusive)"),
  reason: noteText(500, "Reason"),
  force: z.boolean({ message: "Must be true or false." }).optional(),
}).refine((b) => b.endsOn > b.startsOn, {
  path: ["endsOn"],
  message: "Must be after startsOn (the end is exclusive).",
});

export const roomActionSchema = z.discriminatedUnion("action", [
  stayAction("check_in"),
  stayAction("check_out"),
  stayAction("undo_check_in"),
  stayAction("undo_check_out"),
  z.strictObject({
    tenantId,
    action: z.literal("set_housekeeping"),
    unitId: id("unit"),
    housekeeping: z.enum(HOUSEKEEPING, { message: "Must be clean, dirty or inspected." }),
  }),
  blockAction,
  z.strictObject({ tenantId, action: z.literal("unblock"), blockId: id("block") }),
  z.strictObject({ tenantId: tenantId.optional(), action: z.literal("reconcile") }),
], {
  message:
    "Must be one of check_in, check_out, undo_check_in, undo_check_out, set_housekeeping, block, unblock, reconcile.",
});
export type RoomAction = z.infer<typeof roomActionSchema>;
export type OperatorAction = Exclude<RoomAction, { action: "reconcile" }>;

export interface ActionResult {
  action: OperatorAction["action"];
  tenantId: string;
  blockId?: string;
  changes: StatusChange[];
  units: Board["units"];
}

const refuse = (reasons: string[]) => new InvalidOperationError(`Refused: ${reasons.join(" ")}`, reasons);

interface Stay {
  id: string;
  reservation_id: string;
  unit_id: string;
  unit_name: string;
  external_booking_id: string;
  status: string;
  check_in_date: string;
  check_out_date: string;
  state: string;
}

/** Stays with their state at `now` by the same rule the database applies (sync.stay_state). */
function stays(
  tx: Tx,
  tenant: string,
  now: string,
  where: { reservationId?: string; unitId?: string | null; unitIds?: string[] },
) {
  return tx<Stay[]>`
    select ra.id, ra.reservation_id, ra.accommodation_unit_id as unit_id, u.name as unit_name, r.external_booking_id,
      r.status, r.check_in_date::text, r.check_out_date::text,
      sync.stay_state(r.status, r.removed_upstream_at is not null,
        sync.local_moment(r.check_in_date, coalesce(r.check_in_time, sync.default_check_in_time()), sync.tenant_zone(r.tenant_id)),
        sync.local_moment(r.check_out_date, coalesce(r.check_out_time, sync.default_check_out_time()), sync.tenant_zone(r.tenant_id)),
        ra.checked_in_at, ra.checked_out_at, ra.hold_arrival, ra.hold_departure, ${now}::timestamptz) as state
    from public.reservation_accommodations ra
    join public.guest_reservations r on r.id = ra.reservation_id
    join hotels.accommodation_units u on u.id = ra.accommodation_unit_id
    where ra.tenant_id = ${tenant}
      ${where.reservationId ? tx`and ra.reservation_id = ${where.reservationId}` : tx``}
      ${where.unitId ? tx`and ra.accommodation_unit_id = ${where.unitId}` : tx``}
      ${where.unitIds ? tx`and ra.accommodation_unit_id = any (${where.unitIds}::uuid[])` : tx``}
    order by r.check_in_date, r.external_booking_id, ra.position`;
}

async function requireUnit(tx: Tx, tenant: string, unitId: string): Promise<{ id: string; name: string }> {
  const [u] =
    await tx`select id, name from hotels.accommodation_units where tenant_id = ${tenant} and id = ${unitId}`;
  if (!u) throw new NotFoundError("UNIT_NOT_FOUND", `No unit ${unitId} in this tenant.`, { unitId });
  return { id: u.id, name: u.name };
}

async function activeBlocks(tx: Tx, unitIds: string[], today: string) {
  return await tx`
    select b.accommodation_unit_id as unit_id, b.kind, b.reason, b.ends_on::text from hotels.unit_blocks b
    where b.accommodation_unit_id = any (${unitIds}::uuid[]) and b.ended_at is null
      and b.starts_on <= ${today}::date and ${today}::date < b.ends_on`;
}

const label = (s: Stay) => `Booking ${s.external_booking_id} on ${s.unit_name}`;

/** Validates and applies one action. `now` is injectable for tests (the database clock otherwise). */
export async function performAction(
  sql: Sql,
  a: OperatorAction,
  actor: string,
  now: Date | null = null,
): Promise<ActionResult> {
  return await sql.begin(async (tx) => {
    await tx`select set_config('sync.room_status_cause', 'operator', true),
                    set_config('sync.room_status_now', ${now ? now.toISOString() : ""}, true)`;
    const [t] = await tx`select tenant_id from public.tenant_registry where tenant_id = ${a.tenantId}`;
    if (!t) throw new TenantNotFoundError(a.tenantId);
    await tx`select sync.lock_room_status(${a.tenantId})`;
    const [clock] = await tx`
      select sync.room_status_now() as now, (sync.room_status_now() at time zone sync.tenant_zone(${a.tenantId}))::date::text as today`;
    const at: string = (clock.now as Date).toISOString();
    const today: string = clock.today;
    const reasons: string[] = [];
    let unitIds: string[] = [];
    let reservationIds: string[] | null = null;
    let blockId: string | undefined;
    let forced = false;
    let unitId: string | null = null;
    let reservationId: string | null = null;

    /** Our own stay writes are recomputed once below, not by the statement triggers. */
    const writeStays = async (write: () => Promise<unknown>) => {
      await tx`select set_config('sync.room_status_refreshing', 'on', true)`;
      await write();
      await tx`select set_config('sync.room_status_refreshing', 'off', true)`;
    };

    switch (a.action) {
      case "check_in":
      case "check_out":
      case "undo_check_in":
      case "undo_check_out": {
        reservationId = a.reservationId;
        const [r] =
          await tx`select id from public.guest_reservations where tenant_id = ${a.tenantId} and id = ${a.reservationId}`;
        if (!r) {
          throw new NotFoundError(
            "RESERVATION_NOT_FOUND",
            `No reservation ${a.reservationId} in this tenant.`,
            {
              reservationId: a.reservationId,
            },
          );
        }
        if (a.unitId) unitId = (await requireUnit(tx, a.tenantId, a.unitId)).id;
        const mine = await stays(tx, a.tenantId, at, {
          reservationId: a.reservationId,
          unitId: a.unitId ?? null,
        });
        if (mine.length === 0) {
          throw refuse([`The reservation has no stay${a.unitId ? " on that unit" : ""}.`]);
        }
        unitIds = [...new Set(mine.map((s) => s.unit_id))];
        reservationIds = [a.reservationId];
        const onUnits = await stays(tx, a.tenantId, at, { unitIds });
        const othersInHouse = (s: Stay) =>
          onUnits.filter((o) =>
            o.unit_id === s.unit_id && o.reservation_id !== s.reservation_id && o.state === "in_house"
          );
        if (a.action === "check_in") {
          const blocks = await activeBlocks(tx, unitIds, today);
          for (const s of mine) {
            if (s.state === "cancelled") {
              reasons.push(`${label(s)} is cancelled (status ${s.status}): it cannot be checked in.`);
            } else if (s.state === "in_house") reasons.push(`${label(s)} is already in house.`);
            else if (s.state === "departed") reasons.push(`${label(s)} has already checked out.`);
            if (s.state !== "cancelled" && s.check_in_date !== today) {
              reasons.push(`${label(s)} arrives on ${s.check_in_date}, not today (${today}).`);
            }
            for (const b of blocks.filter((b) => b.unit_id === s.unit_id)) {
              reasons.push(
                `${s.unit_name} is blocked (${b.kind.replaceAll("_", " ")} until ${b.ends_on}: ${b.reason}).`,
              );
            }
            for (const o of othersInHouse(s)) {
              reasons.push(`${s.unit_name} has another guest in house (booking ${o.external_booking_id}).`);
            }
          }
          if (reasons.length) throw refuse(reasons);
          await writeStays(() =>
            tx`update public.reservation_accommodations
               set checked_in_at = ${at}, checked_in_by = ${actor}, hold_arrival = false, checked_out_at = null,
                   checked_out_by = null
               where id = any (${mine.map((s) => s.id)}::uuid[])`
          );
        } else if (a.action === "check_out" || a.action === "undo_check_in") {
          for (const s of mine) {
            if (s.state !== "in_house") {
              reasons.push(`${label(s)} is not in house (it is ${s.state.replace("_", " ")}).`);
            }
          }
          if (reasons.length) throw refuse(reasons);
          await writeStays(() =>
            a.action === "check_out"
              ? tx`update public.reservation_accommodations set checked_out_at = ${at}, checked_out_by = ${actor}
                   where id = any (${mine.map((s) => s.id)}::uuid[])`
              : tx`update public.reservation_accommodations set checked_in_at = null, checked_in_by = null, hold_arrival = true
                   where id = any (${mine.map((s) => s.id)}::uuid[])`
          );
        } else {
          for (const s of mine) {
            if (s.state !== "departed") {
              reasons.push(`${label(s)} has not checked out (it is ${s.state.replace("_", " ")}).`);
            }
            for (const o of othersInHouse(s)) {
              reasons.push(`${s.unit_name} has another guest in house (booking ${o.external_booking_id}).`);
            }
          }
          if (reasons.length) throw refuse(reasons);
          await writeStays(() =>
            tx`update public.reservation_accommodations set checked_out_at = null, checked_out_by = null, hold_departure = true
               where id = any (${mine.map((s) => s.id)}::uuid[])`
          );
        }
        break;
      }
      case "set_housekeeping": {
        unitId = (await requireUnit(tx, a.tenantId, a.unitId)).id;
        unitIds = [unitId];
        await tx`update hotels.accommodation_units set housekeeping = ${a.housekeeping}, housekeeping_at = ${at}
                 where id = ${unitId}`;
        break;
      }
      case "block": {
        const unit = await requireUnit(tx, a.tenantId, a.unitId);
        unitId = unit.id;
        unitIds = [unit.id];
        const onUnit = await stays(tx, a.tenantId, at, { unitIds });
        const covers = (d: string) => a.startsOn <= d && d < a.endsOn;
        for (const s of onUnit) {
          if (
            s.state === "in_house" &&
            a.startsOn < (s.check_out_date > today ? s.check_out_date : addDay(today)) && a.endsOn > today
          ) {
            reasons.push(
              `${label(s)} is in house until ${s.check_out_date}: the block would cover an occupied room.`,
            );
          }
          if (s.state === "expected" && s.check_in_date === today && covers(today)) {
            reasons.push(`${label(s)} arrives today: the block would cover today's arrival.`);
          }
        }
        if (reasons.length && !a.force) {
          throw refuse([...reasons, "Send force: true to block anyway (recorded)."]);
        }
        forced = reasons.length > 0;
        const [b] = await tx`
          insert into hotels.unit_blocks (tenant_id, accommodation_unit_id, kind, starts_on, ends_on, reason, created_by, forced)
          values (${a.tenantId}, ${unit.id}, ${a.kind}, ${a.startsOn}, ${a.endsOn}, ${a.reason}, ${actor}, ${forced})
          returning id`;
        blockId = b.id;
        break;
      }
      case "unblock": {
        const [b] = await tx`
          select id, accommodation_unit_id, ended_at from hotels.unit_blocks where tenant_id = ${a.tenantId} and id = ${a.blockId}`;
        if (!b) {
          throw new NotFoundError("BLOCK_NOT_FOUND", `No block ${a.blockId} in this tenant.`, {
            blockId: a.blockId,
          });
        }
        if (b.ended_at) throw refuse([`The block already ended at ${(b.ended_at as Date).toISOString()}.`]);
        blockId = b.id;
        unitId = b.accommodation_unit_id;
        unitIds = [b.accommodation_unit_id];
        await tx`update hotels.unit_blocks set ended_at = ${at}, ended_by = ${actor} where id = ${b.id}`;
        break;
      }
    }

    const changes = await tx`
      select unit_id, from_status, to_status, reason, cause
      from sync.refresh_room_status(${a.tenantId}, ${unitIds}::uuid[], ${reservationIds}::uuid[], ${at}::timestamptz, 'operator')`;
    const { tenantId: _t, action: _a, ...details } = a as Record<string, unknown>;
    await tx`
      insert into hotels.room_status_actions (tenant_id, action, accommodation_unit_id, reservation_id, block_id, details, forced, actor, created_at)
      values (${a.tenantId}, ${a.action}, ${unitId}, ${reservationId}, ${blockId ?? null}, ${
      tx.json(details as never)
    }, ${forced},
              ${actor}, ${at})`;
    const board = await roomBoard(tx, a.tenantId, unitIds);
    return {
      action: a.action,
      tenantId: a.tenantId,
      ...(blockId ? { blockId } : {}),
      changes: changes.map((c) => ({
        tenantId: a.tenantId,
        unitId: c.unit_id,
        from: c.from_status,
        to: c.to_status,
        reason: c.reason,
        cause: c.cause,
      })),
      // The units the action touched, removed ones included: the action was on them.
      units: [...board.units, ...board.removedUnits],
    };
  }) as ActionResult;
}

function addDay(d: string): string {
  const t = new Date(`${d}T00:00:00Z`);
  t.setUTCDate(t.getUTCDate() + 1);
  return t.toISOString().slice(0, 10);
}
