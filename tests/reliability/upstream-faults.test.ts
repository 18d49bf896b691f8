// Reliability harness 2: upstream faults (5xx bursts, timeouts, HTML pages, broken JSON, resets,
// 429s, a list shifting between pages) at random pages of many syncs. Every run either completes
// with the database equal to the source, or fails with UPSTREAM_ERROR and a message naming the
// problem; a failed run never removes or loses earlier data.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../helpers/stack.ts";
import { type SimSite, startSite, tenantForSite, waitForRun } from "../helpers/sim.ts";
import { expectDatabaseMatches } from "../helpers/compare.ts";
import type { FaultConfig, FaultKind, Resource } from "../../tools/motopress-simulator/faults.ts";
import {
  budgetMs,
  diffAgainstSource,
  expectNoServerErrors,
  intBetween,
  mutateBookings,
  mutateUnits,
  pick,
  recordingCaller,
  removedCount,
  rngFor,
  SCALE,
  scaled,
} from "./harness.ts";

const MAX_RETRIES = 1;
const TIMEOUT_MS = 300;

let stack: Stack;
let site: SimSite;
let tenant: string;
let caller: ReturnType<typeof recordingCaller>;

beforeAll(async () => {
  stack = await startStack({
    MOTOPRESS_TIMEOUT_MS: String(TIMEOUT_MS),
    MOTOPRESS_MAX_RETRIES: String(MAX_RETRIES),
  });
  caller = recordingCaller(stack);
  // A hung request is held 3 s by the site; the client gives up after TIMEOUT_MS.
  site = await startSite({
    seed: 91,
    hangMs: 3_000,
    hotel: { bookings: Math.round(330 * Math.min(SCALE, 4)), hiddenUnits: 0 },
  });
  tenant = await tenantForSite(stack.db.sql, site);
  for (const source of ["motopress-accommodations", "motopress-bookings"]) {
    const run = await sync(source);
    expect(run.status, run.error_message).toBe("completed");
  }
  await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
});
afterAll(async () => {
  await site?.close();
  await stack?.close();
});

async function sync(source: string) {
  const res = await caller.call(source, { tenantId: tenant });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return await waitForRun(stack.db.sql, res.body.runId, 60_000);
}

async function dataCounts() {
  const [row] = await stack.db.sql`
    select (select count(*) from public.guest_reservations where tenant_id = ${tenant})::int as reservations,
           (select count(*) from public.reservation_accommodations ra join public.guest_reservations r on r.id = ra.reservation_id
             where r.tenant_id = ${tenant})::int as rooms,
           (select count(*) from hotels.accommodation_units where tenant_id = ${tenant})::int as units,
           (select count(*) from hotels.accommodation_types where tenant_id = ${tenant})::int as types`;
  return row as unknown as { reservations: number; rooms: number; units: number; types: number };
}

type Fault =
  | "5xx"
  | "html5xx"
  | "timeout"
  | "html200"
  | "truncatedJson"
  | "malformedJson"
  | "connectionReset"
  | "429"
  | "shift";

