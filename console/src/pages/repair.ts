// Repair: re-link reservations that have no room rows, from MotoPress. A dry run shows what would
// change; Apply does it (and holds the hotel's bookings slot like a sync).
import type { RepairReport } from "../../../shared/index.ts";
import type { PageContext } from "../main.ts";
import { busy, errorBox, h, notice, replace } from "../ui.ts";

function report(r: RepairReport & { runId: string | null }) {
  const verb = r.dryRun ? "Would re-link" : "Re-linked";
  return h(
    "div",
    { class: "card", id: "repair-report" },
    h(
      "p",
      {},
      `${r.dryRun ? "Dry run" : "Applied"}: ${r.found} reservation(s) without room rows${
        r.more ? " (more remain: run again)" : ""
      }.`,
    ),
    h("h3", {}, `${verb} (${r.relinked.length})`),
    r.relinked.length
      ? h(
        "ul",
        {},
        r.relinked.map((x) =>
          h(
            "li",
            {},
            `booking ${x.bookingId} → ${x.units.length} room(s) (MotoPress units ${x.units.join(", ")})`,
          )
        ),
      )
      : h("p", { class: "hint" }, "Nothing."),
    r.goneUpstream.length
      ? [h("h3", {}, `Gone from MotoPress (${r.goneUpstream.length})`), h("p", {}, r.goneUpstream.join(", "))]
      : null,
    r.unrepairable.length
      ? [
        h("h3", {}, `Cannot repair (${r.unrepairable.length})`),
        h("ul", {}, r.unrepairable.map((u) => h("li", {}, `booking ${u.bookingId}: ${u.reason}`))),
      ]
      : null,
  );
}

export async function repairPage(ctx: PageContext) {
  const { client, main } = ctx;
  const { tenants } = await client.tenants();
  const select = h(
    "select",
    { id: "repair-hotel" },
    tenants.map((t) => h("option", { value: t.tenantId }, `${t.name} (${t.slug})`)),
  );
  const dry = h("button", { class: "primary", id: "repair-dry-run" }, "Dry run");
  const apply = h("button", { class: "danger", id: "repair-apply", disabled: true }, "Apply");
  const out = h("div", { "aria-live": "polite" });
  let checked: string | null = null;
  select.addEventListener("change", () => {
    checked = null;
    apply.disabled = true;
  });
  dry.addEventListener("click", async () => {
    try {
      const r = await busy(dry, () => client.repair({ tenantId: select.value }));
      replace(out, report(r));
      checked = select.value;
      apply.disabled = r.found === 0;
    } catch (err) {
      replace(out, errorBox(err));
    }
  });
  apply.addEventListener("click", async () => {
    if (checked !== select.value) {
      return replace(out, notice("error", "Run the dry run for this hotel first."));
    }
    try {
      const r = await busy(apply, () => client.repair({ tenantId: select.value, apply: true }));
      replace(out, report(r));
      apply.disabled = true;
    } catch (err) {
      replace(out, errorBox(err));
    }
  });
  replace(
    main,
    h("h1", {}, "Repair"),
    h(
      "p",
      {},
      "Re-links reservations written without their room rows, reading each booking again from MotoPress.",
    ),
    h("div", { class: "card row" }, h("label", { for: "repair-hotel" }, "Hotel"), select, dry, apply),
    out,
  );
}
