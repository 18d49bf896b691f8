// The console's shell: sign-in, navigation (hash routes, so any static host serves it), and the
// pages. Each page returns a cleanup that stops its polling or stream when the operator leaves.
import type { SyncClient } from "../../shared/index.ts";
import {
  captureToken,
  type ConsoleConfig,
  currentSession,
  isExpired,
  loadConfig,
  sendMagicLink,
  type Session,
  signOut,
  syncClient,
} from "./session.ts";
import { busy, errorBox, flash, h, notice, replace } from "./ui.ts";
import { hotelsPage } from "./pages/hotels.ts";
import { runDetailPage, runsPage } from "./pages/runs.ts";
import { healthPage } from "./pages/health.ts";
import { roomsPage } from "./pages/rooms.ts";
import { repairPage } from "./pages/repair.ts";

export interface PageContext {
  client: SyncClient;
  session: Session;
  config: ConsoleConfig;
  params: string[];
  query: URLSearchParams;
  main: HTMLElement;
  go(path: string): void;
  /** Called when the page is left: stop timers and streams. */
  onLeave(fn: () => void): void;
}

type Page = (ctx: PageContext) => Promise<void> | void;

const ROUTES: { path: string; label: string; page: Page; nav: boolean }[] = [
  { path: "runs", label: "Runs", page: (c) => (c.params[0] ? runDetailPage(c) : runsPage(c)), nav: true },
  { path: "hotels", label: "Hotels", page: hotelsPage, nav: true },
  { path: "health", label: "Health", page: healthPage, nav: true },
  { path: "rooms", label: "Rooms", page: roomsPage, nav: true },
  { path: "repair", label: "Repair", page: repairPage, nav: true },
];

const leave: (() => void)[] = [];
// Each render gets its own generation and its own container: a page still loading when the operator
// navigates away then writes into a detached element, and a timer it starts late is stopped at once,
// instead of the stale page taking the screen back from the one the operator opened.
let generation = 0;

function parseHash(): { name: string; params: string[]; query: URLSearchParams } {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, qs] = raw.split("?");
  const [name, ...params] = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { name: name || "runs", params, query: new URLSearchParams(qs ?? "") };
}

function signInPage(main: HTMLElement, config: ConsoleConfig, reason: string | null) {
  const email = h("input", { id: "email", type: "email", autocomplete: "email", required: true });
  const status = h("div", {});
  const send = h("button", { class: "primary", type: "submit" }, "Email me a sign-in link");
  const form = h(
    "form",
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        if (!email.value.includes("@")) return replace(status, notice("error", "Enter your email address."));
        try {
          await busy(send, () => sendMagicLink(config, email.value.trim()));
          replace(status, notice("ok", "Check your email for the sign-in link."));
        } catch (err) {
          replace(status, errorBox(err));
        }
      },
    },
    h("label", { for: "email" }, "Email"),
    email,
    h("p", {}, send),
    status,
  );
  replace(
    main,
    h("h1", {}, "Sign in"),
    reason ? notice("error", reason) : null,
    h(
      "div",
      { class: "card" },
      h(
        "p",
        {},
        "Open the sign-in link that ",
        h("code", {}, "npm start"),
        " printed, or sign in with your project account.",
      ),
      config.publishableKey ? form : h(
        "p",
        { class: "hint" },
        "Email sign-in is available when config.json names the project's publishable key.",
      ),
    ),
  );
}

async function start() {
  captureToken();
  const config = await loadConfig();
  const client = syncClient(config);
  const main = document.getElementById("main")!;
  const nav = document.getElementById("nav")!;
  const who = document.getElementById("who")!;

  const render = async () => {
    const mine = ++generation;
    for (const fn of leave.splice(0)) fn();
    flash(null);
    const session = currentSession();
    if (!session || isExpired(session)) {
      document.body.classList.remove("viewer");
      replace(nav);
      replace(who);
      signInPage(main, config, session ? "Your sign-in has expired; sign in again." : null);
      return;
    }
    const { name, params, query } = parseHash();
    const route = ROUTES.find((r) => r.path === name) ?? ROUTES[0];
    replace(
      nav,
      ROUTES.filter((r) => r.nav).map((r) =>
        h("a", { href: `#/${r.path}`, "aria-current": r.path === route.path ? "page" : null }, r.label)
      ),
    );
    replace(
      who,
      `${session.email ?? "signed in"} · ${session.role ?? "no sync role"}`,
      h("button", {
        onclick: () => {
          signOut();
          void render();
        },
      }, "Sign out"),
    );
    // Viewers see no action buttons (the functions refuse their POSTs anyway: 403).
    document.body.classList.toggle("viewer", session.role !== "operator");
    if (session.role === "viewer") flash(notice("info", "Signed in as a viewer: you can look, not act."));
    if (!session.role) {
      flash(
        notice("error", "Your account has no sync role: ask an administrator to set app_metadata.sync_role."),
      );
    }
    const view = h("div", { class: "view" }, h("p", {}, "Loading…"));
    replace(main, view);
    const ctx: PageContext = {
      client,
      session,
      config,
      params,
      query,
      main: view,
      go: (path) => {
        location.hash = `#/${path}`;
      },
      onLeave: (fn) => (mine === generation ? leave.push(fn) : fn()),
    };
    try {
      await route.page(ctx);
    } catch (err) {
      replace(view, h("h1", {}, route.label), errorBox(err));
    }
    if (mine === generation) main.focus({ preventScroll: true });
  };
  // A sign-in link opened in a tab that is already on the console arrives as a hash change.
  addEventListener("hashchange", () => {
    captureToken();
    void render();
  });
  await render();
}

void start();
