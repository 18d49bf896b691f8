import { Simulator, type SimulatorOptions } from "../../tools/motopress-simulator/simulator.ts";
import { type SimulatorServer, startSimulatorServer } from "../../tools/motopress-simulator/node-server.ts";
import type { Row } from "postgres";
import type { Sql } from "../../supabase/functions/_shared/db.ts";
import { insertTenant } from "./db.ts";
import { waitFor } from "./wait.ts";

export { waitFor };

export interface SimSite {
  sim: Simulator;
  server: SimulatorServer;
  close(): Promise<void>;
}

export const TODAY = "2026-11-22";

export async function startSite(options: SimulatorOptions = {}): Promise<SimSite> {
  const sim = new Simulator({
    seed: 7,
    ...options,
    hotel: { today: TODAY, types: 4, unitsPerType: 3, bookings: 120, ...(options.hotel ?? {}) },
  });
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

/** Until the run ends (completed, failed or cancelled): its row. */
export async function waitForRun(sql: Sql, runId: string, timeoutMs = 60_000) {
  let last: Row | undefined;
  return await waitFor(async () => {
    [last] = await sql`select * from public.sync_runs where id = ${runId}`;
    return last && ["completed", "failed", "cancelled"].includes(last.status) ? last : null;
  }, { timeoutMs, intervalMs: 50 }).catch(() => {
    throw new Error(`run ${runId} still ${last?.status} after ${timeoutMs} ms: ${JSON.stringify(last)}`);
  });
}
