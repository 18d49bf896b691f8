// The functions parse and type-check under the Deno the hosted edge runtime embeds, and the gate that
// says so fails on what that Deno lacks (canaries that the tooling's newer Deno accepts).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkFunctions,
  denoVersion,
  pinnedPlatformDeno,
  platformDeno,
} from "../../scripts/stack/lib/platform-deno.ts";
import { projectRoot } from "../../scripts/stack/lib/migrate.ts";
import { TOOLING_DENO_BIN } from "../../scripts/stack/edge-runtime/platform-deno.ts";

const toolingDeno = path.join(projectRoot, TOOLING_DENO_BIN);
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "platform-deno-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A functions folder with one function and one shared module holding `code`. */
async function functionsWith(name: string, code: string): Promise<string> {
  const dir = path.join(tmp, name);
  await mkdir(path.join(dir, "canary"), { recursive: true });
  await mkdir(path.join(dir, "_shared"), { recursive: true });
  await writeFile(path.join(dir, "canary/deno.json"), "{}\n");
  await writeFile(path.join(dir, "canary/index.ts"), 'import { value } from "../_shared/code.ts";\nvalue;\n');
  await writeFile(path.join(dir, "_shared/code.ts"), code);
  return dir;
}

describe("the platform's Deno", () => {
  it("is the version package.json pins", async () => {
    expect(await pinnedPlatformDeno()).toMatch(/^2\.1\.\d+$/);
    expect(await denoVersion(platformDeno)).toBe(await pinnedPlatformDeno());
  });

  it("parses and type-checks every function, each with its own deno.json", async () => {
    const results = await checkFunctions(path.join(projectRoot, "supabase/functions"));
    expect(results.map((r) => r.fn)).toEqual(expect.arrayContaining(["motopress-bookings", "room-status"]));
    for (const r of results) expect(r.output, r.fn).toBe("");
  });

  it.each([
    [
      "syntax it cannot parse",
      "const raw = { a: '1', b: '0' } as Record<string, unknown>;\n" +
      "export const value = raw.a as string >= (raw.b as string);\n",
      /Expression expected/,
    ],
    [
      "types it does not have",
      "export const value: Uint8Array<ArrayBuffer> = new Uint8Array(1);\n",
      /not generic/,
    ],
  ])("fails on %s, which the tooling's Deno accepts", async (name, code, said) => {
    const dir = await functionsWith(name.replace(/\W+/g, "-"), code);
    const [platform] = await checkFunctions(dir);
    expect(platform.ok).toBe(false);
    expect(platform.output).toMatch(said);
    const [tooling] = await checkFunctions(dir, toolingDeno);
    expect(tooling.output).toBe("");
  });
});