/** What the run's error message must say when this fault made it fail. */
const MESSAGE: Record<Exclude<Fault, "shift">, RegExp> = {
  "5xx": /^MotoPress: The site answered 50\d \(/,
  html5xx: /^MotoPress: The site answered 50\d with an HTML error page/,
  timeout: new RegExp(`^MotoPress: The site did not answer within ${TIMEOUT_MS} ms`),
  html200: /^MotoPress: The site answered 200 with an HTML page instead of JSON/,
  truncatedJson: /^MotoPress: The site answered 200 with malformed or truncated JSON/,
  malformedJson: /^MotoPress: The site answered 200 with malformed or truncated JSON/,
  connectionReset: /^MotoPress: Network error talking to the site/,
  "429": /^MotoPress: .*429 Too Many Requests/,
};

const KIND: Record<Exclude<Fault, "shift" | "html5xx" | "5xx" | "429">, FaultKind> = {
  timeout: "timeout",
  html200: "html200",
  truncatedJson: "truncatedJson",
  malformedJson: "malformedJson",
  connectionReset: "connectionReset",
};

function faultConfig(
  rng: () => number,
  fault: Fault,
  resource: Resource,
  page: number,
  times: number,
): FaultConfig {
  const seed = intBetween(rng, 1, 1e9);
  switch (fault) {
    case "5xx":
    case "html5xx":
      return {
        seed,
        htmlErrorPage: fault === "html5xx",
        failPages: [{ resource, page, times, status: pick(rng, [500, 502, 503, 504]) }],
      };
    case "429":
      return { seed, rules: [{ kind: "rateLimit429", resource, page, times, retryAfterSeconds: 0 }] };
    case "shift":
      return {
        seed,
        latencyMsPerPage: intBetween(rng, 0, 40),
        shiftBetweenPages: { deleteLowest: intBetween(rng, 0, 4), add: intBetween(rng, 0, 4), times },
      };
    default:
      return { seed, rules: [{ kind: KIND[fault], resource, page, times }] };
  }
}

describe("upstream fault harness", () => {
  it(
    "every run completes equal to the source or fails with UPSTREAM_ERROR, keeping earlier data",
    async () => {
      const rng = rngFor("upstream-faults");
      const FAULTS: Fault[] = [
        "5xx",
        "html5xx",
        "timeout",
        "html200",
        "truncatedJson",
        "malformedJson",
        "connectionReset",
        "429",
        "shift",
      ];
      const iterations = scaled(27);
      const counts = {
        runs: 0,
        completed: 0,
        failed: 0,
        recoveredFromFault: 0,
        lost: 0,
        duplicates: 0,
        countDecreased: 0,
        removedByFailedRun: 0,
      };
      const byFault: Record<string, { completed: number; failed: number }> = {};

      for (let i = 0; i < iterations; i++) {
        // Every fault once beyond the retries, once within them, then at random.
        const round = Math.floor(i / FAULTS.length);
        const fault = round < 2 ? FAULTS[i % FAULTS.length] : pick(rng, FAULTS);
        const source = fault === "shift" || rng() < 0.7 ? "motopress-bookings" : "motopress-accommodations";
        const totalPages = Math.ceil(site.sim.bookingIds().length / 100);
        const resource: Resource = source === "motopress-bookings"
          ? "bookings"
          : pick(rng, ["accommodation_types", "accommodations"] as const);
        const page = resource === "bookings" ? intBetween(rng, 1, totalPages) : 1;
        // More consecutive failures on one page than the client retries: the run must fail. (Not for a
        // reset: the runtime's HTTP stack may itself retry a request whose connection dropped early.)
        const times = fault === "shift"
          ? intBetween(rng, 1, 3)
          : round === 0
          ? MAX_RETRIES + 1
          : round === 1
          ? MAX_RETRIES
          : intBetween(rng, 1, MAX_RETRIES + 2);
        const deterministic = fault !== "shift" && fault !== "connectionReset";
        const mustFail = deterministic && times > MAX_RETRIES;
        const edits = source === "motopress-bookings"
          ? mutateBookings(rng, site.sim, intBetween(rng, 1, 5))
          : mutateUnits(rng, site.sim, intBetween(rng, 1, 2));
        if (source === "motopress-bookings") {
          // A deletion upstream that a failed (partial) run must never mark.
          const gone = pick(rng, site.sim.bookingIds());
          site.sim.deleteBooking(gone);
          edits.push(`delete ${gone}`);
        }
        const label = `#${i} ${source} fault ${fault} on ${resource} page ${page} x${times} [${
          edits.join(", ")
        }]`;

        const before = await dataCounts();
        const removedBefore = await removedCount(stack.db.sql, tenant);
        site.sim.setFaults(faultConfig(rng, fault, resource, page, times));
        const run = await sync(source);
        site.sim.resetFaults();
        counts.runs++;
        const tally = (byFault[fault] ??= { completed: 0, failed: 0 });
        const after = await dataCounts();
        const decreased = (Object.keys(before) as (keyof typeof before)[]).filter((k) =>
          after[k] < before[k]
        );
        counts.countDecreased += decreased.length;
        expect(
          decreased,
          `${label}: row counts never decrease (${JSON.stringify(before)} -> ${JSON.stringify(after)})`,
        ).toEqual([]);

        if (run.status === "completed") {
          counts.completed++;
          tally.completed++;
          if (fault !== "shift") counts.recoveredFromFault++;
          expect(mustFail, `${label}: completed although every attempt on the page failed`).toBe(false);
          const diff = await diffAgainstSource(stack.db.sql, tenant, site.sim);
          counts.lost += diff.lost.length;
          counts.duplicates += diff.duplicates.length;
          expect({ lost: diff.lost, duplicates: diff.duplicates }, label).toEqual({
            lost: [],
            duplicates: [],
          });
          // Bookings deleted after the scan had read them are gone only from the next pass on.
          if (fault === "shift") expect((await sync(source)).status, label).toBe("completed");
          try {
            await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
          } catch (err) {
            (err as Error).message = `${label}: ${(err as Error).message}`;
            throw err;
          }
        } else {
          counts.failed++;
          tally.failed++;
          expect(run.status, `${label}: ${run.error_code} ${run.error_message}`).toBe("failed");
          if (deterministic) {
            expect(mustFail, `${label}: failed although a retry would have succeeded: ${run.error_message}`)
              .toBe(true);
          }
          expect(run.error_code, `${label}: ${run.error_message}`).toBe("UPSTREAM_ERROR");
          if (fault !== "shift") expect(run.error_message, label).toMatch(MESSAGE[fault]);
          const removedAfter = await removedCount(stack.db.sql, tenant);
          counts.removedByFailedRun += removedAfter - removedBefore;
          expect(removedAfter, `${label}: a failed run marked rows removed`).toBe(removedBefore);
        }

        // Whatever happened, the next clean run brings the database back to the source.
        if (run.status !== "completed" || fault === "shift") {
          const clean = await sync(source);
          expect(clean.status, `${label}: clean re-sync ${clean.error_message}`).toBe("completed");
          await expectDatabaseMatches(stack.db.sql, tenant, site.sim);
        }
      }
      expectNoServerErrors(caller.calls);
      console.log(
        `upstream fault harness: runs=${counts.runs} completed=${counts.completed} (despite a fault: ${counts.recoveredFromFault}), ` +
          `failed with UPSTREAM_ERROR=${counts.failed}, rows lost=${counts.lost}, duplicates=${counts.duplicates}, ` +
          `row-count decreases=${counts.countDecreased}, removals by failed runs=${counts.removedByFailedRun}, 5xx=${caller.serverErrors().length}; ` +
          `by fault ${JSON.stringify(byFault)}`,
      );
      expect(counts.failed).toBeGreaterThan(0);
      expect(counts.recoveredFromFault).toBeGreaterThan(0);
    },
    budgetMs(150_000),
  );
});

describe("a list that shifts without changing its total", () => {
  it("deletions and additions that balance between pages never mark live bookings removed", async () => {
    const fresh = await startSite({ seed: 93, hotel: { bookings: 330, hiddenUnits: 0 } });
    try {
      const t = await tenantForSite(stack.db.sql, fresh);
      for (const source of ["motopress-accommodations", "motopress-bookings"]) {
        const res = await caller.call(source, { tenantId: t });
        expect((await waitForRun(stack.db.sql, res.body.runId)).status).toBe("completed");
      }
      // After each of the first pages, two of the oldest bookings are deleted and two new ones added:
      // X-WP-Total stays the same while every later booking moves two places towards page 1.
      fresh.sim.setFaults({ shiftBetweenPages: { deleteLowest: 2, add: 2, times: 2 } });
      const res = await caller.call("motopress-bookings", { tenantId: t });
      const run = await waitForRun(stack.db.sql, res.body.runId);
      fresh.sim.resetFaults();
      expect(run.status, run.error_message).toBe("completed");
      const wronglyRemoved = await stack.db.sql`
        select external_booking_id as id from public.guest_reservations
        where tenant_id = ${t} and removed_upstream_at is not null and external_booking_id = any(${
        fresh.sim.bookingIds().map(String)
      })`;
      const diff = await diffAgainstSource(stack.db.sql, t, fresh.sim);
      console.log(
        `balanced shift: listMovedDuringPass=${run.stats.listMovedDuringPass}, live bookings marked removed=${wronglyRemoved.length} ` +
          `${JSON.stringify(wronglyRemoved.map((r) => r.id))}, rows lost=${diff.lost.length}`,
      );
      expect(wronglyRemoved.map((r) => r.id), "bookings that exist upstream, marked removed_upstream_at")
        .toEqual([]);
      expect(diff.lost).toEqual([]);
    } finally {
      await fresh.close();
    }
  }, 60_000);
});
