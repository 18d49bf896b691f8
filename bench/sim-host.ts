// Child process of the bench (node --import tsx bench/sim-host.ts '<json spec>'): serves simulated
// MotoPress sites, one HTTP server per site, so that the simulator's CPU is never charged to the
// process being measured (the Deno functions, or the bench's own Node client for the floor).
// Prints one line `READY <json>` with each site's URL and credentials, then serves until SIGTERM.
import { Simulator } from "../tools/motopress-simulator/simulator.ts";
import { type SimulatorServer, startSimulatorServer } from "../tools/motopress-simulator/node-server.ts";

export interface SiteSpec {
  name: string;
  seed: number;
  types: number;
  units: number;
  bookings: number;
  today: string;
}

export interface SiteInfo {
  name: string;
  url: string;
  consumerKey: string;
  consumerSecret: string;
  bookings: number;
  units: number;
  hiddenUnitIds: number[];
}

const specs = JSON.parse(process.argv[2] ?? "[]") as SiteSpec[];
const servers: SimulatorServer[] = [];
const sites: SiteInfo[] = [];
const t0 = performance.now();
for (const s of specs) {
  const sim = new Simulator({
    seed: s.seed,
    hotel: { seed: s.seed, types: s.types, units: s.units, bookings: s.bookings, today: s.today },
  });
  sim.setFaults({ latencyMsPerPage: 0 });
  const server = await startSimulatorServer({ simulator: sim });
  servers.push(server);
  const summary = sim.summary();
  sites.push({
    name: s.name,
    url: server.url,
    ...sim.credentials,
    bookings: summary.bookings,
    units: summary.units,
    hiddenUnitIds: summary.hiddenUnitIds,
  });
}
console.log(`READY ${JSON.stringify({ sites, generateMs: Math.round(performance.now() - t0) })}`);

const stop = async () => {
  await Promise.allSettled(servers.map((s) => s.close()));
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
