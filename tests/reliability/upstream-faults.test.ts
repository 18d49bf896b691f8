// Reliability harness 2: upstream faults (5xx bursts, timeouts, HTML pages, broken JSON, resets,
// 429s, a list shifting between pages) at random pages of many syncs. Every run either completes
// with the database equal to the source, or fails with UPSTREAM_ERROR and a message naming the
// problem; a failed run never removes or loses earlier data.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../helpers/stack.ts";
import { type SimSite, startSite, tenantForSite, waitForRun } from "../helpers/sim.ts";
import { expectDatabaseMatches } from "../helpers/compare.ts";
import { testCerts } from "../helpers/tls.ts";
import { Simulator } from "../../tools/motopress-simulator/simulator.ts";
import { startSimulatorServer } from "../../tools/motopress-simulator/node-server.ts";
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
    // Deno trusts the test CA, as a hosted function trusts a site's public certificate.
    DENO_CERT: testCerts().caFile,
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

async function dataCounts(t: string = tenant) {
  const [row] = await stack.db.sql`
    select (select count(*) from public.guest_reservations where tenant_id = ${t})::int as reservations,
           (select count(*) from public.reservation_accommodations ra join public.guest_reservations r on r.id = ra.reservation_id
             where r.tenant_id = ${t})::int as rooms,
           (select count(*) from hotels.accommodation_units where tenant_id = ${t})::int as units,
           (select count(*) from hotels.accommodation_types where tenant_id = ${t})::int as types`;
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
  html200:
    /^MotoPress: The site answered 200 with an HTML page \("Just a moment\.\.\."\) from Cloudflare's bot protection/,
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
        // A challenge page is the same page when asked again: the first one fails the run.
        const mustFail = deterministic && (fault === "html200" ? times >= 1 : times > MAX_RETRIES);
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
        countFaults(site.sim);
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

/** Faults injected so far by every site of this file (the simulator counts them per kind). */
let faultsInjected = 0;
const countFaults = (sim: Simulator) => {
  faultsInjected += Object.values(sim.stats().faultsInjected).reduce((a, b) => a + b, 0);
  sim.resetStats();
};

describe("answers that are the same when asked again (real Deno, a real TLS site)", () => {
  it(
    "each fails the run at once with UPSTREAM_ERROR and the message that names its cause; earlier data stays",
    async () => {
      const certs = testCerts();
      const sim = new Simulator({
        seed: 95,
        language: "es",
        hotel: { today: "2026-11-22", types: 4, unitsPerType: 3, bookings: 150, hiddenUnits: 0 },
      });
      const server = await startSimulatorServer({ simulator: sim, tls: certs.trusted });
      const untrusted = await startSimulatorServer({ simulator: sim, tls: certs.selfSigned });
      const wrongName = await startSimulatorServer({ simulator: sim, tls: certs.wrongName });
      const plain = await startSimulatorServer({ simulator: sim });
      try {
        const t = await tenantForSite(stack.db.sql, { sim, server, close: async () => {} });
        const run = async (source: string) => {
          const res = await caller.call(source, { tenantId: t });
          expect(res.status, JSON.stringify(res.body)).toBe(202);
          return await waitForRun(stack.db.sql, res.body.runId, 60_000);
        };
        const syncBoth = async () => {
          for (const source of ["motopress-accommodations", "motopress-bookings"]) {
            const r = await run(source);
            expect(r.status, r.error_message).toBe("completed");
          }
        };
        await syncBoth();
        await expectDatabaseMatches(stack.db.sql, t, sim);
        const creds = sim.credentials;
        // Registered anew for the URL (an operator entering them for it): their origin moves with it.
        const setCreds = (v: { url?: string; key?: string; secret?: string }) =>
          stack.db.sql`
        update private.motopress_credentials set site_url = ${v.url ?? server.url}, consumer_key = ${
            v.key ?? creds.consumerKey
          },
          consumer_secret = ${v.secret ?? creds.consumerSecret}, secret_origin = ${
            new URL(v.url ?? server.url).origin
          } where tenant_id = ${t}`;
        const cases: {
          name: string;
          set: () => Promise<unknown> | void;
          message: RegExp;
          maxRequests: number;
        }[] = [
          {
            name: "unknown or revoked key",
            set: () => setCreds({ key: `ck_${"0".repeat(40)}` }),
            message: /^MotoPress: The site does not accept this consumer key .*unknown, was revoked/,
            maxRequests: 2,
          },
          {
            name: "wrong secret",
            set: () => setCreds({ secret: `cs_${"0".repeat(40)}` }),
            message: /^MotoPress: Wrong consumer secret/,
            maxRequests: 1,
          },
          {
            name: "plain http",
            set: () => {
              sim.setSite({ https: false });
              return setCreds({ url: plain.url });
            },
            message:
              /^MotoPress: The site URL is plain http:\/\/, and MotoPress accepts API keys only over HTTPS/,
            maxRequests: 2,
          },
          {
            name: "plain permalinks",
            set: () => sim.setSite({ permalinks: "plain" }),
            message: /^MotoPress: The site uses WordPress's Plain permalinks/,
            maxRequests: 0,
          },
          {
            name: "REST API disabled",
            set: () => sim.setSite({ restDisabled: true }),
            message: /^MotoPress: The WordPress REST API is switched off/,
            maxRequests: 1,
          },
          {
            name: "Wordfence",
            set: () => sim.setFaults({ wordfence403Next: 1 }),
            message: /^MotoPress: The site answered 403 .*Wordfence/,
            maxRequests: 1,
          },
          {
            name: "Cloudflare challenge",
            set: () => sim.setFaults({ html200Next: 1 }),
            message: /^MotoPress: The site answered 200 .*Cloudflare/,
            maxRequests: 1,
          },
          {
            name: "self-signed certificate",
            set: () => setCreds({ url: untrusted.url }),
            message: /^MotoPress: The site's HTTPS certificate is not signed by a trusted authority/,
            maxRequests: 0,
          },
          {
            name: "certificate for another name",
            set: () => setCreds({ url: wrongName.url }),
            message:
              /^MotoPress: The site's HTTPS certificate was issued for another host name than 127\.0\.0\.1/,
            maxRequests: 0,
          },
        ];
        const tally: Record<string, string> = {};
        for (const c of cases) {
          for (const source of ["motopress-accommodations", "motopress-bookings"]) {
            mutateBookings(rngFor(`det-${c.name}`), sim, 3);
            const before = await dataCounts(t);
            const removedBefore = await removedCount(stack.db.sql, t);
            sim.resetStats();
            await c.set();
            const r = await run(source);
            const apiRequests = sim.stats().apiRequests;
            countFaults(sim);
            sim.resetFaults();
            sim.setSite({ https: true, permalinks: "pretty", restDisabled: false });
            await setCreds({});
            const label = `${c.name} (${source})`;
            expect([r.status, r.error_code], `${label}: ${r.error_message}`).toEqual([
              "failed",
              "UPSTREAM_ERROR",
            ]);
            expect(r.error_message, label).toMatch(c.message);
            expect(r.error_message, label).not.toContain(creds.consumerSecret);
            // The fewest requests that tell the case apart: no retries of a deterministic answer.
            expect(apiRequests, `${label}: API requests`).toBeLessThanOrEqual(c.maxRequests);
            expect(await dataCounts(t), `${label}: earlier data intact`).toEqual(before);
            expect(await removedCount(stack.db.sql, t), `${label}: nothing marked removed`).toBe(
              removedBefore,
            );
            tally[label] = `${r.error_message!.slice(11, 70)}…`;
          }
          await syncBoth();
          await expectDatabaseMatches(stack.db.sql, t, sim);
        }
        console.log(
          `deterministic answers: ${
            Object.keys(tally).length
          } runs failed as expected, each then re-synced equal to the source`,
        );
      } finally {
        await Promise.all([server, untrusted, wrongName, plain].map((s) => s.close()));
      }
    },
    budgetMs(120_000),
  );
});

describe("a storm of transient faults", () => {
  // Its own functions, with the default-like retry budget a hosted project runs with, so that most
  // pages survive a fault or two: many faults per run, on a site of 20 pages.
  let stormStack: Stack;
  beforeAll(async () => {
    stormStack = await startStack({ MOTOPRESS_TIMEOUT_MS: String(TIMEOUT_MS), MOTOPRESS_MAX_RETRIES: "6" });
  });
  afterAll(async () => {
    await stormStack?.close();
  });

  it(
    `every run completes equal to the source or fails with a transient fault's message (${
      SCALE >= 5 ? "≥ 1,000 faults in this file" : "a few hundred faults"
    })`,
    async () => {
      const rng = rngFor("fault-storm");
      const storm = await startSite({ seed: 97, hotel: { bookings: 2_000, hiddenUnits: 0 } });
      const stormCaller = recordingCaller(stormStack);
      const TRANSIENT =
        /^MotoPress: (The site answered 50\d|Network error talking to the site|The site answered \d{3} with (malformed or truncated JSON|a malformed or truncated body)|The site's host, CDN or firewall answered 429)/;
      const counts = { runs: 0, completed: 0, failed: 0 };
      const sql = stormStack.db.sql;
      try {
        const t = await tenantForSite(sql, storm);
        const run = async (source: string) => {
          const res = await stormCaller.call(source, { tenantId: t });
          expect(res.status, JSON.stringify(res.body)).toBe(202);
          return await waitForRun(sql, res.body.runId, 120_000);
        };
        const counts4 = async () => {
          const [row] = await sql`
          select (select count(*) from public.guest_reservations where tenant_id = ${t})::int as reservations,
                 (select count(*) from hotels.accommodation_units where tenant_id = ${t})::int as units`;
          return { ...row };
        };
        for (const source of ["motopress-accommodations", "motopress-bookings"]) {
          expect(
            (await run(source)).status,
          ).toBe("completed");
        }
        countFaults(storm.sim);
        const start = faultsInjected;
        // At the large scale enough runs that the file injects well over 1,000 faults in all.
        const iterations = SCALE >= 5 ? scaled(16) : 5;
        for (let i = 0; i < iterations; i++) {
          const source = i % 4 === 3 ? "motopress-accommodations" : "motopress-bookings";
          if (source === "motopress-bookings") mutateBookings(rng, storm.sim, intBetween(rng, 2, 6));
          else mutateUnits(rng, storm.sim, 2);
          storm.sim.setFaults({
            seed: intBetween(rng, 1, 1e9),
            htmlErrorPage: rng() < 0.5,
            rules: [
              { kind: "rateLimit429", rate: 0.3 + rng() * 0.2, retryAfterSeconds: 0 },
              { kind: "http5xx", rate: 0.04, status: pick(rng, [500, 502, 503, 504]) },
              { kind: "truncatedJson", rate: 0.03 },
              { kind: "connectionReset", rate: 0.03 },
            ],
          });
          const before = await counts4();
          const removedBefore = await removedCount(sql, t);
          const r = await run(source);
          storm.sim.resetFaults();
          countFaults(storm.sim);
          counts.runs++;
          const label = `storm #${i} ${source}`;
          if (r.status === "completed") {
            counts.completed++;
            await expectDatabaseMatches(sql, t, storm.sim);
          } else {
            counts.failed++;
            expect([r.status, r.error_code], `${label}: ${r.error_message}`).toEqual([
              "failed",
              "UPSTREAM_ERROR",
            ]);
            expect(r.error_message, label).toMatch(TRANSIENT);
            expect(await removedCount(sql, t), `${label}: a failed run marked rows removed`).toBe(
              removedBefore,
            );
            const after = await counts4();
            expect(after.reservations >= before.reservations && after.units >= before.units, label).toBe(
              true,
            );
            const clean = await run(source);
            expect(clean.status, `${label}: clean re-sync ${clean.error_message}`).toBe("completed");
            await expectDatabaseMatches(sql, t, storm.sim);
          }
        }
        expectNoServerErrors(stormCaller.calls);
        const injected = faultsInjected - start;
        console.log(
          `fault storm: runs=${counts.runs} completed=${counts.completed} failed=${counts.failed} faults injected=${injected}; faults injected in this file: ${faultsInjected}`,
        );
        expect(counts.completed).toBeGreaterThan(0);
        expect(SCALE >= 5 ? faultsInjected : injected).toBeGreaterThanOrEqual(SCALE >= 5 ? 1_000 : 25);
      } finally {
        await storm.close();
      }
    },
    budgetMs(150_000),
  );
});
