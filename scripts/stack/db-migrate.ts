// npm run db:migrate: applies supabase/migrations to SUPABASE_DB_URL (or DATABASE_URL).
import { migrate } from "./lib/migrate.ts";

const url = process.env.SUPABASE_DB_URL ?? process.env.DATABASE_URL;
if (!url) {
  console.error("Set SUPABASE_DB_URL (or DATABASE_URL) to the database to migrate.");
  process.exit(2);
}
await migrate(url, (line) => console.log(line));
