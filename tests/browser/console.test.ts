// The operator console in a real browser (Debian's Chromium through playwright-core) against the
// full local stack: functions served by Deno, real PostgreSQL, the MotoPress simulator, the built
// console, and an operator signed in through a sign-in link signed by a JWKS key. Each test saves
// a screenshot under test-artifacts/browser/.
// `npm test` runs this file after the rest of the suite, on its own (`npm run test:browser`): next to
// the 50,000-booking sync of platform-limits.test.ts its pages stalled past every timeout.
import { rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  buildConsole,
  type ConsoleServer,
  startConsoleServer,
} from "../../scripts/stack/lib/console-server.ts";
import { generateSigningKey, jwksOf, operatorToken } from "../../scripts/stack/lib/local-auth.ts";
import { projectRoot } from "../../scripts/stack/lib/migrate.ts";
import {
  type Browser,
  browserUnavailable,
  launchBrowser,
  REQUIRE_BROWSER,
  warnSkipped,
} from "../helpers/browser.ts";
import { ADMIN_KEY, type Stack, startStack } from "../helpers/stack.ts";
import { type SimSite, startSite, waitFor } from "../helpers/sim.ts";

const unavailable = browserUnavailable();
if (unavailable && !REQUIRE_BROWSER) warnSkipped("tests/browser/console.test.ts", unavailable);
if (unavailable && REQUIRE_BROWSER) {
  describe("Chromium (required by CI_REQUIRE_BROWSER=1)", () => {
    it("is installed", () => expect.fail(`CI_REQUIRE_BROWSER=1 but ${unavailable}`));
  });
}

const key = generateSigningKey("ES256");
const dist = path.join(projectRoot, `.data/console-test-${process.pid}`);
let stack: Stack;
let site: SimSite;
let web: ConsoleServer;
let browser: Browser;
let link: string;
let hotelId: string;
/** What Chromium reported as refused by the console server's Content-Security-Policy. */
const cspViolations: string[] = [];

const sql = () => stack.db.sql;
const activeRuns = async () =>
  (await sql()`select count(*)::int as n from public.sync_runs where status in ('running', 'continuing')`)[0]
    .n as number;

