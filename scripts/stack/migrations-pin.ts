// `npm run migrations:pin`: adds the checksum of each new migration to supabase/migrations.sum. It never
// re-pins a file already listed, so an edit of a committed migration cannot be blessed by running it.
import { writeFile } from "node:fs/promises";
import { formatPins, migrationDigests, pinProblems, PINS_FILE, readPins } from "./lib/migration-pins.ts";

const pins = await readPins();
const pinned = new Set(pins.map((p) => p.file));
const added = (await migrationDigests()).filter((f) => !pinned.has(f.file));
const all = [...pins, ...added].sort((a, b) => a.file.localeCompare(b.file));
const problems = pinProblems(all, await migrationDigests());
if (problems.length > 0) {
  for (const problem of problems) console.error(`error: ${problem}`);
  process.exit(1);
}
await writeFile(PINS_FILE, formatPins(all));
console.log(
  added.length > 0 ? `pinned ${added.map((f) => f.file).join(", ")}` : "every migration is already pinned",
);
