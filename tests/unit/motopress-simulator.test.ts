import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateHotel, LOCKING_STATUSES } from "../../tools/motopress-simulator/generator.ts";
import { Simulator } from "../../tools/motopress-simulator/simulator.ts";
import { type SimulatorServer, startSimulatorServer } from "../../tools/motopress-simulator/node-server.ts";

const TODAY = "2025-07-01";

describe("generateHotel", () => {
  it("is deterministic per seed", () => {
    const a = generateHotel({ seed: 3, bookings: 300, today: TODAY });
    expect(JSON.stringify(generateHotel({ seed: 3, bookings: 300, today: TODAY }))).toBe(JSON.stringify(a));
    expect(JSON.stringify(generateHotel({ seed: 4, bookings: 300, today: TODAY }))).not.toBe(
      JSON.stringify(a),
    );
  });

  // Generation speed is measured by `npm run bench`, not asserted here.
  it("generates 50,000 bookings over 500 units without overbooking a unit", () => {
    const hotel = generateHotel({ seed: 1, bookings: 50_000, units: 500, types: 10, today: TODAY });
    expect(hotel.bookings).toHaveLength(50_000);
    expect(hotel.units).toHaveLength(500);
    const ids = hotel.bookings.map((b) => b.id);
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1])).toBe(true);
    const nights = new Map<string, number>();
    for (const b of hotel.bookings) {
      if (!LOCKING_STATUSES.has(b.status)) continue;
      for (const r of b.rooms) {
        for (let d = Date.parse(b.checkIn); d < Date.parse(b.checkOut); d += 86_400_000) {
          const k = `${r.unitId}:${d}`;
          nights.set(k, (nights.get(k) ?? 0) + 1);
        }
      }
    }
    expect([...nights.values()].filter((n) => n > 1)).toEqual([]);
  });

  it("produces the realistic mix a sync must cope with", () => {
    const hotel = generateHotel({
      seed: 1,
      bookings: 2_000,
      types: 5,
      unitsPerType: 4,
      today: TODAY,
      hiddenUnits: 2,
    });
    const b = hotel.bookings;
    const count = (f: (x: typeof b[number]) => boolean) => b.filter(f).length;
    expect(count((x) => x.rooms.length >= 2)).toBeGreaterThan(50);
    expect(
      count((x) =>
        x.ical?.summary === '"Reserved"' &&
        /^"Reservation URL: https:\/\/www\.airbnb\.com\/hosting\/reservations\/details\/HM[A-Z0-9]{8}\nPhone Number \(Last 4 Digits\): \d{4}"$/
          .test(x.ical.description)
      ),
    ).toBeGreaterThan(20);
    expect(count((x) => x.ical?.summary === "Reserved")).toBeGreaterThan(0); // some sites send them unquoted
    expect(count((x) => x.ical?.summary === '"Airbnb (Not available)"')).toBeGreaterThan(20);
    expect(count((x) => x.ical?.summary === '"CLOSED - Not available"')).toBeGreaterThan(20);
    for (const s of ["pending", "pending-payment", "pending-user", "cancelled", "abandoned", "confirmed"]) {
      expect(count((x) => x.status === s), s).toBeGreaterThan(0);
    }
    expect(count((x) => x.checkIn === "2025-06-30" && x.checkOut > TODAY)).toBeGreaterThan(20); // in-house today
    expect(count((x) => x.checkOut < "2025-01-01")).toBeGreaterThan(100);
    expect(count((x) => x.checkIn > "2026-08-01")).toBeGreaterThan(10);
    const hidden = hotel.units.filter((u) => u.hidden).map((u) => u.id);
    expect(hidden).toHaveLength(2);
    for (const id of hidden) expect(count((x) => x.rooms.some((r) => r.unitId === id))).toBeGreaterThan(0);
    expect(hotel.units.filter((u) => u.title.includes("&#8211;"))).toHaveLength(20);
    // Type titles as kses stores them: a named entity and `&amp;` pass through `the_title` into unit titles.
    expect(hotel.units.some((u) => u.title.includes("Caba&ntilde;a"))).toBe(true);
    expect(hotel.units.some((u) => u.title.includes("Bed &amp; Breakfast"))).toBe(true);
    expect(hotel.types.some((t) => t.services.some((x) => x.id === null && x.title === null))).toBe(true);
    expect(hotel.units.filter((u) => u.status === "private")).toHaveLength(1);
    expect(hotel.units.filter((u) => u.password)).toHaveLength(1);
    expect(hotel.types.filter((t) => t.status === "pending")).toHaveLength(1);
  });
});

