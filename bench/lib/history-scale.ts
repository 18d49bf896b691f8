// Figure 10: a page's database cost against a hotel's history. One hotel of UNITS units grows to
// each size of stays (bulk SQL, with the statement triggers on, as a sync would leave it); at each
// size the stays around today (the expensive case: every one of them moves a unit's status) are
// written through the sync's own page writer as MotoPress sends them, then written again with a
// change in every booking, then removed, REPS times. Two layouts: stays back to back (years of
// history, the newest ending about three months ahead) and overlapping (an overbooking iCal feed:
// about 1.2 active stays per unit and night). Then the reconciliation of the hotel at its largest.
import type { Sql } from "../../supabase/functions/_shared/db.ts";
import type { Page } from "../../supabase/functions/_shared/motopress/client.ts";
import { JsonItem } from "../../supabase/functions/_shared/motopress/json-items.ts";
import { claimRun, finishRun } from "../../supabase/functions/_shared/runs/coordinator.ts";
import { leaseOf } from "../../supabase/functions/_shared/runs/types.ts";
import { bookingsPageCommitter } from "./page-writer.ts";
import { median, type Metric, percentile } from "./report.ts";

export type Layout = "back-to-back" | "overlapping";
export const LAYOUTS: Layout[] = ["back-to-back", "overlapping"];

/** Days either side of today whose stays are written by pages (and left free by the history). */
const WINDOW_DAYS = 7;
/** History stays end this many days ahead at most (future bookings). */
const AHEAD_DAYS = 90;
/** Every FIFTH stay has a twin on the same unit and nights in the overlapping layout (1.2 a night). */
const TWIN_EVERY = 5;
const TYPE_ID = 10;
const FIRST_UNIT_ID = 1000;

const ymd = (d: Date) => d.toISOString().slice(0, 10);
const addDays = (day: string, n: number) => ymd(new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000));

export interface ScaleHotel {
  tenantId: string;
  layout: Layout;
  units: number;
  /** History stays so far (the window's excluded). */
  stays: number;
  /** Past stays per unit so far (history grows into the past). */
  pastPerUnit: number;
  today: string;
}

/** A tenant with one type and `units` units, and the future stays every size shares. */
export async function createScaleHotel(
  sql: Sql,
  tenantId: string,
  layout: Layout,
  units: number,
  today: string,
): Promise<ScaleHotel> {
  await sql`insert into hotels.accommodation_types (tenant_id, motopress_type_id, name)
            values (${tenantId}, ${TYPE_ID}, 'Double')`;
  await sql`insert into hotels.accommodation_units (tenant_id, accommodation_type_id, motopress_unit_id, motopress_type_id, name)
            select t.tenant_id, t.id, ${FIRST_UNIT_ID} + u, ${TYPE_ID}, 'Room ' || u
            from hotels.accommodation_types t, generate_series(0, ${
    units - 1
  }) u where t.tenant_id = ${tenantId}`;
  const hotel: ScaleHotel = { tenantId, layout, units, stays: 0, pastPerUnit: 0, today };
  // Future stays: three nights each, back to back from the window's end to AHEAD_DAYS.
  const perUnit = Math.floor((AHEAD_DAYS - WINDOW_DAYS) / 3);
  await insertStays(sql, hotel, `${addDays(today, WINDOW_DAYS)}`, 3, 0, perUnit, 1);
  hotel.stays += perUnit * units * (layout === "overlapping" ? 1.2 : 1);
  return hotel;
}

/**
 * Stays k = from..to-1 on every unit, three nights each, `dir` 1 forwards from `origin` or -1
 * backwards (stay k ends where stay k-1 starts). Ids: a range of their own per call.
 */
