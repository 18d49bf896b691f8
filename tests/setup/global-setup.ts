// Starts one PostgreSQL for the whole run (embedded, or DATABASE_URL) and migrates a template
// database with the real Supabase CLI; each test file then copies the template.
import { rm } from "node:fs/promises";
import type { TestProject } from "vitest/node";
import { createDatabaseFrom, startDatabase } from "../../scripts/stack/lib/database.ts";
import { migrate } from "../../scripts/stack/lib/migrate.ts";
import { SetupError } from "../../scripts/stack/lib/pg-user.ts";

export const TEMPLATE = "motopress_sync_template";

declare module "vitest" {
  export interface ProvidedContext {
    dbAdminUrl: string;
    dbTemplate: string;
  }
}

export default async function setup(project: TestProject) {
  // A data directory per run, so that two test runs on one machine never share a server.
  const dataDir = `.data/test-db-${process.pid}`;
  const db = await startDatabase({ dataDir, fresh: true }).catch((err) => {
    // Something the set-up cannot fix itself (no postgres user, no binaries): one line, no trace.
    if (err instanceof SetupError) {
      console.error(`error: ${err.message}`);
      process.exit(1);
    }
    throw err;
  });
  await createDatabaseFrom(db.url, TEMPLATE);
  await migrate(db.urlFor(TEMPLATE));
  project.provide("dbAdminUrl", db.url);
  project.provide("dbTemplate", TEMPLATE);
  return async () => {
    await db.stop();
    await rm(dataDir, { recursive: true, force: true });
    if (db.dataDir) await rm(db.dataDir, { recursive: true, force: true });
  };
}