describe("simulator HTTP behaviour", () => {
  let sim: Simulator;
  let server: SimulatorServer;
  let auth: string;
  const get = (path: string, headers: Record<string, string> = { Authorization: auth }, method = "GET") =>
    fetch(`${server.url}${path}`, { headers, method });
  const api = (path: string) => get(`/wp-json/mphb/v1${path}`);

  beforeAll(async () => {
    sim = new Simulator({
      seed: 2,
      hotel: { bookings: 235, types: 3, unitsPerType: 3, today: TODAY },
      embedLatencyMsPerItem: 0,
    });
    server = await startSimulatorServer({ port: 0, simulator: sim });
    auth = `Basic ${btoa(`${sim.credentials.consumerKey}:${sim.credentials.consumerSecret}`)}`;
  });
  afterAll(() => server.close());

  it("paginates like WordPress: default 10 per page, date desc, headers and Link", async () => {
    const r = await api("/bookings?page=2");
    const body = await r.json();
    expect(r.headers.get("content-type")).toBe("application/json; charset=UTF-8");
    expect([r.headers.get("x-wp-total"), r.headers.get("x-wp-totalpages")]).toEqual(["235", "24"]);
    expect(body).toHaveLength(10);
    const created = body.map((b: { date_created_utc: string }) => b.date_created_utc);
    expect([...created].sort().reverse()).toEqual(created);
    expect(r.headers.get("link")).toBe(
      `<${server.url}/wp-json/mphb/v1/bookings?page=1>; rel="prev", <${server.url}/wp-json/mphb/v1/bookings?page=3>; rel="next"`,
    );
  });

  it("answers an out-of-range page with 200 [] and prev pointing at the last page", async () => {
    const r = await api("/bookings?per_page=100&page=9");
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual([]);
    expect(r.headers.get("x-wp-totalpages")).toBe("3");
    expect(r.headers.get("link")).toBe(
      `<${server.url}/wp-json/mphb/v1/bookings?per_page=100&page=3>; rel="prev"`,
    );
  });

  it("rejects per_page over 100 and a bad order with WordPress's rest_invalid_param body", async () => {
    const r = await api("/bookings?per_page=101");
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({
      code: "rest_invalid_param",
      message: "Invalid parameter(s): per_page",
      data: {
        status: 400,
        params: { per_page: "per_page must be between 1 (inclusive) and 100 (inclusive)" },
        details: {
          per_page: {
            code: "rest_invalid_param",
            message: "per_page must be between 1 (inclusive) and 100 (inclusive)",
            data: null,
          },
        },
      },
    });
    expect((await (await api("/bookings?order=up")).json()).data.params.order).toBe(
      "order is not one of asc and desc.",
    );
  });

  it("orders by id asc, ignores unknown params and lists cancelled and abandoned bookings", async () => {
    const body =
      await (await api("/bookings?per_page=100&orderby=id&order=asc&status=confirmed&date_from=2025-01-01"))
        .json();
    const ids = body.map((b: { id: number }) => b.id);
    expect(ids).toEqual(sim.bookingIds().slice(0, 100));
    const statuses = new Set(body.map((b: { status: string }) => b.status));
    expect(statuses.has("cancelled") && statuses.has("abandoned")).toBe(true);
  });

  it("filters by filter[post_status], the _mphb_sync_id meta query, include and after/before on date_created", async () => {
    const confirmed = await api("/bookings?per_page=100&filter[post_status]=confirmed");
    expect((await confirmed.json()).every((b: { status: string }) => b.status === "confirmed")).toBe(true);
    const imported = await (await api(
      "/bookings?per_page=100&filter[meta_query][0][key]=_mphb_sync_id&filter[meta_query][0][compare]=EXISTS",
    )).json();
    expect(imported.length).toBeGreaterThan(0);
    expect(imported.every((b: { imported: boolean }) => b.imported)).toBe(true);
    const [a, b] = sim.bookingIds();
    expect(
      (await (await api(`/bookings?include=${a},${b}&orderby=id&order=asc`)).json()).map((
        x: { id: number },
      ) => x.id),
    ).toEqual([a, b]);
    const all = await (await api("/bookings?per_page=100&orderby=id&order=asc&after=2025-03-01")).json();
    expect(all.every((x: { date_created: string }) => x.date_created > "2025-03-01T23:59:59")).toBe(true);
    expect((await api("/bookings?after=yesterday")).status).toBe(400);
  });

  it("renders booking quirks: fees.price, quoted iCal, HTML entity titles, no date_modified", async () => {
    const id = sim.addBooking({
      checkIn: "2025-09-01",
      checkOut: "2025-09-03",
      rooms: [sim.listUnits()[0].id],
      ical: "airbnb-block",
    });
    const b = await (await api(`/bookings/${id}`)).json();
    expect(b.ical_summary).toBe('"Airbnb (Not available)"');
    expect(b).not.toHaveProperty("date_modified");
    expect(b.key).toBe("");
    const direct = await (await api(`/bookings/${sim.bookingIds().find((x) => !sim.getBooking(x)!.ical)}`))
      .json();
    expect(direct.reserved_accommodations[0].fees[0]).toEqual({ label: "Cleaning fee", price: 25 });
    const unit = await (await api(`/accommodations/${sim.listUnits()[0].id}`)).json();
    expect(unit.title).toMatch(/ &#8211; /);
  });

  it("implements the authentication error table", async () => {
    const list = "/wp-json/mphb/v1/bookings";
    const bad = await get(list, { Authorization: `Basic ${btoa(`${sim.credentials.consumerKey}:cs_nope`)}` });
    expect(bad.status).toBe(401);
    // The fall-through to OAuth means the plugin sends no WWW-Authenticate for a wrong secret.
    expect(bad.headers.get("www-authenticate")).toBeNull();
    expect(await bad.json()).toEqual({
      code: "mphb_rest_authentication_error",
      message: "Consumer secret is invalid.",
      data: { status: 401 },
    });
    // An unknown key sets no error: anonymous, the same 401 as no key, by Basic and by query string.
    const unknown = await get(list, { Authorization: `Basic ${btoa("ck_unknown:cs_unknown")}` });
    expect([unknown.status, (await unknown.json()).code]).toEqual([401, "mphb_rest_cannot_view"]);
    const unknownQuery = await get(`${list}?consumer_key=ck_unknown&consumer_secret=cs_unknown`, {});
    expect([unknownQuery.status, (await unknownQuery.json()).code]).toEqual([401, "mphb_rest_cannot_view"]);
    sim.setSite({ applicationPasswordsInUse: true });
    try {
      const core = await get(list, { Authorization: `Basic ${btoa("ck_unknown:cs_unknown")}` });
      expect([core.status, (await core.json()).code]).toEqual([401, "invalid_username"]);
    } finally {
      sim.setSite({ applicationPasswordsInUse: false });
    }
    const none = await get(list, {});
    expect([none.status, (await none.json()).message]).toEqual([401, "Sorry, you cannot list resources."]);
    const id = sim.bookingIds()[0];
    expect((await (await get(`/wp-json/mphb/v1/bookings/${id}`, {})).json()).message).toBe(
      "Sorry, you cannot view this resource.",
    );
    expect((await (await get("/wp-json/mphb/v1/bookings/999999", {})).json()).code).toBe(
      "mphb_rest_invalid_mphb_booking_id",
    );
    const plain = await get(`/?rest_route=/mphb/v1/bookings`);
    expect([plain.status, (await plain.json()).code]).toEqual([401, "mphb_rest_cannot_view"]);
    const q = sim.credentials;
    const viaQuery = await get(
      `${list}?per_page=1&consumer_key=${q.consumerKey}&consumer_secret=${q.consumerSecret}`,
      {},
    );
    expect(viaQuery.status).toBe(200);
    expect(viaQuery.headers.get("link")).toContain(`consumer_secret=${q.consumerSecret}`); // Q13
    sim.setSite({ https: false });
    try {
      expect((await get(list)).status).toBe(401);
    } finally {
      sim.setSite({ https: true });
    }
  });

  it("supports HEAD, _embed and reports request counters", async () => {
    sim.resetStats();
    const head = await get("/wp-json/mphb/v1/bookings?per_page=1", { Authorization: auth }, "HEAD");
    expect([head.status, head.headers.get("x-wp-total"), await head.text()]).toEqual([
      200,
      String(sim.bookingIds().length),
      "",
    ]);
    const embedded = await (await api("/bookings?per_page=2&_embed")).json();
    expect(embedded[0]._embedded.accommodation[0].id).toBe(
      embedded[0].reserved_accommodations[0].accommodation,
    );
    expect(sim.stats()).toMatchObject({ apiRequests: 2, embedRequests: 1, byStatus: { 200: 2 } });
  });

  it("trash, restore and auto-draft: out of every list, 200 by id with their real status (types, units, bookings)", async () => {
    const listedIds = async (resource: string) =>
      (await (await api(`/${resource}?per_page=100&orderby=id&order=asc`)).json()).map((x: { id: number }) =>
        x.id
      );
    const bookingId = sim.bookingIds().find((x) =>
      sim.getBooking(x)!.status === "confirmed" && !sim.getBooking(x)!.ical
    )!;
    const total = Number((await api("/bookings?per_page=1")).headers.get("x-wp-total"));
    sim.trashBooking(bookingId);
    try {
      expect(Number((await api("/bookings?per_page=1")).headers.get("x-wp-total"))).toBe(total - 1);
      const trashed = await (await api(`/bookings/${bookingId}`)).json();
      expect([trashed.status, trashed.reserved_accommodations.length > 0]).toEqual(["trash", true]); // rooms kept
      sim.restoreBooking(bookingId);
      expect((await (await api(`/bookings/${bookingId}`)).json()).status).toBe("draft");
      expect(sim.listedBookingIds()).not.toContain(bookingId);
    } finally {
      sim.modifyBooking(bookingId, { status: "confirmed" });
    }
    expect(Number((await api("/bookings?per_page=1")).headers.get("x-wp-total"))).toBe(total);

    const unit = sim.listUnits()[2].id;
    sim.trashUnit(unit);
    expect(await listedIds("accommodations")).not.toContain(unit);
    expect((await (await api(`/accommodations/${unit}`)).json()).status).toBe("trash");
    sim.restoreUnit(unit);
    expect((await (await api(`/accommodations/${unit}`)).json()).status).toBe("draft");
    sim.modifyUnit(unit, { status: "publish" });
    expect(await listedIds("accommodations")).toContain(unit);

    const type = sim.listTypes()[0].id;
    sim.modifyType(type, { status: "trash" });
    expect(await listedIds("accommodation_types")).not.toContain(type);
    expect((await (await api(`/accommodation_types/${type}`)).json()).status).toBe("trash");
    sim.modifyType(type, { status: "publish" });

    const draft = sim.addAutoDraftBooking();
    const d = await (await api(`/bookings/${draft}`)).json();
    expect([d.status, d.date_created_utc, d.check_in_date, d.check_out_date, d.reserved_accommodations])
      .toEqual(["auto-draft", false, null, null, []]);
    expect(await listedIds("bookings")).not.toContain(draft);
    sim.deleteBooking(draft);
  });

  it("serializes a deleted service as {id: null, title: null} and keeps links to the live ones", async () => {
    const t = sim.listTypes()[1];
    const body = await (await api(`/accommodation_types/${t.id}`)).json();
    expect(body.services).toEqual([{ id: 90, title: "Breakfast" }, { id: null, title: null }]);
    expect(body._links.services).toEqual([{
      href: `${server.url}/wp-json/mphb/v1/accommodation_types/services/90`,
    }]);
    expect(body.amenities).toContainEqual({ id: 22, name: "Tea &amp; Coffee" });
  });

  it("prefixes private and password-protected unit titles in the site's language, entities kept", async () => {
    const priv = sim.listUnits().find((u) => u.status === "private")!;
    const prot = sim.listUnits().find((u) => u.password)!;
    const title = async (id: number) => (await (await api(`/accommodations/${id}`)).json()).title;
    expect(await title(priv.id)).toBe(`Private: ${priv.title}`);
    expect(await title(prot.id)).toBe(`Protected: ${prot.title}`);
    for (
      const [language, p, q] of [["es", "Privado: ", "Protegido: "], [
        "fr",
        "Priv&eacute;&nbsp;: ",
        "Prot&eacute;g&eacute;&nbsp;: ",
      ], ["de", "Privat: ", "Gesch&uuml;tzt: "]] as const
    ) {
      sim.setSite({ language });
      expect([await title(priv.id), await title(prot.id)]).toEqual([
        `${p}${priv.title}`,
        `${q}${prot.title}`,
      ]);
    }
    sim.setSite({ language: "en" });
    expect((await (await api(`/accommodations/${prot.id}`)).json()).status).toBe("publish"); // a password keeps the status
  });

  it("plain permalinks: /wp-json/ redirects to the home page, which announces ?rest_route=; there keys are not checked", async () => {
    sim.setSite({ permalinks: "plain" });
    try {
      const r = await fetch(`${server.url}/wp-json/mphb/v1/bookings`, {
        headers: { Authorization: auth },
        redirect: "manual",
      });
      expect([r.status, r.headers.get("location")]).toEqual([301, `${server.url}/`]);
      const home = await get("/wp-json/mphb/v1/bookings");
      expect([home.status, home.headers.get("content-type")]).toEqual([200, "text/html; charset=UTF-8"]);
      expect(await home.text()).toContain(
        `<link rel="https://api.w.org/" href="${server.url}/?rest_route=/" />`,
      );
      const viaRoute = await get("/?rest_route=/mphb/v1/bookings");
      expect([viaRoute.status, (await viaRoute.json()).code]).toEqual([401, "mphb_rest_cannot_view"]);
    } finally {
      sim.setSite({ permalinks: "pretty" });
    }
    expect(await (await get("/")).text()).toContain(`href="${server.url}/wp-json/"`);
  });

  it("a REST-disabling plugin answers every REST request 401 rest_login_required", async () => {
    sim.setSite({ restDisabled: true });
    try {
      const r = await api("/bookings");
      expect([r.status, (await r.json()).code]).toEqual([401, "rest_login_required"]);
    } finally {
      sim.setSite({ restDisabled: false });
    }
  });

  it("imports move in place and may have zero nights; direct bookings may have rate 0 or no rooms", async () => {
    const unit = sim.listUnits()[0].id;
    const imp = sim.addBooking({
      checkIn: "2026-03-01",
      checkOut: "2026-03-01",
      rooms: [unit],
      ical: "airbnb-reservation",
    });
    const zero = await (await api(`/bookings/${imp}`)).json();
    expect([zero.check_in_date, zero.check_out_date, zero.imported]).toEqual([
      "2026-03-01",
      "2026-03-01",
      true,
    ]);
    sim.modifyBooking(imp, { checkIn: "2026-03-02", checkOut: "2026-03-05" });
    expect((await (await api(`/bookings/${imp}`)).json()).check_out_date).toBe("2026-03-05");
    expect(() => sim.addBooking({ checkIn: "2026-03-01", checkOut: "2026-03-01", rooms: [unit] })).toThrow(
      /invalid stay/,
    );
    const rate0 = sim.addBooking({
      checkIn: "2026-04-01",
      checkOut: "2026-04-03",
      rooms: [{ unitId: unit, rateId: 0 }],
    });
    const b = await (await api(`/bookings/${rate0}`)).json();
    expect([b.reserved_accommodations[0].rate, b.imported, b._links.rate]).toEqual([0, false, undefined]);
    const none = sim.addBooking({ checkIn: "2026-04-05", checkOut: "2026-04-06", rooms: [] });
    expect((await (await api(`/bookings/${none}`)).json()).reserved_accommodations).toEqual([]);
    for (const id of [imp, rate0, none]) sim.deleteBooking(id);
  });

  it("is driven over HTTP by the /__control API", async () => {
    const control = (method: string, body: unknown = {}) =>
      fetch(`${server.url}/__control/${method}`, { method: "POST", body: JSON.stringify(body) }).then((r) =>
        r.json()
      );
    const unit = sim.listUnits()[1].id;
    const { id } = await control("addBooking", {
      checkIn: "2025-10-01",
      checkOut: "2025-10-04",
      rooms: [unit],
      customer: { first_name: "Ctl" },
    });
    expect((await (await api(`/bookings/${id}`)).json()).customer.first_name).toBe("Ctl");
    await control("cancelBooking", { id });
    expect((await (await api(`/bookings/${id}`)).json()).status).toBe("cancelled");
    await control("deleteBooking", { id });
    expect((await api(`/bookings/${id}`)).status).toBe(404);
    expect(await control("deleteBooking", { id })).toEqual({ error: `no booking ${id}` });
    await control("setFaults", { fail5xxNext: 1 });
    expect((await api("/bookings")).status).toBe(503);
    expect((await api("/bookings")).status).toBe(200);
    const { id: newUnit } = await control("addUnit", { typeId: sim.listTypes()[0].id, hidden: true });
    const listed = async () =>
      (await (await api("/accommodations?per_page=100")).json()).map((u: { id: number }) => u.id);
    expect(await listed()).not.toContain(newUnit);
    await control("revealUnit", { id: newUnit });
    expect(await listed()).toContain(newUnit);
    expect((await control("stats")).faultsInjected.http5xx).toBeGreaterThanOrEqual(1);
  });
});
