// The checkpoints runPhases commits with its pages (issue 13's kill test found a page counted twice):
// a run killed right after a phase's last page committed resumes from what that page recorded, and
// must neither read a page past the end of the list nor count one. Real MotoPress client, simulator.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMotoPressClient, type Page } from "../../supabase/functions/_shared/motopress/client.ts";
import type { JobContext } from "../../supabase/functions/_shared/runs/executor.ts";
import {
  type Checkpoint,
  type Counters,
  type Phase,
  runPhases,
} from "../../supabase/functions/_shared/sync/paged.ts";
import { Simulator } from "../../tools/motopress-simulator/simulator.ts";
import { type SimulatorServer, startSimulatorServer } from "../../tools/motopress-simulator/node-server.ts";

class Killed extends Error {}
class RemovalsReached extends Error {}

let server: SimulatorServer;
const requested: string[] = [];
beforeAll(async () => {
  // 250 bookings: pages 1-3 of 100; 3 types: one page.
  const sim = new Simulator({ seed: 5, hotel: { bookings: 250, types: 3, today: "2026-12-02" } });
  server = await startSimulatorServer({ port: 0, simulator: sim });
  const client = createMotoPressClient({
    siteUrl: server.url,
    ...sim.credentials,
    fetch: (input, init) => {
      const url = new URL(String(input instanceof Request ? input.url : input));
      requested.push(`${url.pathname.split("/").pop()} ${url.searchParams.get("page")}`);
      return fetch(input, init);
    },
  });
  phases = [
    phaseOf(
      "accommodation_type",
      (start, total) => client.accommodationTypes({ startPage: start, knownTotal: total }),
    ),
    phaseOf("booking", (start, total) => client.bookings({ startPage: start, knownTotal: total })),
  ];
});
afterAll(() => server?.close());

interface Committed {
  checkpoint: Checkpoint;
  stats: { counters: Counters };
}
// deno-lint-ignore no-explicit-any
let phases: Phase<any>[];
let committed: Committed[] = [];

/** A self-committing phase whose "database" is `committed`: what each page's last statement recorded. */
function phaseOf<T>(
  entity: Phase<T>["entity"],
  pages: (start: number, total: number | null) => AsyncIterable<Page<T>>,
): Phase<T> {
  return {
    stage: entity,
    entity,
    pages,
    fetchOne: () => Promise.resolve(null),
    selfCommitting: true,
    write: (_sql, page, commit) => {
      const counts = { items: page.items.length };
      committed.push({ checkpoint: commit!.checkpoint, stats: commit!.stats(counts) });
      return Promise.resolve(counts);
    },
  };
}

/** One invocation, killed after `killAfter` pages committed, resumed from the last commit. */
async function invocation(from: Committed | null, killAfter = Infinity): Promise<unknown> {
  let steps = 0;
  const ctx = {
    // Only the removal check queries the database here: reaching it ends the invocation.
    sql: () => Promise.reject(new RemovalsReached()),
    run: { id: "r", tenantId: "t", checkpoint: from?.checkpoint ?? null, stats: from?.stats ?? null },
    lease: { runId: "r", fencingToken: 1 },
    signal: new AbortController().signal,
    hopSignal: new AbortController().signal,
    deadline: Infinity,
    budgetSpent: () => false,
    stepDone: () => {
      if (++steps >= killAfter) throw new Killed();
    },
    reportStats: () => {},
    log: () => {},
  } as unknown as JobContext;
  return await runPhases(ctx, phases).catch((err) => err);
}

describe("checkpoints across kills", () => {
  it("a run killed after the last bookings page resumes at the removal check, reading nothing more", async () => {
    committed = [];
    requested.length = 0;
    expect(await invocation(null, 4)).toBeInstanceOf(Killed);
    requested.length = 0;
    expect(await invocation(committed.at(-1)!)).toBeInstanceOf(RemovalsReached);
    expect(requested).toEqual([]);
    expect(committed.at(-1)!.stats.counters).toMatchObject({
      "accommodation_type.pages": 1,
      "accommodation_type.items": 3,
      "booking.pages": 3,
      "booking.items": 250,
    });
    expect(committed.map((c) => c.checkpoint)).toMatchObject([
      { phase: 1, page: 1, total: null },
      { phase: 1, page: 2, total: 250 },
      { phase: 1, page: 3, total: 250 },
      { phase: 2, page: 1, total: null },
    ]);
  });

  it("a run killed after a phase's last page resumes at the next phase's first page", async () => {
    committed = [];
    requested.length = 0;
    expect(await invocation(null, 1)).toBeInstanceOf(Killed);
    requested.length = 0;
    expect(await invocation(committed[0])).toBeInstanceOf(RemovalsReached);
    expect(requested.filter((r) => r.startsWith("accommodation_types"))).toEqual([]);
    expect(committed.at(-1)!.stats.counters).toMatchObject({
      "accommodation_type.pages": 1,
      "booking.pages": 3,
    });
    expect(committed[0].checkpoint).toMatchObject({ phase: 1, page: 1, total: null });
  });
});
