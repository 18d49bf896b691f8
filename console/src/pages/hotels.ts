// Hotels: each with its last successful sync per source, error streaks and integrity counters;
// add or edit one (the consumer secret is write-only), and test its connection to MotoPress.
import { isSyncClientError, type TenantSummary } from "../../../shared/index.ts";
import type { PageContext } from "../main.ts";
import { busy, errorBox, flash, h, notice, replace, when } from "../ui.ts";

type Field = "slug" | "name" | "timezone" | "siteUrl" | "consumerKey" | "consumerSecret";

function zones(): string[] {
  try {
    return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf("timeZone");
  } catch {
    return ["UTC", "Europe/Madrid", "Europe/London", "America/New_York"];
  }
}

export async function hotelsPage(ctx: PageContext) {
  const { client, main } = ctx;
  const [{ tenants }, health] = await Promise.all([client.tenants(), client.health()]);
  const byId = new Map(health.tenants.map((t) => [t.tenantId, t]));
  const formSlot = h("div", { id: "hotel-form-slot" });

  const row = (t: TenantSummary) => {
    const hh = byId.get(t.tenantId);
    const i = hh?.integrity ?? {};
    const streak = t.errorStreak.accommodations + t.errorStreak.bookings;
    const badges = [
      i.reservationsWithoutRoom
        ? h("span", { class: "badge s-failed" }, `${i.reservationsWithoutRoom} without room`)
        : null,
      i.reservationsWithoutRooms
        ? h("span", { class: "badge s-failed" }, `${i.reservationsWithoutRooms} without room rows`)
        : null,
      i.quarantinedItems ? h("span", { class: "badge s-dirty" }, `${i.quarantinedItems} quarantined`) : null,
      i.overbookingConflicts
        ? h("span", { class: "badge s-dirty" }, `${i.overbookingConflicts} overbooked`)
        : null,
    ].filter((b): b is HTMLSpanElement => !!b);
    const edit = h("button", { class: "act", "aria-label": `Edit ${t.name}` }, "Edit");
    edit.addEventListener("click", () => showForm(t));
    return h(
      "tr",
      { "data-tenant-id": t.tenantId },
      h(
        "td",
        {},
        h("strong", {}, t.name),
        h("div", { class: "hint" }, t.slug, t.isActive ? "" : " · inactive"),
      ),
      h(
        "td",
        { class: "hide-narrow" },
        t.siteUrl ?? h("em", {}, "no credentials"),
        h("div", { class: "hint" }, t.timezone),
      ),
      h(
        "td",
        {},
        "Rooms: ",
        when(hh?.lastSuccessfulSync?.accommodations),
        h("br", {}),
        "Bookings: ",
        when(hh?.lastSuccessfulSync?.bookings),
      ),
      h("td", {}, streak ? h("span", { class: "badge s-failed" }, `${streak} failed in a row`) : "none"),
      h("td", {}, badges.length ? badges : h("span", { class: "badge s-completed" }, "all clear")),
      h("td", {}, edit),
    );
  };

  function showForm(t: TenantSummary | null) {
    const input = (id: Field, label: string, attrs: Record<string, string | boolean> = {}, hint?: string) => {
      const el = h("input", { id: `f-${id}`, name: id, ...attrs });
      const err = h("p", { class: "field-error", id: `e-${id}` });
      el.setAttribute("aria-describedby", `e-${id}`);
      return {
        el,
        err,
        node: h(
          "div",
          {},
          h("label", { for: `f-${id}` }, label),
          el,
          hint ? h("p", { class: "hint" }, hint) : null,
          err,
        ),
      };
    };
    const f = {
      name: input("name", "Name", { value: t?.name ?? "", required: true, maxlength: "200" }),
      slug: input("slug", "Slug", {
        value: t?.slug ?? "",
        required: true,
        pattern: "[a-z0-9][a-z0-9-]{0,62}",
      }, "Lowercase letters, digits and dashes."),
      timezone: input("timezone", "Time zone", {
        value: t?.timezone ?? "Europe/Madrid",
        list: "zones",
        required: true,
      }),
      siteUrl: input("siteUrl", "Site URL", {
        value: t?.siteUrl ?? "",
        type: "url",
        required: true,
        placeholder: "https://hotel.example.com",
      }),
      consumerKey: input("consumerKey", "Consumer key", {
        value: "",
        autocomplete: "off",
        required: !t,
        placeholder: t?.consumerKeyHint ? `stored: ${t.consumerKeyHint}` : "ck_…",
      }, t ? "Leave empty to keep the stored key." : undefined),
      consumerSecret: input("consumerSecret", "Consumer secret", {
        value: "",
        type: "password",
        autocomplete: "new-password",
        required: !t,
        placeholder: t ? "stored (never shown)" : "cs_…",
      }, t ? "Write-only: leave empty to keep the stored secret." : "Write-only: it is never shown again."),
    };
    // The stored key and secret go only to the origin they were entered for: a site moved to
    // another origin needs them again (the API refuses the save otherwise, naming both fields).
    const originOf = (url: string | null | undefined) => {
      try {
        return url ? new URL(url).origin : null;
      } catch {
        return null;
      }
    };
    const storedOrigin = originOf(t?.siteUrl);
    const moved = () => !!storedOrigin && originOf(f.siteUrl.el.value.trim()) !== storedOrigin;
    const movedHint = h("p", { class: "hint", id: "site-moved", "aria-live": "polite" });
    const showMoved = () => {
      replace(
        movedHint,
        moved()
          ? `The site moves away from ${storedOrigin}: enter the consumer key and secret again. The stored ones are only ever sent to ${storedOrigin}.`
          : "",
      );
      f.consumerKey.el.required = !t || moved();
      f.consumerSecret.el.required = !t || moved();
    };
    f.siteUrl.el.addEventListener("input", showMoved);
    f.siteUrl.node.appendChild(movedHint);
    const active = h("input", { id: "f-active", type: "checkbox", checked: t ? t.isActive : true });
    const result = h("div", { id: "hotel-result", "aria-live": "polite" });
    const test = h("button", { type: "button", id: "test-connection", class: "act" }, "Test connection");
    const save = h(
      "button",
      { type: "submit", class: "primary", id: "save-hotel" },
      t ? "Save changes" : "Add hotel",
    );

    const values = () =>
      Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v.el.value.trim()])) as Record<Field, string>;
    const clearErrors = () => Object.values(f).forEach((v) => replace(v.err));
    const showFieldErrors = (errs: Partial<Record<Field, string>>) => {
      for (const [k, msg] of Object.entries(errs)) if (f[k as Field]) replace(f[k as Field].err, msg);
      const first = Object.keys(errs)[0] as Field | undefined;
      if (first && f[first]) f[first].el.focus();
    };
    const validate = (v: Record<Field, string>, forSave: boolean) => {
      const errs: Partial<Record<Field, string>> = {};
      if (forSave && !v.name) errs.name = "Name is required.";
      if (forSave && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(v.slug)) {
        errs.slug = "Lowercase letters, digits and dashes, not starting with a dash.";
      }
      if (forSave && !v.timezone) errs.timezone = "Time zone is required.";
      try {
        if (!/^https?:$/.test(new URL(v.siteUrl).protocol)) throw 0;
      } catch {
        if (v.siteUrl || !t) errs.siteUrl = "Must be an http(s) URL, e.g. https://hotel.example.com.";
      }
      if (!t && !v.consumerKey) errs.consumerKey = "Consumer key is required.";
      if (!t && !v.consumerSecret) errs.consumerSecret = "Consumer secret is required for a new hotel.";
      if (t && moved()) {
        const again =
          `Required: the site moves away from ${storedOrigin}; enter it again for the new address.`;
        if (!v.consumerKey) errs.consumerKey = again;
        if (!v.consumerSecret) errs.consumerSecret = again;
      }
      return errs;
    };
    const serverFieldErrors = (err: unknown) => {
      if (!isSyncClientError(err)) return;
      const fields = err.details.fields as { field: string; message: string }[] | undefined;
      if (Array.isArray(fields)) showFieldErrors(Object.fromEntries(fields.map((x) => [x.field, x.message])));
    };

    test.addEventListener("click", async () => {
      clearErrors();
      const v = values();
      const errs = validate(v, false);
      if (Object.keys(errs).length) return showFieldErrors(errs);
      try {
        const r = await busy(test, () =>
          client.testConnection({
            ...(t ? { tenantId: t.tenantId } : {}),
            ...(v.siteUrl ? { siteUrl: v.siteUrl } : {}),
            ...(v.consumerKey ? { consumerKey: v.consumerKey } : {}),
            ...(v.consumerSecret ? { consumerSecret: v.consumerSecret } : {}),
          }));
        replace(
          result,
          r.ok ? notice("ok", r.message) : notice("error", `Connection failed: ${r.message}`),
          r.auth ? notice("error", `${r.auth.warning} Fix: ${r.auth.fix}`) : null,
        );
      } catch (err) {
        serverFieldErrors(err);
        replace(result, errorBox(err));
      }
    });

    const form = h(
      "form",
      {
        class: "card",
        id: "hotel-form",
        novalidate: true,
        onsubmit: async (e: Event) => {
          e.preventDefault();
          clearErrors();
          const v = values();
          const errs = validate(v, true);
          if (Object.keys(errs).length) return showFieldErrors(errs);
          try {
            const saved = await busy(save, () =>
              client.saveTenant({
                ...(t ? { tenantId: t.tenantId } : {}),
                slug: v.slug,
                name: v.name,
                timezone: v.timezone,
                siteUrl: v.siteUrl,
                // On an edit, an empty key or secret keeps the stored one.
                ...(v.consumerKey ? { consumerKey: v.consumerKey } : {}),
                ...(v.consumerSecret ? { consumerSecret: v.consumerSecret } : {}),
                isActive: active.checked,
              }));
            f.consumerSecret.el.value = "";
            flash(notice("ok", `${saved.created ? "Added" : "Saved"} ${v.name}.`));
            await hotelsPage(ctx);
          } catch (err) {
            serverFieldErrors(err);
            replace(result, errorBox(err));
          }
        },
      },
      h("h2", {}, t ? `Edit ${t.name}` : "Add a hotel"),
      Object.values(f).map((x) => x.node),
      h("datalist", { id: "zones" }, zones().map((z) => h("option", { value: z }))),
      h("label", {}, active, " Active (included in “Sync all”)"),
      h(
        "div",
        { class: "row", style: "margin-top:10px" },
        save,
        test,
        h("button", { type: "button", onclick: () => replace(formSlot) }, "Close"),
      ),
      result,
    );
    replace(formSlot, form);
    f.name.el.focus();
  }

  const add = h("button", { class: "primary", id: "add-hotel" }, "Add a hotel");
  add.addEventListener("click", () => showForm(null));
  replace(
    main,
    h("div", { class: "row" }, h("h1", { class: "grow" }, "Hotels"), add),
    formSlot,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { id: "hotels" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Hotel", "Site", "Last successful sync", "Error streak", "Integrity", ""].map((c) =>
              h("th", { scope: "col" }, c)
            ),
          ),
        ),
        h(
          "tbody",
          {},
          tenants.length ? tenants.map(row) : h("tr", {}, h("td", { colspan: 6 }, "No hotels yet: add one.")),
        ),
      ),
    ),
  );
  if (ctx.params[0] === "new") showForm(null);
}
