// Committed migrations never change and versions are never reused: every file in supabase/migrations
// matches its checksum in supabase/migrations.sum. A new migration is pinned with `npm run migrations:pin`.
import { describe, expect, it } from "vitest";
import { migrationDigests, pinProblems, readPins } from "../../scripts/stack/lib/migration-pins.ts";

const pin = (file: string, sha256 = "a".repeat(64)) => ({ file, sha256 });

describe("migration pins", () => {
  it("every migration in supabase/migrations matches its pinned checksum", async () => {
    expect(pinProblems(await readPins(), await migrationDigests())).toEqual([]);
  });

  it("an edited, deleted, unpinned or badly named migration and a reused version are each named", () => {
    const pins = [pin("20260101000100_a.sql"), pin("20260101000200_b.sql"), pin("20260101000300_c.sql")];
    const files = [
      pin("20260101000100_a.sql"),
      pin("20260101000200_b.sql", "b".repeat(64)),
      pin("20260101000100_again.sql"),
      pin("20260101000400_New.sql"),
    ];
    expect(pinProblems(pins, files)).toEqual([
      "20260101000200_b.sql changed after it was committed: restore it and put the change in a new migration.",
      "20260101000300_c.sql is pinned but gone: a committed migration is never deleted or renamed.",
      "20260101000100_again.sql is not pinned: run `npm run migrations:pin` and commit supabase/migrations.sum.",
      "20260101000400_New.sql: a migration is named <14-digit version>_<snake_case name>.sql.",
      "20260101000400_New.sql is not pinned: run `npm run migrations:pin` and commit supabase/migrations.sum.",
      "version 20260101000100 is used by 20260101000100_a.sql and 20260101000100_again.sql: give the new one its own.",
    ]);
  });
});
