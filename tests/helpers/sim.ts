import { Simulator, type SimulatorOptions } from "../../tools/motopress-simulator/simulator.ts";
import { startSimulatorServer, type SimulatorServer } from "../../tools/motopress-simulator/node-server.ts";
import type { Sql } from "../../supabase/functions/_shared/db.ts";
import { insertTenant } from "./db.ts";

export interface SimSite {
  sim: Simulator;
  server: SimulatorServer;
  close(): Promise<void>;
}

export const TODAY = "2026-11-22";

export async function startSite(options: SimulatorOptions = {}): Promise<SimSite> {
  const sim = new Simulator({ seed: 7, ...options, hotel: { today: TODAY, types: 4, unitsPerType: 3, bookings: 120, ...(options.hotel ?? {}) } });
  const server = await startSimulatorServer({ simulator: sim });
  return { sim, server, close: () => server.close() };
}

export async function tenantForSite(sql: Sql, site: SimSite): Promise<string> {
  const tenantId = await insertTenant(sql);
  const { consumerKey, consumerSecret } = site.sim.credentials;
  await sql`insert into private.motopress_credentials (tenant_id, site_url, consumer_key, consumer_secret)
            values (${tenantId}, ${site.server.url}, ${consumerKey}, ${consumerSecret})`;
  return tenantId;
}

/** Polls the run until it ends (no fixed sleeps: returns as soon as it does). */
export async function waitForRun(sql: Sql, runId: string, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const [run] = await sql`select * from public.sync_runs where id = ${runId}`;
    if (run && ["completed", "failed", "cancelled"].includes(run.status)) return run;
    if (Date.now() > until) throw new Error(`run ${runId} still ${run?.status} after ${timeoutMs} ms: ${JSON.stringify(run)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function waitFor<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}
