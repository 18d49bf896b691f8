// The gate that keeps function code within what the platform's Deno parses and types: each function,
// with its own deno.json (as a deploy bundles it), is type-checked by that Deno together with every
// shared module, so syntax it cannot parse or an API its types lack fails here, not at deploy.
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import {
  PLATFORM_DENO_BIN,
  PLATFORM_DENO_PACKAGE,
  platformDenoVersion,
} from "../edge-runtime/platform-deno.ts";
import { projectRoot } from "./migrate.ts";

const run = promisify(execFile);

export const platformDeno = path.join(projectRoot, PLATFORM_DENO_BIN);

/** The version package.json pins for the functions' Deno. */
export async function pinnedPlatformDeno(): Promise<string> {
  const pkg = JSON.parse(await readFile(path.join(projectRoot, "package.json"), "utf8"));
  return platformDenoVersion(pkg.devDependencies?.[PLATFORM_DENO_PACKAGE] ?? "");
}

/** What `deno --version` says its version is (`deno 2.1.4 (stable, …)` -> `2.1.4`). */
export async function denoVersion(deno: string): Promise<string> {
  const { stdout } = await run(deno, ["--version"]);
  return /^deno (\S+)/.exec(stdout)?.[1] ?? stdout;
}

async function tsFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(".ts")).map((e) =>
    path.join(e.parentPath, e.name)
  );
}

export interface FunctionCheck {
  fn: string;
  ok: boolean;
  /** Deno's own words when it failed. */
  output: string;
}

/**
 * `deno check` of each function under `functionsDir` (a folder with an index.ts), with that
 * function's deno.json, over its own files and every file in `_shared`. npm packages are resolved
 * as a deploy resolves them, from the registry into Deno's cache (the system's CA store first, for
 * networks that inspect TLS).
 */
export async function checkFunctions(functionsDir: string, deno = platformDeno): Promise<FunctionCheck[]> {
  const entries = await readdir(functionsDir, { withFileTypes: true });
  const fns = entries.filter((e) => e.isDirectory() && e.name !== "_shared").map((e) => e.name).sort();
  const shared = await tsFiles(path.join(functionsDir, "_shared")).catch(() => []);
  const results: FunctionCheck[] = [];
  for (const fn of fns) {
    const dir = path.join(functionsDir, fn);
    const args = [
      "check",
      "--no-lock",
      "--config",
      path.join(dir, "deno.json"),
      ...(await tsFiles(dir)),
      ...shared,
    ];
    try {
      await run(deno, args, {
        cwd: dir,
        env: { ...process.env, NO_COLOR: "1", RUST_BACKTRACE: "0", DENO_TLS_CA_STORE: "system,mozilla" },
        maxBuffer: 16 * 1024 * 1024,
      });
      results.push({ fn, ok: true, output: "" });
    } catch (err) {
      const { stdout = "", stderr = "", message } = err as {
        stdout?: string;
        stderr?: string;
        message: string;
      };
      const said = `${stdout}${stderr}`.split("\n").filter((l) => l && !/^(Download|Check) /.test(l));
      results.push({ fn, ok: false, output: said.join("\n") || message });
    }
  }
  return results;
}
