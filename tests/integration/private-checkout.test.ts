// Set-up in a checkout other users cannot enter (a clone under root's mode-0700 home): as root the
// embedded PostgreSQL runs as the `postgres` user, so its binaries and data must move where that
// user can reach them. Only meaningful as root (CI runs as root); skipped otherwise.
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDatabase } from "../../scripts/stack/lib/database.ts";
import {
  binariesFor,
  isRoot,
  postgresUser,
  reachableBy,
  sharedRoot,
} from "../../scripts/stack/lib/pg-user.ts";

let privateDir: string;
beforeAll(async () => {
  privateDir = await mkdtemp(path.join(tmpdir(), "private-checkout-"));
  await chmod(privateDir, 0o700);
});
afterAll(async () => {
  await rm(privateDir, { recursive: true, force: true });
  await rm(sharedRoot(privateDir), { recursive: true, force: true });
});

describe.skipIf(!isRoot())("a checkout in a mode-0700 directory, as root", () => {
  it("the postgres user cannot enter it, so the data directory moves where it can", async () => {
    const user = await postgresUser({ create: true });
    expect(await reachableBy(user, privateDir)).toBe(false);
    const db = await startDatabase({ dataDir: path.join(privateDir, ".data", "db"), fresh: true });
    try {
      expect(db.dataDir.startsWith(path.join(privateDir, ".data"))).toBe(false);
      expect(await reachableBy(user, db.dataDir)).toBe(true);
      const sql = postgres(db.url, { max: 1, onnotice: () => {} });
      expect((await sql`select 1 as ok`)[0].ok).toBe(1);
      await sql.end();
    } finally {
      await db.stop();
      await rm(db.dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it("binaries it cannot reach are copied once, whole, to a place it can", async () => {
    const user = await postgresUser({ create: true });
    const native = path.join(privateDir, "native");
    await mkdir(path.join(native, "bin"), { recursive: true });
    await writeFile(path.join(native, "bin", "postgres"), "#!/bin/sh\n", { mode: 0o755 });
    const copy = await binariesFor(user, privateDir, native, "test-1");
    expect(copy).not.toBe(native);
    expect(await reachableBy(user, path.join(copy, "bin"))).toBe(true);
    expect((await stat(path.join(copy, "bin", "postgres"))).mode & 0o111).toBeTruthy();
    // The second call reuses the copy.
    expect(await binariesFor(user, privateDir, native, "test-1")).toBe(copy);
  });
});