describe.skipIf(!!unavailable)("operator console in Chromium", { timeout: 180_000 }, () => {
  beforeAll(async () => {
    // Slow pages, so a sync lasts long enough to reload and cancel in the middle of it.
    site = await startSite({ seed: 23, hotel: { types: 3, unitsPerType: 3, bookings: 700 } });
    const [s] = await Promise.all([startStack({ SUPABASE_JWKS: jwksOf(key) }), buildConsole(dist)]);
    stack = s;
    web = await startConsoleServer({ port: 0, dist, config: { supabaseUrl: stack.server.url } });
    // The functions' default issuer is <SUPABASE_URL>/auth/v1, here the server's own URL.
    link = `${web.url}/#access_token=${
      operatorToken(key, { supabaseUrl: stack.server.url, ttlSeconds: 900 })
    }`;
    browser = await launchBrowser();
    // Generous: on a shared 2-core machine Chromium can be slow to paint; every wait is on an event.
    browser.context.setDefaultTimeout(60_000);
    browser.page.on("pageerror", (e) => console.error(`[console pageerror] ${e.message}`));
    browser.page.on("console", (m) => {
      if (/Content Security Policy|Refused to (apply|execute|load|connect)/i.test(m.text())) {
        cspViolations.push(m.text());
      }
    });
  }, 180_000);
  afterEach(async (ctx) => {
    // A failing test leaves a picture of what the operator would have seen.
    if (ctx.task.result?.state === "fail" && browser) {
      const name = ctx.task.name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
      await browser.shot(`FAILED-${name}`).catch(() => {});
    }
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await site?.close();
    await stack?.close();
    await rm(dist, { recursive: true, force: true });
  });

  it("signs in, validates the form, tests the connection (bad, then good) and adds a hotel", async () => {
    const { page } = browser;
    await page.goto(link);
    await page.getByText("operator@localhost · operator").waitFor();
    // The token left the address bar.
    expect(page.url()).not.toContain("access_token");
    await page.getByRole("link", { name: "Hotels" }).click();
    await page.getByRole("button", { name: "Add a hotel" }).click();
    await page.getByLabel("Name").fill("Browser Hotel");
    await page.getByLabel("Slug").fill("Not A Slug");
    await page.getByLabel("Site URL").fill("ftp://nowhere");
    await page.getByRole("button", { name: "Add hotel" }).click();
    // Validated before sending: nothing reached the server.
    await page.locator("#e-slug").getByText(/Lowercase letters/).waitFor();
    await page.locator("#e-siteUrl").getByText(/http\(s\) URL/).waitFor();
    await page.locator("#e-consumerSecret").getByText(/required/).waitFor();
    expect((await sql()`select count(*)::int as n from public.tenant_registry`)[0].n).toBe(0);

    const { consumerKey, consumerSecret } = site.sim.credentials;
    await page.getByLabel("Slug").fill("browser-hotel");
    await page.getByLabel("Site URL").fill(site.server.url);
    await page.getByLabel("Consumer key").fill(consumerKey);
    await page.getByLabel("Consumer secret").fill("cs_wrong_secret");
    await page.getByRole("button", { name: "Test connection" }).click();
    await page.locator("#hotel-result").getByText(/Connection failed: .+/).waitFor();
    expect(await page.locator("#hotel-result").innerText()).not.toContain("cs_wrong_secret");
    await page.getByLabel("Consumer secret").fill(consumerSecret);
    await page.getByRole("button", { name: "Test connection" }).click();
    await page.locator("#hotel-result").getByText(/Connected: 3 accommodation types/).waitFor();
    await browser.shot("hotels-test-connection");
    await page.getByRole("button", { name: "Add hotel" }).click();
    await page.locator("#hotels").getByText("Browser Hotel").waitFor();
    const [row] = await sql()`select t.tenant_id, c.consumer_secret from public.tenant_registry t
      join private.motopress_credentials c using (tenant_id) where t.slug = 'browser-hotel'`;
    expect(row.consumer_secret).toBe(consumerSecret);
    hotelId = row.tenant_id;
    // The secret is write-only: nowhere on the page, not even in the edit form.
    await page.getByRole("button", { name: "Edit Browser Hotel" }).click();
    expect(await page.getByLabel("Consumer secret").inputValue()).toBe("");
    expect(await page.content()).not.toContain(consumerSecret);
    await browser.shot("hotels");
    // Moving the site to another origin needs the key and secret again: the form says so, and
    // nothing is saved without them.
    await page.getByLabel("Site URL").fill("https://moved.example");
    await page.locator("#site-moved").getByText(/moves away from http:\/\/127\.0\.0\.1:\d+/).waitFor();
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.locator("#e-consumerSecret").getByText(/enter it again/).waitFor();
    await page.locator("#e-consumerKey").getByText(/enter it again/).waitFor();
    const [stored] =
      await sql()`select site_url from private.motopress_credentials where tenant_id = ${hotelId}`;
    expect(stored.site_url).toBe(site.server.url);
    await page.getByRole("button", { name: "Close" }).click();
  });

  it("a page left while it is still loading never takes the screen back", async () => {
    // Seen in CI on a slow machine: the Runs page, still awaiting its data when the operator opened
    // Hotels, drew itself over the Hotels page. Here the Runs page's list is held until Hotels is up.
    const { page } = browser;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const seen = new Promise<void>((resolve) =>
      void page.route(/sync-command-center\?view=runs/, async (route) => {
        resolve();
        await held;
        await route.continue();
      })
    );
    try {
      await page.goto(`${web.url}/#/runs`);
      await seen;
      await page.getByRole("link", { name: "Hotels" }).click();
      await page.getByRole("button", { name: "Add a hotel" }).waitFor();
      const answered = page.waitForResponse(/sync-command-center\?view=runs/);
      release();
      await answered;
      // Let the stale page's continuation and any timer it would start run to completion.
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
      await page.getByRole("button", { name: "Add a hotel" }).click();
      await page.getByLabel("Name").waitFor();
      expect(await page.getByRole("button", { name: "Sync this hotel" }).count()).toBe(0);
    } finally {
      await page.unroute(/sync-command-center\?view=runs/);
    }
  });

  it("syncs the hotel with live progress, re-attaches after a reload mid-run, and reaches the end", async () => {
    const { page } = browser;
    // 1.5 s a page: after page 4 of 7 is seen there are seconds left for the reload.
    site.sim.setFaults({ latencyMsPerPage: 1500 });
    try {
      await page.getByRole("link", { name: "Runs" }).click();
      await page.getByRole("button", { name: "Sync this hotel" }).click();
      await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
      const runId = page.url().split("/").pop()!;
      await page.locator("#run-message").getByText(/bookings page [1-4] of 7/).waitFor({ timeout: 90_000 });
      await browser.shot("run-detail-live");
      const [mid] = await sql()`select status from public.sync_runs where id = ${runId}`;
      expect(mid.status).toBe("running");
      await page.reload();
      // Same run, same page, still running and its progress still moving: re-attached by id.
      expect(page.url()).toContain(runId);
      await page.locator("#run-summary .badge", { hasText: "running" }).waitFor();
      await page.locator("#run-message").getByText(/bookings page [2-7] of 7|Sync complete/).waitFor({
        timeout: 90_000,
      });
      await page.locator("#run-summary .badge", { hasText: "completed" }).waitFor({ timeout: 90_000 });
      await page.locator("#run-children").getByText("bookings").first().waitFor();
      await browser.shot("run-detail-completed");
    } finally {
      site.sim.resetFaults();
    }
  });

  it("cancels everything during a sync, after a confirmation", async () => {
    const { page } = browser;
    site.sim.setFaults({ latencyMsPerPage: 500 });
    try {
      await page.goto(`${web.url}/#/runs`);
      await page.getByRole("button", { name: "Sync all hotels" }).click();
      await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
      await page.getByRole("link", { name: "← All runs" }).click();
      await page.locator("#active-runs .bar").first().waitFor({ timeout: 90_000 });
      await page.locator("#active-runs").getByText(/page \d+ of \d+/).first().waitFor({ timeout: 90_000 });
      await browser.shot("runs");
      expect(await activeRuns()).toBeGreaterThan(0);
      await page.getByRole("button", { name: "Cancel everything" }).click();
      // The dialog asks first; "Keep running" would leave the runs alone.
      await page.getByRole("dialog").getByRole("button", { name: "Cancel everything" }).click();
      await page.getByText(/Cancelled \d+ run\(s\)\./).waitFor();
      expect(await activeRuns()).toBe(0);
      await page.locator("#active-runs").getByText("No active runs.").waitFor();
      await page.locator("#recent-runs .badge", { hasText: "cancelled" }).first().waitFor();
      await browser.shot("runs-cancelled");
    } finally {
      site.sim.resetFaults();
    }
  });

  it("shows a health counter turn red when a problem is injected, with its drill-down", async () => {
    const { page } = browser;
    await page.goto(`${web.url}/#/health`);
    const counter = page.locator(`[data-tenant-id="${hotelId}"] [data-counter="quarantinedItems"]`);
    await counter.waitFor();
    const before = Number(await counter.locator("b").innerText());
    await sql()`insert into public.sync_quarantine (tenant_id, entity, external_id, reason, payload)
      values (${hotelId}, 'booking', '424242', 'check_out_date is before check_in_date',
              ${sql().json({ id: 424242, check_in_date: "2026-12-10", check_out_date: "2026-12-01" })})`;
    await page.getByRole("button", { name: "Refresh" }).click();
    await counter.locator("b", { hasText: String(before + 1) }).waitFor();
    expect(await counter.getAttribute("class")).toContain("bad");
    await page.getByRole("button", { name: "Show details for Browser Hotel" }).click();
    await page.locator("#dd-quarantine").getByText("check_out_date is before check_in_date").waitFor();
    await page.locator("#dd-quarantine").getByText(/424242/).first().waitFor();
    await browser.shot("health");
  });

  it("a viewer sees the runs but no action buttons; an expired link asks to sign in again", async () => {
    const viewerPage = await browser.context.newPage();
    try {
      const token = operatorToken(key, {
        supabaseUrl: stack.server.url,
        role: "viewer",
        email: "viewer@localhost",
      });
      await viewerPage.goto(`${web.url}/#access_token=${token}`);
      await viewerPage.getByText("Signed in as a viewer: you can look, not act.").waitFor();
      await viewerPage.locator("#recent-runs .badge").first().waitFor();
      expect(await viewerPage.getByRole("button", { name: "Cancel everything" }).isVisible()).toBe(false);
      expect(await viewerPage.getByRole("button", { name: "Sync all hotels" }).isVisible()).toBe(false);
      await browser.shot("runs-viewer", viewerPage);
      const expired = operatorToken(key, { supabaseUrl: stack.server.url, ttlSeconds: -60 });
      await viewerPage.goto(`${web.url}/#access_token=${expired}`);
      await viewerPage.getByText("Your sign-in has expired; sign in again.").waitFor();
    } finally {
      await viewerPage.close();
    }
  });

  it("shows the room board and a refused room action's reasons", async (ctx) => {
    const { page } = browser;
    const probe = await stack.call(`room-status?tenantId=${hotelId}`, undefined, {
      method: "GET",
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    if (probe.status === 404 && probe.body?.error?.code === "FUNCTION_NOT_FOUND") {
      console.warn("!!! SKIPPING the Rooms browser test: the room-status function is not on this branch.");
      ctx.skip();
    }
    expect(probe.status, JSON.stringify(probe.body)).toBe(200);
    // A unit whose next arrival is not today: checking it in now must be refused, with the reason.
    const unit = await waitFor(() =>
      (probe.body.units as { unitId: string; nextArrival: { checkInDate: string } | null }[])
        .find((u) => u.nextArrival && u.nextArrival.checkInDate !== probe.body.today)
    );
    await page.goto(`${web.url}/#/rooms?tenant=${hotelId}`);
    const card = page.locator(`[data-unit-id="${unit.unitId}"]`);
    await card.waitFor();
    await browser.shot("rooms");
    await card.getByRole("button", { name: /^Check in/ }).click();
    await card.getByRole("alert").getByText(/INVALID_OPERATION/).waitFor();
    await card.getByRole("alert").filter({ hasText: /not today/ }).waitFor();
    await browser.shot("rooms-refused");
  });

  it("leaves a unit removed at the hotel off the board, and shows it greyed behind a toggle", async () => {
    const { page } = browser;
    const [unit] = await sql()`
      update hotels.accommodation_units set removed_upstream_at = now(), status = 'trash'
      where id = (select id from hotels.accommodation_units where tenant_id = ${hotelId} order by motopress_unit_id limit 1)
      returning id`;
    try {
      await page.goto(`${web.url}/#/rooms?tenant=${hotelId}`);
      await page.reload(); // the same address as the test before: load the board again
      await page.getByText("Show 1 removed").waitFor();
      expect(await page.locator(`[data-unit-id="${unit.id}"]`).count()).toBe(0);
      await page.getByLabel("Show 1 removed").check();
      await page.locator(`.removed[data-unit-id="${unit.id}"]`).waitFor();
    } finally {
      await sql()`update hotels.accommodation_units set removed_upstream_at = null, status = 'publish' where id = ${unit.id}`;
    }
  });

  it("ran every page above under its Content-Security-Policy (frame-ancestors 'none') without breaking a rule of it", async () => {
    const res = await fetch(web.url);
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(cspViolations).toEqual([]);
  });
});
