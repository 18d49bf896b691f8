// The client and the mapper over payloads in the real plugin's serialized shapes
// (tests/fixtures/motopress/, written from the reference's §3-4 and the live run's observations):
// every status, trash/draft by id, a two-room booking, iCal imports and blocks, the error bodies and
// the HTML pages a site answers instead. The fixture transport answers as WordPress would.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createMotoPressClient, MotoPressError } from "../../supabase/functions/_shared/motopress/client.ts";
import { mapBooking } from "../../supabase/functions/_shared/sync/booking-mapper.ts";

const dir = path.join(import.meta.dirname, "../fixtures/motopress");
const read = (file: string) => readFileSync(path.join(dir, file), "utf8");
const json = (name: string) => JSON.parse(read(`${name}.json`));
const SITE = "https://example-hotel.com";

/** Items by resource and id, from every item fixture. */
const items: Record<string, Map<number, { name: string; body: unknown }>> = {
  accommodation_types: new Map(),
  accommodations: new Map(),
  bookings: new Map(),
};
for (const file of readdirSync(dir).filter((f) => f.endsWith(".json") && !f.startsWith("error-"))) {
  const name = file.slice(0, -5);
  const body = json(name);
  const resource = name.startsWith("accommodation-type")
    ? "accommodation_types"
    : name.startsWith("accommodation")
    ? "accommodations"
    : "bookings";
  items[resource].set(body.id, { name, body });
}

const LIVE_IN_LISTS: Record<string, string[]> = {
  accommodation_types: ["publish", "pending", "private"],
  accommodations: ["publish", "pending", "private"],
  bookings: ["pending-user", "pending-payment", "pending", "abandoned", "confirmed", "cancelled"],
};

/** Answers GETs from the fixtures: lists hold the listed statuses, by id every item (trash too). */
function fixtureSite(override?: (url: URL) => Response | null) {
  let requests = 0;
  const answer = (input: Request | string | URL): Response => {
    requests++;
    const url = new URL(String(input));
    const o = override?.(url);
    if (o) return o;
    const m = /^\/wp-json\/mphb\/v1\/(accommodation_types|accommodations|bookings)(?:\/(\d+))?$/.exec(
      url.pathname,
    );
    if (!m) {
      return new Response(read("error-no-route.json"), {
        status: 404,
        headers: { "Content-Type": "application/json" },
      });
    }
    const store = items[m[1]];
    if (m[2]) {
      const item = store.get(Number(m[2]));
      const code = {
        accommodation_types: "mphb_room_type",
        accommodations: "mphb_room",
        bookings: "mphb_booking",
      }[m[1]];
      return item ? Response.json(item.body) : Response.json({
        code: `mphb_rest_invalid_${code}_id`,
        message: "Invalid ID.",
        data: { status: 404 },
      }, { status: 404 });
    }
    const listed = [...store.values()].map((i) => i.body as { id: number; status: string })
      .filter((b) => LIVE_IN_LISTS[m[1]].includes(b.status)).sort((a, b) => a.id - b.id);
    return Response.json(listed, {
      headers: { "X-WP-Total": String(listed.length), "X-WP-TotalPages": "1" },
    });
  };
  const fetch = (input: Request | string | URL) => Promise.resolve(answer(input));
  const client = createMotoPressClient({
    siteUrl: SITE,
    consumerKey: "ck_x",
    consumerSecret: "cs_x",
    fetch,
    sleep: async () => {},
    random: () => 0,
  });
  return { client, requests: () => requests };
}

async function first<T>(pages: AsyncIterable<{ items: T[]; itemErrors: unknown[] }>) {
  for await (const page of pages) return page;
  throw new Error("no page");
}

describe("accommodation types over the fixtures", () => {
  it("a type listing a deleted service ({id:null,title:null}) is kept, with its live services only", async () => {
    const { client } = fixtureSite();
    const page = await first(client.accommodationTypes());
    expect(page.itemErrors).toEqual([]);
    const t = page.items.find((x) => x.id === 43)!;
    expect(t).toMatchObject({
      title: "Bed & Breakfast Suite",
      serviceIds: [310],
      deletedServices: 1,
      amenities: ["Tea & Coffee", "Wi-Fi"],
    });
    expect(page.items.find((x) => x.id === 121)).toMatchObject({
      status: "pending",
      title: "Cabaña Familiar",
    });
  });

  it("a trashed type is out of the list and gone by id", async () => {
    const { client } = fixtureSite();
    expect((await first(client.accommodationTypes())).items.map((x) => x.id)).not.toContain(122);
    expect(await client.accommodationType(122)).toBeNull();
    expect(await client.accommodationType(43)).toMatchObject({ id: 43 });
    expect(await client.accommodationType(999)).toBeNull();
  });
});

