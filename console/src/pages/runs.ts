// Runs: the live list (active and recent), starting a sync for one hotel or all, cancelling one
// run or everything; and a run's detail, which re-attaches to the run by id after a reload.
import type { RunDetail, RunList, SyncEvent, SyncProgress } from "../../../shared/index.ts";
import type { PageContext } from "../main.ts";
import {
  badge,
  busy,
  confirmDialog,
  duration,
  errorBox,
  flash,
  h,
  notice,
  progressBar,
  replace,
  when,
} from "../ui.ts";

type ListedRun = RunList["active"][number];

const POLL_MS = 1000;
const short = (source: string) => source.replace("motopress-", "").replace("sync-command-center", "chain");
const hotel = (r: { tenantSlug: string | null; tenantId: string | null }) =>
  r.tenantSlug ?? (r.tenantId ? r.tenantId.slice(0, 8) : "all hotels");

function progressCells(p: SyncProgress | null) {
  return [
    h("td", {}, p?.stage ?? "—"),
    h("td", { class: "progress-message" }, p?.message ?? ""),
    h("td", {}, p ? progressBar(p.current, p.total) : ""),
  ];
}

async function cancelOne(ctx: PageContext, runId: string, button: HTMLButtonElement) {
  if (
    !(await confirmDialog("Cancel this run? Work done so far is kept; the rest stops now.", "Cancel run"))
  ) return;
  try {
    const r = await busy(button, () => ctx.client.cancelRun(runId));
    flash(notice("ok", `Cancelled ${r.cancelled} run(s).`));
  } catch (err) {
    flash(errorBox(err));
  }
}

export async function runsPage(ctx: PageContext) {
  const { client, main } = ctx;
  const { tenants } = await client.tenants();
  const select = h(
    "select",
    { id: "hotel" },
    tenants.map((t) => h("option", { value: t.tenantId }, `${t.name} (${t.slug})`)),
  );
  const syncOne = h("button", { class: "primary", id: "sync-hotel" }, "Sync this hotel");
  const syncAll = h("button", { id: "sync-all", class: "act" }, "Sync all hotels");
  const cancelAll = h("button", { class: "danger", id: "cancel-all" }, "Cancel everything");
  const active = h("tbody", {});
  const recent = h("tbody", {});
  const updated = h("p", { class: "hint", "aria-live": "off" });

  const start = async (button: HTMLButtonElement, tenantId?: string) => {
    try {
      const started = await busy(button, () => client.startSync(tenantId ? { tenantId } : {}));
      ctx.go(`runs/${started.runId}`);
    } catch (err) {
      flash(errorBox(err));
    }
  };
  syncOne.addEventListener("click", () => {
    if (!select.value) return flash(notice("error", "Add a hotel first (Hotels page)."));
    void start(syncOne, select.value);
  });
  syncAll.addEventListener("click", () => void start(syncAll));
  cancelAll.addEventListener("click", async () => {
    if (!(await confirmDialog("Cancel every active run of every hotel?", "Cancel everything"))) return;
    try {
      const r = await busy(cancelAll, () => client.cancelAll());
      flash(notice("ok", `Cancelled ${r.cancelled} run(s).`));
      await refresh();
    } catch (err) {
      flash(errorBox(err));
    }
  });

  const activeRow = (r: ListedRun) => {
    const cancel = h("button", { class: "danger", "aria-label": `Cancel run ${r.id}` }, "Cancel");
    cancel.addEventListener("click", () => void cancelOne(ctx, r.id, cancel));
    return h(
      "tr",
      { "data-run-id": r.id },
      h("td", {}, hotel(r)),
      h("td", {}, short(r.source)),
      h("td", {}, badge(r.status)),
      ...progressCells(r.progress as SyncProgress | null),
      h("td", { class: "hide-narrow" }, duration(r.startedAt, null)),
      h("td", {}, h("a", { href: `#/runs/${r.id}` }, "Details"), " ", cancel),
    );
  };
  const recentRow = (r: ListedRun) =>
    h(
      "tr",
      { "data-run-id": r.id },
      h("td", {}, hotel(r)),
      h("td", {}, short(r.source)),
      h("td", {}, badge(r.status)),
      h("td", { class: "hide-narrow" }, when(r.startedAt)),
      h("td", {}, duration(r.startedAt, r.completedAt)),
      h("td", {}, r.errorMessage ?? ""),
      h("td", {}, h("a", { href: `#/runs/${r.id}` }, "Details")),
    );

  let stopped = false;
  async function refresh() {
    try {
      const list = await client.listRuns({ limit: 20 });
      if (stopped) return;
      // Only top-level runs in the live list; a chain's children show in its detail.
      const top = list.active.filter((r) => !r.parentRunId);
      replace(
        active,
        top.length ? top.map(activeRow) : h("tr", {}, h("td", { colspan: 8 }, "No active runs.")),
      );
      replace(
        recent,
        list.recent.length
          ? list.recent.map(recentRow)
          : h("tr", {}, h("td", { colspan: 7 }, "No runs yet.")),
      );
      replace(updated, `Updated ${new Date().toLocaleTimeString()}`);
    } catch (err) {
      replace(updated, errorBox(err));
    }
  }
  await refresh();
  const timer = setInterval(() => void refresh(), POLL_MS);
  ctx.onLeave(() => {
    stopped = true;
    clearInterval(timer);
  });

  const head = (...cols: string[]) =>
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c))));
  replace(
    main,
    h("h1", {}, "Runs"),
    h(
      "div",
      { class: "card row" },
      h("label", { for: "hotel", class: "sr" }, "Hotel"),
      select,
      syncOne,
      syncAll,
      h("span", { class: "grow" }),
      cancelAll,
    ),
    h("h2", {}, "Active"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { id: "active-runs" },
        head("Hotel", "Source", "Status", "Stage", "Progress", "", "Running for", ""),
        active,
      ),
    ),
    h("h2", {}, "Recent"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { id: "recent-runs" },
        head("Hotel", "Source", "Status", "Started", "Took", "Error", ""),
        recent,
      ),
    ),
    updated,
  );
}

