// supabase/functions/.env.example lists every variable the functions read, and git ignores the
// real env files.
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");

describe("supabase/functions/.env.example", () => {
  it("names every variable _shared/config.ts reads", async () => {
    const config = await readFile(path.join(root, "supabase/functions/_shared/config.ts"), "utf8");
    const read = new Set([
      ...[...config.matchAll(/env\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]),
      ...[...config.matchAll(/\(env, "([A-Z][A-Z0-9_]+)"/g)].map((m) => m[1]),
    ]);
    expect(read.size).toBeGreaterThan(10);
    const example = await readFile(path.join(root, "supabase/functions/.env.example"), "utf8");
    const listed = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    expect([...read].filter((name) => !listed.has(name))).toEqual([]);
  });

  it("git ignores the real env files but not the example", () => {
    const check = (p: string) => {
      try {
        execFileSync("git", ["check-ignore", "-q", "--no-index", p], { cwd: root });
        return true;
      } catch {
        return false;
      }
    };
    expect(check("supabase/functions/.env")).toBe(true);
    expect(check("supabase/functions/.env.local")).toBe(true);
    expect(check(".env")).toBe(true);
    expect(check("supabase/functions/.env.example")).toBe(false);
  });
});
