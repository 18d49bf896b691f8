// npm run bench:scale [-- --sizes 10000,50000,100000,200000] [--units 200] [--reps 3]: figure 10 of
// `npm run bench` alone (bench/lib/history-scale.ts), on a database of its own.
import { createDatabaseFrom, startDatabase } from "../scripts/stack/lib/database.ts";
import { migrate } from "../scripts/stack/lib/migrate.ts";
import { createSql } from "../supabase/functions/_shared/db.ts";
import { historyScale } from "./lib/history-scale.ts";
import { table } from "./lib/report.ts";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const server = await startDatabase({ dataDir: ".bench/scale-db", fresh: true });
const name = `scale_${Date.now()}`;
await createDatabaseFrom(server.url, name);
await migrate(server.urlFor(name));
const sql = createSql(server.urlFor(name), { max: 4 });
try {
  const { metrics } = await historyScale(sql, {
    sizes: arg("sizes", "10000,50000,100000,200000").split(",").map(Number),
    units: Number(arg("units", "200")),
    reps: Number(arg("reps", "3")),
    newTenant: async (layout) =>
      (await sql`insert into public.tenant_registry (slug, name, timezone)
        values (${"scale-" + layout}, ${"Scale " + layout}, 'Europe/Madrid') returning tenant_id`)[0]
        .tenant_id,
    log: console.log,
  });
  console.log(`\n${table(metrics)}`);
} finally {
  await sql.end();
  await server.stop();
}
