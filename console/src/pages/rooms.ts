// Rooms: the board per hotel (contract §6), colour-coded by status, with the guest in house and
// the next arrival; check-in/out, housekeeping, blocks. A refused action shows the server's reasons.
// Units removed at the hotel are not rooms: left out, and shown greyed behind a toggle.
import type { RoomAction } from "../../../shared/index.ts";
import type { PageContext } from "../main.ts";
import { badge, busy, errorBox, flash, h, notice, replace } from "../ui.ts";

interface Stay {
  reservationId: string;
  externalBookingId: string;
  guestName: string | null;
  checkInDate: string;
  checkOutDate: string;
  stayState: string;
}
interface Unit {
  unitId: string;
  name: string;
  typeName: string | null;
  status: string;
  reason: string;
  housekeeping: string;
  block: {
    blockId: string;
    kind: string;
    startsOn: string;
    endsOn: string;
    reason: string;
    activeToday: boolean;
  } | null;
  inHouse: Stay | null;
  nextArrival: Stay | null;
  openConflicts: number;
  removedUpstream?: boolean;
}
interface Board {
  tenantId: string;
  today: string;
  counts: Record<string, number>;
  units: Unit[];
  removedUnits?: Unit[];
}

const STATUSES = ["occupied", "reserved", "dirty", "available", "out_of_service"];
const stayText = (s: Stay) =>
  `${s.guestName ?? "guest"} · #${s.externalBookingId} · ${s.checkInDate} → ${s.checkOutDate}`;

