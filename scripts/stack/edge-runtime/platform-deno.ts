// The Deno that the hosted edge runtime embeds: every function worker runs under it here, and the
// gate (scripts/stack/check-platform-deno.ts) parses and type-checks every function with it.
//
// Its version is one line, package.json's `"deno-platform": "npm:deno@<version>"` (the `deno` npm
// package under another name, beside the newer `deno` that runs the tooling). The fact comes from
// supabase/edge-runtime's own source: `deno/Cargo.toml` (its copy of Deno's CLI crate) says
// `version = "2.1.4"`, `.env` says `DENO_VERSION=2.1.4`, and the workspace pins the crates of that
// release (`deno_core = "0.324.0"`, `deno_ast = "=0.44.0"`). When the runtime moves on, change that
// line (`npm install -D --save-exact deno-platform@npm:deno@<version>`) and run `npm run check`.
// Pure constants: imported from both Node (the gate, tests) and Deno (the supervisor).

/** The package.json devDependency that holds the platform's Deno. */
export const PLATFORM_DENO_PACKAGE = "deno-platform";

/** Its binary, relative to the project root (placed there by the package's install script). */
export const PLATFORM_DENO_BIN = `node_modules/${PLATFORM_DENO_PACKAGE}/deno`;

/**
 * The tooling's Deno (the supervisor, scripts, fmt, lint): the newer `deno` devDependency. Both
 * packages name their bin `deno` and npm links only one into node_modules/.bin, so each is run by
 * its own path, never as `deno` on the PATH.
 */
export const TOOLING_DENO_BIN = "node_modules/deno/deno";

/** The version a package.json spec names: `npm:deno@2.1.4` -> `2.1.4`. */
export function platformDenoVersion(spec: string): string {
  const m = /^npm:deno@(\d+\.\d+\.\d+)$/.exec(spec);
  if (!m) {
    throw new Error(`${PLATFORM_DENO_PACKAGE} must be an exact npm:deno@x.y.z, not ${JSON.stringify(spec)}`);
  }
  return m[1];
}
