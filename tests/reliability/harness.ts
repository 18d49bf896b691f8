// Shared pieces of the reliability harness (issue 6, part 2): a seeded PRNG, the scale knob, a
// caller that remembers every status it saw, random upstream edits, and the counts the harness
// reports (rows lost, duplicates, writes after a cancel).
//
// Scale: RELIABILITY_SCALE=large multiplies iterations and sizes by 5; a number (e.g. 3) multiplies
// by that. RELIABILITY_SEED changes every seed (default fixed, so a failure reproduces).
import { expect } from "vitest";
import type { Sql } from "../../supabase/functions/_shared/db.ts";
import type { Simulator } from "../../tools/motopress-simulator/simulator.ts";
import { createRng, intBetween, pick } from "../../tools/motopress-simulator/prng.ts";
import type { Stack } from "../helpers/stack.ts";
import { expectedState } from "../helpers/compare.ts";

export { intBetween, pick };

export const SCALE: number = (() => {
  const raw = process.env.RELIABILITY_SCALE;
  if (!raw) return 1;
  if (raw === "large") return 5;
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? n : 1;
})();

export const BASE_SEED = Number(process.env.RELIABILITY_SEED ?? 20261122) >>> 0;

/** Iterations at this scale (at least 1). */
export const scaled = (n: number) => Math.max(1, Math.round(n * SCALE));

/** A PRNG per harness: the same seed gives the same crash points, faults and inputs. */
export function rngFor(name: string): () => number {
  let h = BASE_SEED;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return createRng(h);
}

/** How long a test may take: generous at small scale, multiplied with the scale. */
export const budgetMs = (smallMs: number) => Math.round(smallMs * Math.max(1, SCALE));

export interface CallRecord {
  fn: string;
  method: string;
  status: number;
  body: unknown;
  input: string;
}

/** Wraps stack.call and remembers every answer, so the harness can prove no caller saw a 5xx. */
export function recordingCaller(stack: Stack) {
  const calls: CallRecord[] = [];
  const call: Stack["call"] = async (fn, body, init = {}) => {
    const res = await stack.call(fn, body, init);
    calls.push({
      fn,
      method: init.method ?? "POST",
      status: res.status,
      body: res.body,
      input: init.rawBody ?? JSON.stringify(body) ?? "",
    });
    return res;
  };
  return {
    call,
    calls,
    serverErrors: () => calls.filter((c) => c.status >= 500),
  };
}

// ---------------------------------------------------------------- upstream edits

let farDay = 0;
/** A stay far beyond the generated calendar, so added bookings never overlap anything. */
function farStay(): { checkIn: string; checkOut: string } {
  const start = Date.parse("2029-01-01T00:00:00Z") + (farDay += 3) * 86_400_000;
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return { checkIn: iso(start), checkOut: iso(start + 2 * 86_400_000) };
}

const listedUnits = (sim: Simulator) =>
  sim.listUnits().filter((u) => !u.hidden && ["publish", "private", "pending"].includes(u.status));

/** Random booking edits upstream: adds, guest and date changes, cancellations, hard deletions. */
export function mutateBookings(rng: () => number, sim: Simulator, edits: number): string[] {
  const done: string[] = [];
  const units = listedUnits(sim);
  for (let i = 0; i < edits; i++) {
    const ids = sim.bookingIds();
    const id = pick(rng, ids);
    const what = pick(rng, ["add", "add", "guest", "dates", "cancel", "delete"] as const);
    if (what === "add" || ids.length < 10) {
      const rooms = rng() < 0.2 ? [pick(rng, units).id, pick(rng, units).id] : [pick(rng, units).id];
      const added = sim.addBooking({
        ...farStay(),
        rooms: [...new Set(rooms)],
        customer: { first_name: "Rel", last_name: `Guest ${intBetween(rng, 1, 1e6)}` },
      });
      done.push(`add ${added}`);
    } else if (what === "guest" && sim.getBooking(id)!.ical === null) {
      sim.modifyBooking(id, {
        customer: { first_name: "Changed", last_name: `Name ${intBetween(rng, 1, 1e6)}` },
      });
      done.push(`guest ${id}`);
    } else if (what === "dates" && sim.getBooking(id)!.ical === null) {
      sim.modifyBooking(id, farStay());
      done.push(`dates ${id}`);
    } else if (what === "cancel" && sim.getBooking(id)!.status !== "cancelled") {
      sim.cancelBooking(id);
      done.push(`cancel ${id}`);
    } else if (what === "delete") {
      sim.deleteBooking(id);
      done.push(`delete ${id}`);
    }
  }
  return done;
}

