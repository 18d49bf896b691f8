// What a deploy bundles: each function's own deno.json, and nothing imported from outside
// supabase/functions.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const functionsDir = path.join(root, "supabase/functions");
const FUNCTIONS = ["motopress-accommodations", "motopress-bookings", "sync-command-center", "room-status"];
/** Packages function code may import, each through the per-function import maps. */
const PACKAGES = ["postgres", "zod", "entities", "@supabase/supabase-js/cors"];
/**
 * Node built-ins the hosted edge runtime provides with no import map entry (postgres.js runs on its
 * `node:net`; db.ts opens that socket itself to see a wedged pool connection, and takes
 * `setImmediate` from `node:timers`, which Deno does not give user code as a global).
 */
const NODE_BUILTINS = ["node:net", "node:timers"];
const IMPORT = /(?:import|export)[^"']*?from\s+["']([^"']+)["']/g;

/** The bare specifiers a function's code graph imports, following relative imports from index.ts. */
async function packagesUsedBy(entry: string): Promise<Set<string>> {
  const seen = new Set<string>();
  const used = new Set<string>();
  const visit = async (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of (await readFile(file, "utf8")).matchAll(IMPORT)) {
      if (m[1].startsWith(".")) await visit(path.resolve(path.dirname(file), m[1]));
      else if (!NODE_BUILTINS.includes(m[1])) used.add(m[1]);
    }
  };
  await visit(entry);
  return used;
}

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

  it("each function's import map names every package its code imports (a deploy resolves only those)", async () => {
    for (const fn of FUNCTIONS) {
      const map = JSON.parse(await readFile(path.join(functionsDir, fn, "deno.json"), "utf8")).imports;
      const used = await packagesUsedBy(path.join(functionsDir, fn, "index.ts"));
      // The walk must reach the title decoder, or this test would prove nothing.
      if (fn.startsWith("motopress-")) {
        expect([...used].sort(), fn).toEqual(expect.arrayContaining(["entities", "zod"]));
      }
      for (const name of used) expect(map[name], `${fn} imports ${name}`).toBeDefined();
    }
  });

  it("function code imports only relative files inside supabase/functions and the pinned packages", async () => {
    const bad: string[] = [];
    for await (const file of tsFiles(functionsDir)) {
      const text = await readFile(file, "utf8");
      for (const m of text.matchAll(IMPORT)) {
        const spec = m[1];
        if (spec.startsWith(".")) {
          const target = path.resolve(path.dirname(file), spec);
          if (!target.startsWith(functionsDir + path.sep)) {
            bad.push(`${path.relative(root, file)} -> ${spec}`);
          }
        } else if (!PACKAGES.includes(spec) && !NODE_BUILTINS.includes(spec)) {
          bad.push(`${path.relative(root, file)} -> ${spec}`);
        }
      }
      // Deno.* only in the platform adapter (_shared/platform/) and the entry points.
      const adapter = file.includes(`${path.sep}_shared${path.sep}platform${path.sep}`) ||
        file.endsWith(`${path.sep}index.ts`);
      if (/\bDeno\./.test(text) && !adapter) bad.push(`${path.relative(root, file)} uses Deno.*`);
    }
    expect(bad).toEqual([]);
  });
});