describe("units over the fixtures", () => {
  it.each([
    [132, "Cabaña del Mar \u2013 12"], // Privado: (es), status private
    [133, "Habitación Doble \u2013 3"], // Protegido: (es), password-protected, status publish
    [134, "Chambre \u201cVue mer\u201d \u2013 4"], // Privé&nbsp;: (fr)
    [135, "Owner\u2019s Cottage"], // Protected: (en)
    [136, "Suite: Sea view & terrace \u2013 5"], // a real colon stays
    [138, "Private: the pool villa"], // a published unit keeps a "Private:" that is part of its name
    [131, "Deluxe Double \u2013 201"],
  ])("unit %i is named %j", async (id, title) => {
    const { client } = fixtureSite();
    const page = await first(client.accommodations());
    expect(page.items.find((u) => u.id === id)?.title).toBe(title);
    expect((await client.accommodation(id))?.title).toBe(title);
  });

  it("trash and draft (restored) units are out of the list and gone by id", async () => {
    const { client } = fixtureSite();
    const listed = (await first(client.accommodations())).items.map((u) => u.id);
    for (const id of [139, 140]) {
      expect(listed).not.toContain(id);
      expect(await client.accommodation(id)).toBeNull();
    }
  });
});

describe("bookings over the fixtures: client, then mapper", () => {
  it("every listed booking parses; every status maps with its own value", async () => {
    const { client } = fixtureSite();
    const page = await first(client.bookings());
    expect(page.itemErrors).toEqual([]);
    const statuses = new Set(page.items.map((b) => b.status));
    expect([...statuses].sort()).toEqual([
      "abandoned",
      "cancelled",
      "confirmed",
      "pending",
      "pending-payment",
      "pending-user",
    ]);
    for (const b of page.items) {
      const m = mapBooking(b);
      if (m.ok) expect(m.reservation.status).toBe(b.status);
    }
  });

  it.each([4604, 4605, 4606])(
    "booking %i (trash, draft, auto-draft) is gone by id, never an error",
    async (id) => {
      const { client } = fixtureSite();
      expect(await client.booking(id)).toBeNull();
    },
  );

  it("two rooms: one junction row per room, the first is the reservation's", async () => {
    const { client } = fixtureSite();
    const m = mapBooking((await client.booking(4521))!);
    expect(m.ok && m.rooms.map((r) => r.unit_id)).toEqual([131, 137]);
    expect(m.ok && m.reservation).toMatchObject({
      first_unit: 131,
      check_in_time: "15:00:00",
      check_out_time: "11:00:00",
      guest_phone_last4: "3456",
    });
  });

  it.each([
    [4630, "imported", "Reserved", "4821", "2025-08-09"],
    [4631, "block", "Airbnb (Not available)", null, "2025-08-09"],
    [4632, "block", "CLOSED - Not available", null, "2025-08-09"],
    [4633, "imported", "Reserved", null, "2025-08-04"], // zero nights: an event without DTEND
  ])("iCal booking %i is %s (%s), guest counts unknown", async (id, kind, summary, last4, checkOut) => {
    const { client } = fixtureSite();
    const m = mapBooking((await client.booking(id))!);
    if (!m.ok) throw new Error(m.reason);
    expect(m.reservation).toMatchObject({
      kind,
      ical_summary: summary,
      guest_phone_last4: last4,
      check_out_date: checkOut,
      adults: null,
      children: null,
    });
  });

  it("a direct booking with rate 0, a deleted unit, a deleted coupon and an undated note is stored", async () => {
    const { client } = fixtureSite();
    const b = (await client.booking(4610))!;
    expect(b.reservedAccommodations[0]).toMatchObject({
      rateId: null,
      accommodationTypeId: null,
      accommodationId: 9999,
    });
    expect([b.couponCode, b.internalNotes[0].dateUtc]).toEqual(["57", null]);
    const m = mapBooking(b);
    expect(m.ok && m.rooms[0]).toMatchObject({ unit_id: 9999, type_id: null });
  });

  it.each([
    [4611, /no reserved accommodation, so it has no room to link/],
    [4612, /Room 1 of the booking names no accommodation .*Reassign the room/],
  ])("booking %i cannot be stored and the quarantine says why", async (id, reason) => {
    const { client } = fixtureSite();
    const m = mapBooking((await client.booking(id))!);
    expect(m.ok).toBe(false);
    expect(!m.ok && m.reason).toMatch(reason);
  });
});

