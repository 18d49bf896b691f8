// npm run bench:scale -- [--sizes 10000,50000] [--units 200] [--reps 3]: figure 10 alone (bench/lib/history-scale.ts).
import { createDatabaseFrom, startDatabase } from "../scripts/stack/lib/database.ts";
import { migrate } from "../scripts/stack/lib/migrate.ts";
import { createSql } from "../supabase/functions/_shared/db.ts";
import {
  createScaleHotel,
  growTo,
  LAYOUTS,
  measureReconcile,
  measureWindow,
  todayUtc,
} from "./lib/history-scale.ts";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const sizes = arg("sizes", "10000,50000,100000,200000").split(",").map(Number);
const units = Number(arg("units", "200"));
const reps = Number(arg("reps", "3"));
const server = await startDatabase({ dataDir: ".bench/scale-db", fresh: true });
const name = `scale_${Date.now()}`;
await createDatabaseFrom(server.url, name);
await migrate(server.urlFor(name));
const sql = createSql(server.urlFor(name), { max: 4 });
for (const layout of LAYOUTS) {
  const [{ tenant_id }] = await sql`insert into public.tenant_registry (slug, name, timezone)
    values (${"scale-" + layout}, ${"Scale " + layout}, 'Europe/Madrid') returning tenant_id`;
  const hotel = await createScaleHotel(sql, tenant_id, layout, units, todayUtc());
  for (const size of sizes) {
    const t0 = performance.now();
    await growTo(sql, hotel, size);
    const grown = performance.now() - t0;
    const r = await measureWindow(sql, hotel, reps);
    console.log(
      `${layout} ${r.size} stays (grown in ${(grown / 1000).toFixed(1)} s): pages ${r.pageMs.length} median ${
        r.medianMs.toFixed(1)
      } p99 ${r.p99Ms.toFixed(1)} max ${r.maxMs.toFixed(1)} ms; unexplained ${r.unexplained}`,
    );
  }
  const rec = await measureReconcile(sql, hotel, reps);
  console.log(
    `${layout} reconcile ${units} units at ${Math.round(hotel.stays)}: ${
      rec.map((t) => t.toFixed(0)).join(", ")
    } ms`,
  );
}
await sql.end();
await server.stop();