async function insertStays(
  sql: Sql,
  hotel: ScaleHotel,
  origin: string,
  nights: number,
  from: number,
  to: number,
  dir: 1 | -1,
) {
  const twins = hotel.layout === "overlapping";
  const base = await nextBookingId(sql, hotel.tenantId);
  // One statement per slice of 20,000 stays: as a sync's pages, each fires the triggers once.
  const perUnit = to - from;
  const slice = Math.max(1, Math.floor(20_000 / hotel.units));
  for (let k0 = from; k0 < to; k0 += slice) {
    const k1 = Math.min(to, k0 + slice);
    await sql`
      with s as (
        select u.id as unit_id, u.motopress_unit_id as mu, k, twin,
          case when ${dir}::int = 1 then ${origin}::date + k * ${nights}::int
               else ${origin}::date - (k + 1) * ${nights}::int end as check_in
        from hotels.accommodation_units u, generate_series(${k0}::int, ${k1 - 1}::int) k,
             generate_series(0, case when ${twins} then 1 else 0 end) twin
        where u.tenant_id = ${hotel.tenantId} and (twin = 0 or k % ${TWIN_EVERY} = 0)
      ),
      r as (
        insert into public.guest_reservations (tenant_id, external_booking_id, accommodation_unit_id, status, kind,
          check_in_date, check_out_date, guest_name)
        select ${hotel.tenantId}, (${base}::bigint + ((s.mu - ${FIRST_UNIT_ID}) * ${perUnit}::bigint + (s.k - ${from})) * 2 + s.twin)::text,
          s.unit_id, case when s.k % 10 = 3 then 'cancelled' else 'confirmed' end,
          case when s.twin = 1 then 'imported' else 'direct' end, s.check_in, s.check_in + ${nights}::int,
          'Guest ' || s.k
        from s
        returning id, accommodation_unit_id
      )
      insert into public.reservation_accommodations (tenant_id, reservation_id, position, accommodation_unit_id,
        motopress_type_id, motopress_accommodation_id)
      select ${hotel.tenantId}, r.id, 0, r.accommodation_unit_id, ${TYPE_ID}, u.motopress_unit_id
      from r join hotels.accommodation_units u on u.id = r.accommodation_unit_id`;
  }
}

async function nextBookingId(sql: Sql, tenantId: string): Promise<number> {
  const [{ n }] = await sql`
    select coalesce(max(external_booking_id::bigint), 0)::bigint + 1 as n
    from public.guest_reservations where tenant_id = ${tenantId}`;
  return Number(n) + 1_000_000; // far from the window pages' ids
}

/** Grows the hotel's history into the past until it holds `size` stays. */
export async function growTo(sql: Sql, hotel: ScaleHotel, size: number) {
  const perStay = hotel.layout === "overlapping" ? 1.2 : 1;
  const pastPerUnit = Math.ceil((size - hotel.stays) / perStay / hotel.units) + hotel.pastPerUnit;
  if (pastPerUnit <= hotel.pastPerUnit) return;
  await insertStays(sql, hotel, addDays(hotel.today, -WINDOW_DAYS), 3, hotel.pastPerUnit, pastPerUnit, -1);
  hotel.stays += (pastPerUnit - hotel.pastPerUnit) * hotel.units * perStay;
  hotel.pastPerUnit = pastPerUnit;
}

/** A booking as MotoPress's REST API renders it (tests/fixtures/motopress). */
function bookingJson(id: number, unit: number, checkIn: string, checkOut: string, lastName: string) {
  const nights = Math.round((Date.parse(checkOut) - Date.parse(checkIn)) / 86_400_000);
  return {
    id,
    status: "confirmed",
    date_created: "2026-01-10T09:41:27",
    date_created_utc: "2026-01-10T08:41:27",
    key: `booking_${id}_682c4c87a1f3e5.90417263`,
    check_in_date: checkIn,
    check_out_date: checkOut,
    check_in_time: "15:00:00",
    check_out_time: "11:00:00",
    customer: {
      first_name: "Ana",
      last_name: lastName,
      email: `guest${id}@example.org`,
      phone: "+34 600 000 000",
      country: "ES",
      state: "",
      city: "Madrid",
      zip: "28001",
      address1: "",
    },
    reserved_accommodations: [{
      accommodation: unit,
      accommodation_type: TYPE_ID,
      rate: 0,
      adults: 2,
      children: 0,
      guest_name: "",
      services: [],
      accommodation_price_per_days: Array.from({ length: nights }, (_, i) => ({
        date: addDays(checkIn, i),
        price: 90.0,
      })),
      fees: [],
      taxes: { accommodation: [], services: [], fees: [] },
      discount: 0.0,
    }],
    coupon_code: "",
    currency: "EUR",
    total_price: 90.0 * nights,
    checkout_id: "0f4a8d2c-93b1-4e57-8a0e-5c7b2d9e1f34",
    payments: [],
    imported: false,
    ical_description: "",
    ical_prodid: "",
    ical_summary: "",
    note: "",
    internal_notes: [],
  };
}