export async function roomsPage(ctx: PageContext) {
  const { client, main } = ctx;
  const { tenants } = await client.tenants();
  const chosen = ctx.query.get("tenant") ?? tenants[0]?.tenantId ?? "";
  const select = h(
    "select",
    { id: "rooms-hotel" },
    tenants.map((t) =>
      h("option", { value: t.tenantId, selected: t.tenantId === chosen }, `${t.name} (${t.slug})`)
    ),
  );
  select.addEventListener("change", () => ctx.go(`rooms?tenant=${select.value}`));
  const boardEl = h("div", { id: "room-board" });
  const summary = h("div", { class: "row", id: "room-counts" });
  const reconcile = h("button", { id: "reconcile", class: "act" }, "Check for drift now");
  const showRemoved = h("input", { type: "checkbox", id: "show-removed" }) as HTMLInputElement;
  showRemoved.addEventListener("change", () => void load());
  const removedCard = (u: Unit) =>
    h(
      "div",
      { class: "card unit removed", "data-unit-id": u.unitId },
      h("strong", {}, u.name),
      u.typeName ? h("span", { class: "hint" }, ` ${u.typeName}`) : null,
      h("div", { class: "hint" }, "Removed at the hotel (trash or deleted): not a room any more."),
    );

  async function act(button: HTMLButtonElement, body: RoomAction, out: HTMLElement) {
    try {
      await busy(
        button,
        () => client.roomAction({ tenantId: chosen, ...body } as RoomAction & { tenantId: string }),
      );
      flash(notice("ok", `${body.action.replace(/_/g, " ")}: done.`));
      await load();
    } catch (err) {
      replace(out, errorBox(err));
    }
  }

  const unitCard = (u: Unit, today: string) => {
    const out = h("div", { class: "unit-result" });
    const btn = (label: string, body: RoomAction) => {
      const b = h("button", { class: "act", "aria-label": `${label}: ${u.name}` }, label);
      b.addEventListener("click", () => void act(b, body, out));
      return b;
    };
    const hk = h(
      "select",
      { "aria-label": `Housekeeping for ${u.name}`, disabled: document.body.classList.contains("viewer") },
      ["clean", "dirty", "inspected"].map((v) =>
        h("option", { value: v, selected: v === u.housekeeping }, v)
      ),
    );
    hk.addEventListener(
      "change",
      () =>
        void act(hk as unknown as HTMLButtonElement, {
          action: "set_housekeeping",
          unitId: u.unitId,
          housekeeping: hk.value as "clean",
        }, out),
    );
    const blockForm = h(
      "form",
      { class: "block-form", hidden: true },
      h(
        "label",
        {},
        "Kind ",
        h(
          "select",
          { name: "kind" },
          h("option", { value: "out_of_service" }, "out of service"),
          h("option", { value: "out_of_order" }, "out of order"),
        ),
      ),
      h("label", {}, "From ", h("input", { name: "startsOn", type: "date", value: today, required: true })),
      h("label", {}, "Until (exclusive) ", h("input", { name: "endsOn", type: "date", required: true })),
      h("label", {}, "Reason ", h("input", { name: "reason", required: true, maxlength: "500" })),
      h("button", { type: "submit", class: "danger" }, "Block"),
    );
    blockForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const data = new FormData(blockForm);
      const v = (k: string) => String(data.get(k) ?? "").trim();
      if (!v("reason") || !v("startsOn") || !v("endsOn")) {
        return replace(out, notice("error", "A block needs dates and a reason."));
      }
      if (v("endsOn") <= v("startsOn")) {
        return replace(out, notice("error", "The block must end after it starts."));
      }
      void act(blockForm.querySelector("button")!, {
        action: "block",
        unitId: u.unitId,
        kind: v("kind") as "out_of_service",
        startsOn: v("startsOn"),
        endsOn: v("endsOn"),
        reason: v("reason"),
      }, out);
    });
    const toggleBlock = h("button", {
      type: "button",
      class: "act",
      onclick: () => {
        blockForm.hidden = !blockForm.hidden;
      },
    }, "Block…");
    return h(
      "article",
      { class: `room r-${u.status}`, "data-unit-id": u.unitId, "aria-label": `${u.name}: ${u.status}` },
      h("div", { class: "row" }, h("strong", { class: "grow" }, u.name), badge(u.status)),
      u.typeName ? h("div", { class: "hint" }, u.typeName) : null,
      h("p", { class: "hint" }, u.reason),
      u.inHouse ? h("p", {}, "In house: ", stayText(u.inHouse)) : null,
      u.nextArrival ? h("p", {}, "Next arrival: ", stayText(u.nextArrival)) : null,
      u.block
        ? h(
          "p",
          {},
          `Blocked (${
            u.block.kind.replace(/_/g, " ")
          }) ${u.block.startsOn} → ${u.block.endsOn}: ${u.block.reason}`,
        )
        : null,
      u.openConflicts ? h("p", { class: "field-error" }, `${u.openConflicts} overbooking conflict(s)`) : null,
      h(
        "div",
        { class: "row" },
        u.nextArrival
          ? btn("Check in", {
            action: "check_in",
            reservationId: u.nextArrival.reservationId,
            unitId: u.unitId,
          })
          : null,
        u.inHouse
          ? btn("Check out", {
            action: "check_out",
            reservationId: u.inHouse.reservationId,
            unitId: u.unitId,
          })
          : null,
        u.inHouse
          ? btn("Undo check-in", {
            action: "undo_check_in",
            reservationId: u.inHouse.reservationId,
            unitId: u.unitId,
          })
          : null,
        u.block ? btn("Unblock", { action: "unblock", blockId: u.block.blockId }) : toggleBlock,
      ),
      h("label", {}, "Housekeeping ", hk),
      blockForm,
      out,
    );
  };

  async function load() {
    if (!chosen) return replace(boardEl, notice("info", "Add a hotel first."));
    try {
      const board = await client.roomBoard({ tenantId: chosen }) as unknown as Board;
      const removed = board.removedUnits ?? [];
      replace(
        summary,
        STATUSES.map((s) => h("span", {}, badge(s), ` ${board.counts?.[s] ?? 0}`)),
        h("span", { class: "hint" }, `Today ${board.today}`),
        removed.length ? h("label", { class: "hint" }, showRemoved, ` Show ${removed.length} removed`) : null,
      );
      const cards = [
        ...board.units.map((u) => unitCard(u, board.today)),
        ...(showRemoved.checked ? removed.map(removedCard) : []),
      ];
      replace(
        boardEl,
        cards.length ? h("div", { class: "board" }, cards) : notice("info", "No rooms yet: sync the hotel."),
      );
    } catch (err) {
      replace(boardEl, errorBox(err));
    }
  }
  reconcile.addEventListener("click", async () => {
    try {
      const r = await busy(
        reconcile,
        () =>
          client.roomAction({ action: "reconcile", tenantId: chosen } as RoomAction & { tenantId: string }),
      ) as { checked?: number; changed?: number };
      flash(notice("ok", `Checked ${r.checked ?? 0} room(s); repaired ${r.changed ?? 0}.`));
      await load();
    } catch (err) {
      flash(errorBox(err));
    }
  });
  replace(
    main,
    h(
      "div",
      { class: "row" },
      h("h1", { class: "grow" }, "Rooms"),
      h("label", { for: "rooms-hotel" }, "Hotel"),
      select,
      reconcile,
    ),
    summary,
    boardEl,
  );
  await load();
}