describe("error answers over the fixtures", () => {
  const answer = (status: number, body: string, type = "application/json; charset=UTF-8") => () =>
    new Response(body, { status, headers: { "Content-Type": type } });
  const failure = async (p: Promise<unknown>) => {
    const e = await p.then(() => null, (err) => err);
    expect(e).toBeInstanceOf(MotoPressError);
    return e as MotoPressError;
  };

  it.each(
    [
      ["error-cannot-view.json", 401, "MOTOPRESS_AUTH_FAILED", 2, /key is unknown, was revoked/],
      ["error-cannot-view-single.json", 401, "MOTOPRESS_AUTH_FAILED", 2, /key is unknown, was revoked/],
      ["error-invalid-username.json", 401, "MOTOPRESS_AUTH_FAILED", 1, /^Unknown consumer key/],
      ["error-wrong-secret.json", 401, "MOTOPRESS_AUTH_FAILED", 1, /^Wrong consumer secret/],
      ["error-no-read-permission.json", 401, "MOTOPRESS_FORBIDDEN", 1, /no read permission/],
      ["error-forbidden-no-capability.json", 403, "MOTOPRESS_FORBIDDEN", 1, /Administrator or Hotel Manager/],
      ["error-no-route.json", 404, "MOTOPRESS_NOT_FOUND", 1, /no mphb\/v1 REST route/],
      [
        "error-rest-disabled.json",
        401,
        "MOTOPRESS_REST_DISABLED",
        1,
        /switched off or limited to logged-in users/,
      ],
      ["error-per-page.json", 400, "MOTOPRESS_INVALID_PARAM", 1, /per_page must be between 1/],
      [
        "home-page-plain-permalinks.html",
        200,
        "MOTOPRESS_PLAIN_PERMALINKS",
        1,
        /Plain permalinks.*https:\/\/example-hotel\.com\/\?rest_route=\//,
      ],
      ["cloudflare-challenge.html", 200, "MOTOPRESS_BLOCKED", 1, /Cloudflare/],
      ["cloudflare-challenge.html", 403, "MOTOPRESS_BLOCKED", 1, /Cloudflare/],
      ["wordfence-block.html", 403, "MOTOPRESS_BLOCKED", 1, /Wordfence/],
      ["wordfence-block.html", 200, "MOTOPRESS_BLOCKED", 1, /Wordfence/],
    ] as const,
  )("%s with HTTP %i: %s after %i request(s)", async (file, status, code, requests, message) => {
    const type = file.endsWith(".html") ? "text/html; charset=UTF-8" : "application/json; charset=UTF-8";
    const site = fixtureSite(answer(status, read(file), type));
    const e = await failure(
      file.includes("single") ? site.client.booking(4521) : first(site.client.bookings()),
    );
    expect([e.code, e.status, site.requests()]).toEqual([code, status, requests]);
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain("cs_x");
  });

  it("MotoPress's JSON labelled text/html by the host is still read as JSON", async () => {
    const body = read("booking-two-rooms.json");
    const site = fixtureSite((url) =>
      url.pathname.endsWith("/bookings/4521") ? answer(200, body, "text/html; charset=UTF-8")() : null
    );
    expect((await site.client.booking(4521))?.id).toBe(4521);
  });

  it("a 404 whose JSON was cut short is asked again, not read as gone or as a missing route", async () => {
    let calls = 0;
    const cut = read("error-invalid-booking-id.json").slice(0, 30);
    const site = fixtureSite((url) =>
      url.pathname.endsWith("/bookings/4521") && calls++ === 0 ? answer(404, cut)() : null
    );
    expect((await site.client.booking(4521))?.id).toBe(4521);
    expect(site.requests()).toBe(2);
  });

  it("the invalid-id 404s mean gone, for each type", async () => {
    const ids: Record<string, string> = {
      bookings: "booking",
      accommodations: "room",
      accommodation_types: "room-type",
    };
    for (const [resource, name] of Object.entries(ids)) {
      const site = fixtureSite((url) =>
        url.pathname.includes(`/${resource}/`) ? answer(404, read(`error-invalid-${name}-id.json`))() : null
      );
      const one = resource === "bookings"
        ? site.client.booking(1)
        : resource === "accommodations"
        ? site.client.accommodation(1)
        : site.client.accommodationType(1);
      expect(await one).toBeNull();
    }
  });
});