/**
 * The stays around today as MotoPress pages of 100, ids from `firstId`: on every unit, back to
 * back over the window (1 to 3 nights), with twins in the overlapping layout. `variant` changes
 * every booking (a re-sync with a change on every page).
 */
export function windowPages(hotel: ScaleHotel, firstId: number, variant: string): Page<JsonItem>[] {
  const items: JsonItem[] = [];
  let id = firstId;
  for (let u = 0; u < hotel.units; u++) {
    let day = addDays(hotel.today, -WINDOW_DAYS);
    const end = addDays(hotel.today, WINDOW_DAYS);
    for (let k = 0; day < end; k++) {
      const nights = 1 + ((k + u) % 3);
      const out = addDays(day, nights) > end ? end : addDays(day, nights);
      items.push(JsonItem.of(bookingJson(id++, FIRST_UNIT_ID + u, day, out, `Guest${variant}`)));
      if (hotel.layout === "overlapping" && k % TWIN_EVERY === 0) {
        items.push(JsonItem.of(bookingJson(id++, FIRST_UNIT_ID + u, day, out, `Twin${variant}`)));
      }
      day = out;
    }
  }
  const pages: Page<JsonItem>[] = [];
  const totalPages = Math.ceil(items.length / 100);
  for (let p = 0; p < totalPages; p++) {
    pages.push({
      page: p + 1,
      totalPages,
      total: items.length,
      items: items.slice(p * 100, p * 100 + 100),
      itemErrors: [],
      unstable: false,
    });
  }
  return pages;
}

/** Each page written by the sync's page writer in a run of its own: the time of each page. */
async function writePages(sql: Sql, tenantId: string, pages: Page<JsonItem>[]): Promise<number[]> {
  const claim = await claimRun(sql, {
    tenantId,
    source: "motopress-bookings",
    trigger: "manual",
    leaseSeconds: 3600,
  });
  if (claim.outcome !== "claimed") {
    throw new Error(`could not claim a run for the scale bench: ${claim.outcome}`);
  }
  const lease = leaseOf(claim.run);
  const commit = bookingsPageCommitter(lease, tenantId);
  const times: number[] = [];
  for (const page of pages) {
    const t0 = performance.now();
    const counters = await commit(sql, page);
    times.push(performance.now() - t0);
    if ((counters.inserted ?? 0) + (counters.updated ?? 0) !== page.items.length) {
      throw new Error(`the scale bench's page ${page.page} wrote ${JSON.stringify(counters)}`);
    }
  }
  await finishRun(sql, lease, { status: "completed", stats: {} });
  return times;
}

export interface SizeResult {
  layout: Layout;
  size: number;
  /** Times of every window page written, inserts and updates together, over all repetitions. */
  pageMs: number[];
  /** Each repetition's median page (insert and update pages together). */
  repMedians: number[];
  medianMs: number;
  p99Ms: number;
  maxMs: number;
  /** Units whose stored status the rule does not explain afterwards (must be 0). */
  unexplained: number;
}

/** REPS times: the window written (inserted), written again changed (updated), then removed. */
export async function measureWindow(sql: Sql, hotel: ScaleHotel, reps: number): Promise<SizeResult> {
  const pageMs: number[] = [];
  const repMedians: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const firstId = 1 + rep * 10_000;
    const times = [
      ...await writePages(sql, hotel.tenantId, windowPages(hotel, firstId, "")),
      ...await writePages(sql, hotel.tenantId, windowPages(hotel, firstId, `-${rep}`)),
    ];
    pageMs.push(...times);
    repMedians.push(median(times));
    await sql`delete from public.guest_reservations
              where tenant_id = ${hotel.tenantId} and external_booking_id::bigint < 1000000`;
  }
  const [{ unexplained }] =
    await sql`select count(*)::int as unexplained from sync.room_status_unexplained(${hotel.tenantId})`;
  const sorted = [...pageMs].sort((a, b) => a - b);
  return {
    layout: hotel.layout,
    size: Math.round(hotel.stays),
    pageMs,
    repMedians,
    medianMs: median(sorted),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1],
    unexplained,
  };
}

