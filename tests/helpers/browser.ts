// Debian's Chromium driven by playwright-core (no browser download). Without Chromium the browser
// tests are skipped loudly, or fail when CI_REQUIRE_BROWSER=1 (.ci/run installs it and sets that).
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { projectRoot } from "../../scripts/stack/lib/migrate.ts";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const REQUIRE_BROWSER = process.env.CI_REQUIRE_BROWSER === "1";
export const ARTIFACTS = path.join(projectRoot, "test-artifacts/browser");

/** Why the browser tests cannot run here, or null. */
export function browserUnavailable(): string | null {
  return existsSync(CHROMIUM)
    ? null
    : `${CHROMIUM} not found (apt-get install chromium, or set CHROMIUM_PATH)`;
}

export function warnSkipped(file: string, why: string) {
  const bar = "!".repeat(100);
  console.warn(
    `\n${bar}\n!!! SKIPPING ${file}: ${why}.\n!!! The operator console is NOT tested in a browser here. ` +
      `Set CI_REQUIRE_BROWSER=1 to make this a failure (CI does).\n${bar}\n`,
  );
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Saves a full-page screenshot under test-artifacts/browser/<name>.png. */
  shot(name: string, page?: Page): Promise<string>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), "mps-chromium-"));
  // Without the background-networking flags Chromium keeps dialling out on a closed network.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 860 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await mkdir(ARTIFACTS, { recursive: true });
  return {
    context,
    page,
    async shot(name, p = page) {
      const file = path.join(ARTIFACTS, `${name}.png`);
      await p.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
