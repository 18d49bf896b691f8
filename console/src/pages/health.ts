// Health: per hotel the integrity counters (red when a must-be-zero one is not), recent failures,
// and drill-downs: the reservations, quarantined items, conflicts and drift behind each counter.
import type { HealthDetails, TenantHealth } from "../../../shared/index.ts";
import type { PageContext } from "../main.ts";
import { badge, errorBox, h, replace, when } from "../ui.ts";

const COUNTERS: { key: string; label: string; zero: boolean }[] = [
  { key: "reservationsWithoutRoom", label: "Reservations without a room", zero: true },
  { key: "reservationsWithoutRooms", label: "Reservations without room rows", zero: true },
  { key: "quarantinedItems", label: "Quarantined items", zero: false },
  { key: "overbookingConflicts", label: "Overbooking conflicts", zero: false },
  { key: "autoCreatedUnits", label: "Units created from bookings", zero: false },
];

function table(caption: string, cols: string[], rows: (string | number | null)[][], id: string) {
  return h(
    "section",
    { id },
    h("h3", {}, `${caption} (${rows.length})`),
    rows.length
      ? h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          {},
          h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))),
          h(
            "tbody",
            {},
            rows.map((r) =>
              h(
                "tr",
                {},
                r.map((c) =>
                  h("td", { class: typeof c === "string" && c.startsWith("{") ? "mono" : "" }, c ?? "")
                ),
              )
            ),
          ),
        ),
      )
      : h("p", { class: "hint" }, "None."),
  );
}

function details(d: HealthDetails) {
  return [
    table(
      "Reservations without room rows",
      ["Booking", "Status", "Check-in", "Check-out", "Guest"],
      d.reservationsWithoutRooms.map((r) => [r.bookingId, r.status, r.checkIn, r.checkOut, r.guestName]),
      "dd-without-rooms",
    ),
    table(
      "Quarantined items",
      ["Entity", "MotoPress id", "Reason", "Payload excerpt", "Last seen"],
      d.quarantined.map((q) => [q.entity, q.externalId, q.reason, q.payloadExcerpt, when(q.lastSeenAt)]),
      "dd-quarantine",
    ),
    table(
      "Overbooking conflicts",
      ["Room", "Booking", "Other booking", "From", "To"],
      d.overbookingConflicts.map((c) => [c.unitName, c.bookingId, c.otherBookingId, c.from, c.to]),
      "dd-conflicts",
    ),
    table(
      "Room-status drift repaired",
      ["When", "Room", "From", "To", "Reason"],
      d.roomStatusDrift.map((x) => [when(x.at), x.unitName, x.from, x.to, x.reason]),
      "dd-drift",
    ),
  ];
}

export async function healthPage(ctx: PageContext) {
  const { client, main } = ctx;
  const report = await client.health();
  const drill = h("div", { id: "drill-down" });

  const card = (t: TenantHealth) => {
    const show = h("button", { "aria-label": `Show details for ${t.name ?? t.slug}` }, "Details");
    show.addEventListener("click", async () => {
      replace(drill, h("p", {}, "Loading…"));
      try {
        const d = await client.healthDetails({ tenantId: t.tenantId });
        replace(drill, h("h2", {}, `Details: ${t.name ?? t.slug}`), details(d));
        drill.scrollIntoView();
      } catch (err) {
        replace(drill, errorBox(err));
      }
    });
    const i = t.integrity ?? {};
    return h(
      "div",
      { class: "card", "data-tenant-id": t.tenantId },
      h(
        "div",
        { class: "row" },
        h("h2", { class: "grow", style: "margin:0" }, t.name ?? t.slug ?? t.tenantId),
        show,
      ),
      h(
        "p",
        { class: "hint" },
        `Last rooms sync ${when(t.lastSuccessfulSync?.accommodations)} · last bookings sync ${
          when(t.lastSuccessfulSync?.bookings)
        }`,
      ),
      h(
        "div",
        { class: "row" },
        COUNTERS.map((c) => {
          const n = i[c.key] ?? 0;
          const bad = n > 0 && (c.zero || c.key === "quarantinedItems" || c.key === "overbookingConflicts");
          return h(
            "div",
            { class: `counter${bad ? " bad" : ""}`, "data-counter": c.key },
            h("b", {}, n),
            h("span", {}, c.label),
          );
        }),
      ),
      (t.recentFailures ?? []).length
        ? h(
          "ul",
          {},
          (t.recentFailures ?? []).slice(0, 3).map((f) =>
            h(
              "li",
              {},
              badge(f.status),
              ` ${f.source} ${when(f.startedAt)}: ${f.errorCause ? `${f.errorCause}: ` : ""}${
                f.errorMessage ?? f.errorCode ?? ""
              }`,
            )
          ),
        )
        : null,
    );
  };

  replace(
    main,
    h(
      "div",
      { class: "row" },
      h("h1", { class: "grow" }, "Health"),
      h("button", { onclick: () => void healthPage(ctx) }, "Refresh"),
    ),
    h("p", { class: "hint" }, `Generated ${when(report.generatedAt as string)}`),
    report.tenants.length ? report.tenants.map(card) : h("p", {}, "No hotels yet."),
    drill,
  );
}