export async function runDetailPage(ctx: PageContext) {
  const { client, main } = ctx;
  const runId = ctx.params[0];
  const title = h("h1", {}, "Run");
  const summary = h("div", { class: "card", id: "run-summary" });
  const live = h("div", { class: "card", id: "run-progress", "aria-live": "polite" });
  const children = h("div", { id: "run-children" });
  const counters = h("div", { id: "run-counters" });
  replace(
    main,
    h("p", {}, h("a", { href: "#/runs" }, "← All runs")),
    title,
    summary,
    live,
    children,
    counters,
  );

  let stopped = false;
  const abort = new AbortController();
  let timer: ReturnType<typeof setInterval> | undefined;
  ctx.onLeave(() => {
    stopped = true;
    abort.abort();
    clearInterval(timer);
  });

  const showProgress = (p: SyncProgress | null, status: string) => {
    replace(
      live,
      h(
        "div",
        { class: "row" },
        h("strong", {}, "Progress"),
        badge(status),
        h("span", { id: "run-stage" }, p?.stage ?? ""),
      ),
      h("p", { id: "run-message" }, p?.message ?? (status === "running" ? "Starting…" : "")),
      p ? progressBar(p.current, p.total) : null,
    );
  };

  const render = (run: RunDetail) => {
    replace(title, `Run ${short(run.source)} · ${hotel(run)}`);
    const cancel = h("button", { class: "danger", id: "cancel-run" }, "Cancel this run");
    cancel.addEventListener("click", () => void cancelOne(ctx, run.id, cancel).then(load));
    const active = run.status === "running" || run.status === "continuing";
    replace(
      summary,
      h(
        "div",
        { class: "row" },
        badge(run.status),
        h("span", { class: "mono" }, run.id),
        h("span", { class: "grow" }),
        active ? cancel : null,
      ),
      h(
        "p",
        {},
        `Started ${when(run.startedAt)} · ${active ? "running for" : "took"} ${
          duration(run.startedAt, run.completedAt)
        } · trigger ${run.trigger} · invocations ${run.invocations}`,
      ),
      run.errorMessage
        ? notice(
          run.status === "cancelled" ? "info" : "error",
          `${run.errorCode ?? "ERROR"}${run.errorCause ? ` (${run.errorCause})` : ""}: ${run.errorMessage}`,
        )
        : null,
    );
    if (!active || !streaming) showProgress(run.progress as SyncProgress | null, run.status);
    replace(
      children,
      run.children.length
        ? [
          h("h2", {}, "Steps and hotels"),
          h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              {},
              h(
                "thead",
                {},
                h(
                  "tr",
                  {},
                  ["Hotel", "Source", "Status", "Stage", "Progress", "", "Took", "Error"].map((c) =>
                    h("th", { scope: "col" }, c)
                  ),
                ),
              ),
              h(
                "tbody",
                {},
                run.children.map((c) =>
                  h(
                    "tr",
                    {},
                    h("td", {}, hotel(c)),
                    h("td", {}, short(c.source)),
                    h("td", {}, badge(c.status)),
                    ...progressCells(c.progress as SyncProgress | null),
                    h("td", {}, duration(c.startedAt, c.completedAt)),
                    h("td", {}, c.errorMessage ?? ""),
                  )
                ),
              ),
            ),
          ),
        ]
        : null,
    );
    const stats = Object.entries(run.stats ?? {}).filter(([k]) => k !== "progress");
    replace(
      counters,
      stats.length
        ? [
          h("h2", {}, "Counters"),
          h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              {},
              h(
                "tbody",
                {},
                stats.map(([k, v]) =>
                  h(
                    "tr",
                    {},
                    h("th", { scope: "row" }, k),
                    h("td", { class: "mono" }, typeof v === "object" ? JSON.stringify(v) : String(v)),
                  )
                ),
              ),
            ),
          ),
        ]
        : null,
    );
    return active;
  };

  let streaming = false;
  async function load(): Promise<boolean> {
    const run = await client.run(runId);
    if (stopped) return false;
    return render(run);
  }

  // Re-attach: the stream follows the run in the database, across continuations; if it breaks
  // (network, a function hop), attach again while the run is still active.
  async function follow() {
    while (!stopped) {
      streaming = true;
      try {
        await client.watchRun(runId, (e: SyncEvent) => {
          if (e.type === "progress" && e.progress.stage !== "starting") showProgress(e.progress, "running");
        }, { signal: abort.signal });
      } catch (err) {
        if (stopped) return;
        flash(errorBox(err));
      }
      streaming = false;
      if (stopped || !(await load())) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  if (await load()) {
    timer = setInterval(() =>
      void load().then((a) => {
        if (!a) clearInterval(timer);
      }).catch(() => {}), 1500);
    void follow();
  }
}
