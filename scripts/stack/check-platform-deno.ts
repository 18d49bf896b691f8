// Part of `npm run check` (through `npm run typecheck`): every function parses and type-checks, with
// its own deno.json, under the Deno the hosted edge runtime embeds (edge-runtime/platform-deno.ts).
import path from "node:path";
import { checkFunctions, denoVersion, pinnedPlatformDeno, platformDeno } from "./lib/platform-deno.ts";
import { projectRoot } from "./lib/migrate.ts";

const pinned = await pinnedPlatformDeno();
const actual = await denoVersion(platformDeno).catch(() => "missing");
if (actual !== pinned) {
  console.error(`error: the functions' Deno is ${actual}, package.json pins ${pinned}: run npm ci`);
  process.exit(1);
}
const results = await checkFunctions(path.join(projectRoot, "supabase/functions"));
for (const r of results) {
  if (r.ok) console.log(`platform Deno ${pinned}: ${r.fn} ok`);
  else console.error(`platform Deno ${pinned}: ${r.fn} FAILS\n${r.output}`);
}
if (results.length === 0 || results.some((r) => !r.ok)) process.exit(1);
