import { Simulator } from "./simulator.ts";
import { startSimulatorServer } from "./node-server.ts";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const simulator = new Simulator({
  seed: Number(arg("seed", "1")),
  hotel: {
    bookings: Number(arg("bookings", "1000")),
    types: Number(arg("types", "4")),
    unitsPerType: Number(arg("units-per-type", "3")),
    ...(process.argv.includes("--today") ? { today: arg("today", "") } : {}),
  },
});
const server = await startSimulatorServer({
  port: Number(arg("port", "8089")),
  host: arg("host", "127.0.0.1"),
  simulator,
});
const summary = simulator.summary();
console.log(`MotoPress simulator listening on ${server.url}`);
console.log(`  site URL:         ${server.url}   (REST base ${server.url}/wp-json/mphb/v1)`);
console.log(`  consumer key:     ${simulator.credentials.consumerKey}`);
console.log(`  consumer secret:  ${simulator.credentials.consumerSecret}`);
console.log(
  `  hotel:            ${summary.types} types, ${summary.units} units (hidden: ${
    summary.hiddenUnitIds.join(", ") || "none"
  }), ${summary.bookings} bookings, today ${summary.today}`,
);
console.log(`  control API:      POST ${server.url}/__control/<method> (stats, setFaults, addBooking, ...)`);
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
