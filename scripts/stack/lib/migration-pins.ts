// The checksum of every committed migration (supabase/migrations.sum, `sha256sum` format). A migration
// runs once per database, so editing one after it was committed changes nothing where it already ran
// and something elsewhere; reusing a version makes `supabase db push` skip or reorder a file. The unit
// test `tests/unit/migrations-pinned.test.ts` compares the files with the pins; `npm run migrations:pin`
// pins new files and never re-pins an existing one.
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { projectRoot } from "./migrate.ts";

export const MIGRATIONS_DIR = path.join(projectRoot, "supabase/migrations");
export const PINS_FILE = path.join(projectRoot, "supabase/migrations.sum");
const FILE_NAME = /^(\d{14})_[a-z0-9_]+\.sql$/;

export interface Pin {
  file: string;
  sha256: string;
}

export async function migrationDigests(dir = MIGRATIONS_DIR): Promise<Pin[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  return Promise.all(files.map(async (file) => ({
    file,
    sha256: createHash("sha256").update(await readFile(path.join(dir, file))).digest("hex"),
  })));
}

export function parsePins(text: string): Pin[] {
  return text.split("\n").filter((line) => line.trim()).map((line) => {
    const match = line.match(/^([0-9a-f]{64}) {2}(\S+)$/);
    if (!match) throw new Error(`supabase/migrations.sum: not "<sha256>  <file>": ${line}`);
    return { sha256: match[1], file: match[2] };
  });
}

export const formatPins = (pins: Pin[]): string => pins.map((p) => `${p.sha256}  ${p.file}\n`).join("");

export async function readPins(file = PINS_FILE): Promise<Pin[]> {
  return parsePins(await readFile(file, "utf8"));
}

/** What is wrong, one sentence per problem that says what to do; empty when the files match their pins. */
export function pinProblems(pins: Pin[], files: Pin[]): string[] {
  const problems: string[] = [];
  const onDisk = new Map(files.map((f) => [f.file, f.sha256]));
  const pinned = new Set(pins.map((p) => p.file));
  for (const pin of pins) {
    const sha256 = onDisk.get(pin.file);
    if (sha256 === undefined) {
      problems.push(`${pin.file} is pinned but gone: a committed migration is never deleted or renamed.`);
    } else if (sha256 !== pin.sha256) {
      problems.push(
        `${pin.file} changed after it was committed: restore it and put the change in a new migration.`,
      );
    }
  }
  for (const file of files) {
    if (!FILE_NAME.test(file.file)) {
      problems.push(`${file.file}: a migration is named <14-digit version>_<snake_case name>.sql.`);
    }
    if (!pinned.has(file.file)) {
      problems.push(
        `${file.file} is not pinned: run \`npm run migrations:pin\` and commit supabase/migrations.sum.`,
      );
    }
  }
  const byVersion = new Map<string, string[]>();
  for (const file of new Set([...pinned, ...onDisk.keys()])) {
    const version = file.slice(0, 14);
    byVersion.set(version, [...(byVersion.get(version) ?? []), file]);
  }
  for (const [version, names] of byVersion) {
    if (names.length > 1) {
      problems.push(`version ${version} is used by ${names.join(" and ")}: give the new one its own.`);
    }
  }
  return problems;
}
