// Tiny DOM helpers: elements from data (text is always set as text, never as HTML, so nothing a
// hotel site or a caller sent can inject markup), errors in words, a confirmation dialog.
import { isSyncClientError } from "../../shared/index.ts";

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, "").toLowerCase(), v as EventListener);
    else if (k === "class") el.className = String(v);
    // Through the CSSOM: a style attribute is inline style, which the console's CSP refuses.
    else if (k === "style") el.style.cssText = String(v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

export function replace(el: Element, ...children: Child[]) {
  el.replaceChildren();
  append(el, children);
}

/** The server's error in words: code, message, and the offending fields or refusal reasons. */
export function describeError(err: unknown): { title: string; lines: string[] } {
  if (isSyncClientError(err)) {
    const lines: string[] = [];
    const fields = err.details.fields as { field: string; message: string }[] | undefined;
    if (Array.isArray(fields)) { for (const f of fields) lines.push(`${f.field}: ${f.message}`); }
    const reasons = err.details.reasons as string[] | undefined;
    // Reasons the message does not already spell out (room-status puts them in both).
    if (Array.isArray(reasons)) lines.push(...reasons.map(String).filter((r) => !err.message.includes(r)));
    const status = err.status ? `${err.status} ` : "";
    const title = err.code === "NETWORK_ERROR"
      ? `Network failure: ${err.message} Is the project reachable?`
      : `${status}${err.code}: ${err.message}`;
    return { title, lines };
  }
  return { title: (err as Error)?.message ?? String(err), lines: [] };
}

export function errorBox(err: unknown): HTMLElement {
  const { title, lines } = describeError(err);
  return h(
    "div",
    { class: "notice error", role: "alert" },
    h("strong", {}, title),
    lines.length ? h("ul", {}, lines.map((l) => h("li", {}, l))) : null,
  );
}

export function notice(kind: "ok" | "info" | "error", text: string): HTMLElement {
  return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/** A page-level message that stays until the next navigation. */
export function flash(el: HTMLElement | null) {
  replace(document.getElementById("flash")!, el);
}

/** A modal confirmation (keyboard: Enter confirms, Escape cancels). */
export function confirmDialog(message: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { "aria-labelledby": "confirm-title" },
      h("p", { id: "confirm-title" }, message),
      h(
        "div",
        { class: "row" },
        h("button", { class: "danger", value: "yes", onclick: () => dialog.close("yes") }, confirmLabel),
        h("button", { value: "no", onclick: () => dialog.close("no") }, "Keep running"),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "yes");
      dialog.remove();
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  });
}

export function badge(status: string | null | undefined): HTMLElement {
  return h("span", { class: `badge s-${status ?? "none"}` }, status ?? "—");
}

export function progressBar(current: number, total: number | null): HTMLElement {
  const pct = total && total > 0 ? Math.max(0, Math.min(100, Math.round((current / total) * 100))) : 0;
  return h("div", {
    class: "bar",
    role: "progressbar",
    "aria-valuemin": 0,
    "aria-valuemax": 100,
    "aria-valuenow": pct,
    title: `${pct}%`,
  }, h("span", { style: `width:${pct}%` }));
}

export function duration(fromIso: string, toIso: string | null, now = Date.now()): string {
  const ms = (toIso ? Date.parse(toIso) : now) - Date.parse(fromIso);
  if (!Number.isFinite(ms) || ms < 0) return "—";
  const s = Math.round(ms / 1000);
  return s < 60
    ? `${s} s`
    : s < 3600
    ? `${Math.floor(s / 60)} min ${s % 60} s`
    : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : "never";
}

/** Runs `fn` with `button` disabled, so a double click never sends twice. */
export async function busy<T>(button: HTMLButtonElement, fn: () => Promise<T>): Promise<T> {
  button.disabled = true;
  try {
    return await fn();
  } finally {
    button.disabled = false;
  }
}