/** The reconciliation of the hotel (window written, so today's stays are there): each run's ms. */
export async function measureReconcile(sql: Sql, hotel: ScaleHotel, reps: number): Promise<number[]> {
  await writePages(sql, hotel.tenantId, windowPages(hotel, 1, ""));
  const times: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const t0 = performance.now();
    await sql`select sync.reconcile_room_status(${hotel.tenantId}::uuid, now())`;
    times.push(performance.now() - t0);
  }
  await sql`delete from public.guest_reservations
            where tenant_id = ${hotel.tenantId} and external_booking_id::bigint < 1000000`;
  return times;
}

export const todayUtc = () => ymd(new Date());

export interface ScaleOptions {
  sizes: number[];
  units: number;
  reps: number;
  /** A tenant id for each layout's hotel. */
  newTenant: (layout: Layout) => Promise<string>;
  log: (line: string) => void;
}

const spread = (xs: number[]) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;

/**
 * Figure 10 in full: for each layout, the window's page times at each size, the growth from the
 * smallest size to the largest (the median of the repetitions' ratios, with their spread), and
 * the reconciliation at the largest. Targets: p99 <= 250 ms at the largest size, growth <= 1.5x,
 * reconciliation <= 2 s.
 */
export async function historyScale(
  sql: Sql,
  o: ScaleOptions,
): Promise<{ metrics: Metric[]; details: unknown }> {
  const metrics: Metric[] = [];
  const details: Record<string, unknown> = {};
  const largest = o.sizes[o.sizes.length - 1];
  for (const layout of LAYOUTS) {
    const hotel = await createScaleHotel(sql, await o.newTenant(layout), layout, o.units, todayUtc());
    const results: SizeResult[] = [];
    for (const size of o.sizes) {
      await growTo(sql, hotel, size);
      const r = await measureWindow(sql, hotel, o.reps);
      if (r.unexplained !== 0) {
        throw new Error(`${layout}: ${r.unexplained} units unexplained after the window`);
      }
      results.push(r);
      o.log(
        `   ${layout}, ${r.size} stays: ${r.pageMs.length} pages, median ${r.medianMs.toFixed(1)} ms, p99 ${
          r.p99Ms.toFixed(1)
        } ms, max ${r.maxMs.toFixed(1)} ms`,
      );
    }
    const reconcile = await measureReconcile(sql, hotel, o.reps);
    const first = results[0], last = results[results.length - 1];
    const growth = last.repMedians.map((m, i) => m / first.repMedians[i]);
    o.log(
      `   ${layout}: growth ${median(growth).toFixed(2)}x (${
        spread(growth)
      }); reconciliation of ${o.units} units ${median(reconcile).toFixed(0)} ms (${spread(reconcile)})`,
    );
    details[layout] = {
      sizes: results.map(({ pageMs: _pages, ...r }) => r),
      growth,
      reconcileMs: reconcile,
    };
    const label = `10. ${layout}`;
    metrics.push(
      {
        id: `scale.${layout}.p99Ms`,
        label: `${label}: page statement p99 at ${largest} stays (median ${last.medianMs.toFixed(0)}, max ${
          last.maxMs.toFixed(0)
        } ms)`,
        value: last.p99Ms,
        unit: "ms",
        target: { dir: "max", value: 250 },
      },
      {
        id: `scale.${layout}.growth`,
        label: `${label}: median page, ${o.sizes[0]} -> ${largest} stays (spread ${spread(growth)})`,
        value: median(growth),
        unit: "x",
        target: { dir: "max", value: 1.5 },
      },
      {
        id: `scale.${layout}.reconcileS`,
        label: `${label}: reconciliation of ${o.units} units at ${largest} stays (spread ${
          spread(reconcile)
        } ms)`,
        value: median(reconcile) / 1000,
        unit: "s",
        target: { dir: "max", value: 2 },
      },
    );
  }
  return { metrics, details };
}