/** Random unit edits upstream: renames and new units (never a unit a booking depends on vanishing). */
export function mutateUnits(rng: () => number, sim: Simulator, edits: number): string[] {
  const done: string[] = [];
  for (let i = 0; i < edits; i++) {
    if (rng() < 0.5) {
      const u = pick(rng, listedUnits(sim));
      sim.modifyUnit(u.id, { title: `Room ${intBetween(rng, 1, 1e6)} &amp; View` });
      done.push(`rename ${u.id}`);
    } else {
      const t = pick(rng, sim.listTypes());
      done.push(`addUnit ${sim.addUnit({ typeId: t.id })}`);
    }
  }
  return done;
}

// ---------------------------------------------------------------- counts

/** Rows the source has that the database lacks (live rows only), rows the database has in excess, and duplicates. */
export async function diffAgainstSource(sql: Sql, tenantId: string, sim: Simulator) {
  const expected = new Set(expectedState(sim).reservations.map((r) => r.id));
  const rows = await sql`
    select external_booking_id as id, count(*)::int as n,
           bool_and(removed_upstream_at is null) as live
    from public.guest_reservations where tenant_id = ${tenantId} group by 1`;
  const live = new Set(rows.filter((r) => r.live).map((r) => r.id as string));
  const lost = [...expected].filter((id) => !live.has(id));
  const extra = [...live].filter((id) => !expected.has(id));
  const duplicates = rows.filter((r) => r.n > 1).map((r) => r.id as string);
  return { lost, extra, duplicates };
}

export async function reservationCount(sql: Sql, tenantId: string): Promise<number> {
  const [{ n }] =
    await sql`select count(*)::int as n from public.guest_reservations where tenant_id = ${tenantId}`;
  return n;
}

export async function removedCount(sql: Sql, tenantId: string): Promise<number> {
  const [{ n }] = await sql`
    select ((select count(*) from public.guest_reservations where tenant_id = ${tenantId} and removed_upstream_at is not null)
          + (select count(*) from hotels.accommodation_units where tenant_id = ${tenantId} and removed_upstream_at is not null))::int as n`;
  return n;
}

/** Data rows of the tenant created or updated after `at` (a cancel's completed_at). */
export async function writesAfter(sql: Sql, tenantId: string, at: Date): Promise<number> {
  const [{ n }] = await sql`
    select ((select count(*) from public.guest_reservations
              where tenant_id = ${tenantId} and (created_at > ${at} or updated_at > ${at}))
          + (select count(*) from public.reservation_accommodations ra
              join public.guest_reservations r on r.id = ra.reservation_id
              where r.tenant_id = ${tenantId} and (ra.created_at > ${at} or ra.updated_at > ${at}))
          + (select count(*) from hotels.accommodation_units
              where tenant_id = ${tenantId} and (created_at > ${at} or updated_at > ${at}))
          + (select count(*) from hotels.accommodation_types
              where tenant_id = ${tenantId} and (created_at > ${at} or updated_at > ${at})))::int as n`;
  return n;
}

export async function activeRuns(sql: Sql, tenantId?: string) {
  return tenantId
    ? await sql`select * from public.sync_runs where tenant_id = ${tenantId} and status in ('running', 'continuing') order by started_at`
    : await sql`select * from public.sync_runs where status in ('running', 'continuing') order by started_at`;
}

/** Polls the server's log until a line about `runId` matches; returns as soon as it does. */
export async function waitForLogLine(
  stack: Stack,
  runId: string,
  pattern: RegExp,
  timeoutMs = 20_000,
): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const line = stack.server.output().split("\n").find((l) => l.includes(runId) && pattern.test(l));
    if (line) return line;
    if (Date.now() > until) {
      throw new Error(`no log line for ${runId} matching ${pattern} in ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function expectNoServerErrors(calls: CallRecord[]) {
  const bad = calls.filter((c) => c.status >= 500);
  expect(
    bad.map((c) =>
      `${c.method} ${c.fn} ${c.input.slice(0, 200)} -> ${c.status} ${JSON.stringify(c.body).slice(0, 300)}`
    ),
  ).toEqual([]);
}

/**
 * The simulator's latency sleep with a gate: once armed, the next response the site is about to
 * send waits until released, and `reached` resolves when it does. A harness then knows, from an
 * event and not a clock, that a run is between two pages and what it will do next.
 */
export function gatedSleep() {
  let armed: { reached: () => void; released: Promise<void> } | null = null;
  return {
    sleep: async (ms: number) => {
      const gate = armed;
      armed = null;
      if (gate) {
        gate.reached();
        await gate.released;
      }
      await sleep(ms);
    },
    arm(): { reached: Promise<void>; release: () => void } {
      let reached!: () => void;
      let release!: () => void;
      const reachedP = new Promise<void>((r) => (reached = r));
      armed = { reached, released: new Promise<void>((r) => (release = r)) };
      return { reached: reachedP, release };
    },
  };
}
