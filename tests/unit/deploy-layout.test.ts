// What a deploy bundles: each function's own deno.json, and nothing imported from outside
// supabase/functions.
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const functionsDir = path.join(root, "supabase/functions");
const FUNCTIONS = ["motopress-accommodations", "motopress-bookings", "sync-command-center"];

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* tsFiles(p);
    else if (entry.name.endsWith(".ts")) yield p;
  }
}

describe("deploy layout", () => {
  it("each function's import map pins what the root import map pins", async () => {
    const rootMap = JSON.parse(await readFile(path.join(root, "deno.json"), "utf8")).imports;
    for (const fn of FUNCTIONS) {
      const map = JSON.parse(await readFile(path.join(functionsDir, fn, "deno.json"), "utf8")).imports;
      for (const [name, spec] of Object.entries(map)) expect(spec, `${fn}: ${name}`).toBe(rootMap[name]);
    }
  });

  it("function code imports only relative files inside supabase/functions, postgres and zod", async () => {
    const bad: string[] = [];
    for await (const file of tsFiles(functionsDir)) {
      const text = await readFile(file, "utf8");
      for (const m of text.matchAll(/(?:import|export)[^"']*?from\s+["']([^"']+)["']/g)) {
        const spec = m[1];
        if (spec.startsWith(".")) {
          const target = path.resolve(path.dirname(file), spec);
          if (!target.startsWith(functionsDir + path.sep)) bad.push(`${path.relative(root, file)} -> ${spec}`);
        } else if (!["postgres", "zod"].includes(spec)) bad.push(`${path.relative(root, file)} -> ${spec}`);
      }
      // Deno.* only in the platform adapter (_shared/platform/) and the entry points.
      const adapter = file.includes(`${path.sep}_shared${path.sep}platform${path.sep}`) || file.endsWith(`${path.sep}index.ts`);
      if (/\bDeno\./.test(text) && !adapter) bad.push(`${path.relative(root, file)} uses Deno.*`);
    }
    expect(bad).toEqual([]);
  });
});
