import { afterEach, describe, expect, it } from "vitest";
import {
  createMotoPressClient,
  type MotoPressClientConfig,
  MotoPressError,
} from "../../supabase/functions/_shared/motopress/client.ts";
import type { Page } from "../../supabase/functions/_shared/motopress/client.ts";
import { Simulator, type SimulatorOptions } from "../../tools/motopress-simulator/simulator.ts";
import { type SimulatorServer, startSimulatorServer } from "../../tools/motopress-simulator/node-server.ts";
import { diagnoseNetworkError } from "../../supabase/functions/_shared/motopress/diagnose.ts";
import { testCerts } from "../helpers/tls.ts";

const servers: SimulatorServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

interface Harness {
  sim: Simulator;
  url: string;
  sleeps: number[];
  urls: string[];
  client: ReturnType<typeof createMotoPressClient>;
  make(extra?: Partial<MotoPressClientConfig>): ReturnType<typeof createMotoPressClient>;
}

/** The TLS-terminating proxy in front of the simulator: https:// in, the simulator's plain socket out. */
const viaProxy = (input: Request | string | URL) => String(input).replace(/^https:/, "http:");
/** ... and back: WordPress behind such a proxy knows its https:// address, so its redirects name it. */
async function proxied(input: Request | string | URL, init?: RequestInit): Promise<Response> {
  const r = await fetch(viaProxy(input), init);
  const location = r.headers.get("location");
  if (!location?.startsWith("http:")) return r;
  const headers = new Headers(r.headers);
  headers.set("location", location.replace(/^http:/, "https:"));
  return new Response(r.body, { status: r.status, headers });
}

/**
 * The client talks to the simulator as to a site behind a TLS-terminating proxy: it is given the
 * https:// address and the transport below reaches the simulator's plain socket (the simulator's
 * `https` option is what WordPress's is_ssl() says). `scheme: "http"` registers the plain address.
 */
async function harness(
  simOptions: SimulatorOptions = {},
  clientOptions: Partial<MotoPressClientConfig> = {},
  { scheme = "https" }: { scheme?: "http" | "https" } = {},
): Promise<Harness> {
  const sim = new Simulator({
    seed: 7,
    hotel: { bookings: 250, types: 3, unitsPerType: 3, today: "2025-07-01" },
    ...simOptions,
  });
  const server = await startSimulatorServer({ port: 0, simulator: sim });
  servers.push(server);
  const sleeps: number[] = [];
  const urls: string[] = [];
  const siteUrl = scheme === "https" ? server.url.replace(/^http:/, "https:") : server.url;
  const make = (extra: Partial<MotoPressClientConfig> = {}) =>
    createMotoPressClient({
      siteUrl,
      ...sim.credentials,
      baseDelayMs: 10,
      maxDelayMs: 25,
      maxRetries: 2,
      timeoutMs: 2_000,
      random: () => 0.5,
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
      fetch: (input, init) => {
        urls.push(String(input));
        return proxied(input, init);
      },
      ...clientOptions,
      ...extra,
    });
  return { sim, url: siteUrl, sleeps, urls, client: make(), make };
}

async function collect<T>(pages: AsyncIterable<Page<T>>): Promise<Page<T>[]> {
  const out: Page<T>[] = [];
  for await (const page of pages) out.push(page);
  return out;
}

async function failure(promise: Promise<unknown>): Promise<MotoPressError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MotoPressError);
    return error as MotoPressError;
  }
  throw new Error("expected the call to fail");
}

async function firstBookingsPage(client: Harness["client"]) {
  for await (const page of client.bookings()) return page;
  throw new Error("no page");
}

describe("MotoPress client: full scans against the simulator", () => {
  it("streams every booking in id order with per_page=100, orderby=id asc and no _embed", async () => {
    const h = await harness();
    const pages = await collect(h.client.bookings());
    expect(pages.map((p) => p.page)).toEqual([1, 2, 3]);
    expect(pages.every((p) => p.totalPages === 3 && p.total === 250 && !p.unstable)).toBe(true);
    const ids = pages.flatMap((p) => p.items.map((b) => b.id));
    expect(ids).toEqual(h.sim.bookingIds());
    expect(pages.flatMap((p) => p.itemErrors)).toEqual([]);
    for (const u of h.urls) {
      const q = new URL(u).searchParams;
      expect([q.get("per_page"), q.get("orderby"), q.get("order"), q.has("_embed")]).toEqual([
        "100",
        "id",
        "asc",
        false,
      ]);
    }
    expect(h.client.describe()).toMatchObject({
      requests: 3,
      retries: 0,
      pages: 3,
      items: 250,
      authMode: "basic",
    });
  });

  it("lists types and units, decoding entity titles and leaving out units hidden since the last sync", async () => {
    const h = await harness();
    const types = (await collect(h.client.accommodationTypes())).flatMap((p) => p.items);
    const units = (await collect(h.client.accommodations())).flatMap((p) => p.items);
    expect(types.map((t) => t.id)).toEqual(h.sim.listTypes().map((t) => t.id));
    const hidden = h.sim.summary().hiddenUnitIds;
    expect(hidden).toHaveLength(1);
    expect(units.map((u) => u.id)).toEqual(h.sim.listUnits().filter((u) => !u.hidden).map((u) => u.id));
    expect(units.find((u) => u.title.includes("Bed"))).toBeUndefined(); // 3 types: no B&B type
    expect(units[0].title).toBe("Deluxe Double Room \u2013 101");
    expect(units.some((u) => u.title.includes("&#"))).toBe(false);
    // A booking references the hidden unit; a single fetch finds it before it is revealed.
    const referencing = h.sim.bookingIds().map((id) => h.sim.getBooking(id)!).find((b) =>
      b.rooms.some((r) => r.unitId === hidden[0])
    );
    expect(referencing).toBeDefined();
    expect((await h.client.accommodation(hidden[0]))?.id).toBe(hidden[0]);
    h.sim.revealUnit(hidden[0]);
    const after = (await collect(h.client.accommodations())).flatMap((p) => p.items);
    expect(after.map((u) => u.id)).toContain(hidden[0]);
  });

  it("prefetches up to `concurrency` pages at once and still yields in page order", async () => {
    let inFlight = 0;
    let peak = 0;
    const h = await harness({ hotel: { bookings: 1000, types: 3, unitsPerType: 3, today: "2025-07-01" } });
    h.sim.setFaults({ latencyMsPerPage: 20 });
    const client = h.make({
      concurrency: 3,
      fetch: async (input, init) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        try {
          const r = await fetch(viaProxy(input), init);
          await r.clone().text();
          return r;
        } finally {
          inFlight--;
        }
      },
    });
    const pages = await collect(client.bookings());
    expect(pages.map((p) => p.page)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(peak).toBe(3);
  });

  it("resumes from startPage and stops fetching when the consumer stops", async () => {
    const h = await harness({ hotel: { bookings: 1000, types: 3, unitsPerType: 3, today: "2025-07-01" } });
    const pages = await collect(h.client.bookings({ startPage: 9 }));
    expect(pages.map((p) => p.page)).toEqual([9, 10]);
    expect(pages[0].items[0].id).toBe(h.sim.bookingIds()[800]);
    const client = h.make({ concurrency: 2 });
    for await (const page of client.bookings()) {
      expect(page.page).toBe(1);
      break;
    }
    expect(client.describe().requests).toBeLessThanOrEqual(2);
  });

  it("reports an invalid item in itemErrors without losing the rest of its page", async () => {
    const h = await harness();
    const client = h.make({
      fetch: async (input, init) => {
        const r = await fetch(viaProxy(input), init);
        if (!String(input).includes("page=2")) return r;
        const body = await r.json();
        body[3].status = "on-hold";
        body[7].check_in_date = "07/10/2025";
        return new Response(JSON.stringify(body), { status: r.status, headers: r.headers });
      },
    });
    const pages = await collect(client.bookings());
    expect(pages[1].items).toHaveLength(98);
    expect(pages[1].itemErrors.map((e) => e.id)).toEqual([h.sim.bookingIds()[103], h.sim.bookingIds()[107]]);
    expect(pages[1].itemErrors[0].reason).toMatch(/^status:/);
    expect(pages[1].itemErrors[1].reason).toMatch(/^check_in_date: expected Y-m-d/);
    expect(pages.flatMap((p) => p.items)).toHaveLength(248);
  });

  it("keeps paging when a proxy strips X-WP-Total/X-WP-TotalPages", async () => {
    const h = await harness();
    const client = h.make({
      fetch: async (input, init) => {
        const r = await fetch(viaProxy(input), init);
        const headers = new Headers(r.headers);
        headers.delete("x-wp-total");
        headers.delete("x-wp-totalpages");
        return new Response(await r.text(), { status: r.status, headers });
      },
    });
    const ids = (await collect(client.bookings())).flatMap((p) => p.items.map((b) => b.id));
    expect(ids).toEqual(h.sim.bookingIds());
  });

  it("a site that repeats page 1 while announcing a million pages: stops with MOTOPRESS_ENDLESS_PAGES", async () => {
    const h = await harness();
    h.sim.setFaults({ endlessPages: { resource: "bookings" } });
    const seen: Page<unknown>[] = [];
    const err = await failure((async () => {
      for await (const page of h.client.bookingItems()) seen.push(page);
    })());
    expect(err.code).toBe("MOTOPRESS_ENDLESS_PAGES");
    expect(err.message).toContain("3 pages in a row up to page 4 brought no id");
    // Page 1's items once, then nothing new: nothing repeated was handed on.
    expect(seen.map((p) => p.items.length)).toEqual([100, 0, 0]);
    expect(seen.at(-1)?.scan).toEqual({
      lastId: expect.any(Number),
      stalePages: 2,
      announcedPages: 1_000_000,
    });
  });

  it("the judgement survives a continuation: the state a page reported is where the next invocation starts", async () => {
    const h = await harness();
    h.sim.setFaults({ endlessPages: { resource: "bookings" } });
    const first = await firstBookingsPage(h.client);
    const requests = h.urls.length;
    // One page per invocation: each starts where the last stopped, with its scan state.
    let scan = first.scan!;
    let page = 2;
    const err = await failure((async () => {
      for (;;) {
        for await (const p of h.make().bookingItems({ startPage: page, knownTotal: first.total, scan })) {
          scan = p.scan!;
          page = p.page + 1;
          break;
        }
      }
    })());
    expect(err.code).toBe("MOTOPRESS_ENDLESS_PAGES");
    expect(page).toBe(4); // pages 2 and 3 handed on (empty), page 4 refused
    expect(h.urls.length - requests).toBeLessThanOrEqual(3 * 2); // each invocation prefetches one more
  });

  it("pages far past the total the first page announced: stops, even when each brings new ids", async () => {
    const h = await harness({ hotel: { bookings: 2_500, types: 3, unitsPerType: 3, today: "2025-07-01" } });
    // A site whose total keeps moving ahead of the scan: it first announced 2 pages.
    const client = h.make({
      concurrency: 1,
      fetch: async (input, init) => {
        const r = await fetch(viaProxy(input), init);
        const page = Number(new URL(String(input)).searchParams.get("page"));
        const headers = new Headers(r.headers);
        headers.set("x-wp-totalpages", String(page + 1));
        return new Response(await r.text(), { status: r.status, headers });
      },
    });
    const pages: number[] = [];
    const err = await failure((async () => {
      for await (const p of client.bookingItems()) pages.push(p.page);
    })());
    expect(err.code).toBe("MOTOPRESS_ENDLESS_PAGES");
    expect(err.message).toContain("page 13 is still not the last, while the first page announced 2");
    expect(pages.at(-1)).toBe(12);
  });
});

describe("MotoPress client: single fetches and quirks", () => {
  it("fetches one booking, returns null after a hard delete (no tombstone)", async () => {
    const h = await harness();
    const id = h.sim.bookingIds()[10];
    expect((await h.client.booking(id))?.id).toBe(id);
    h.sim.deleteBooking(id);
    expect(await h.client.booking(id)).toBeNull();
    const ids = (await collect(h.client.bookings())).flatMap((p) => p.items.map((b) => b.id));
    expect(ids).not.toContain(id);
    expect(await h.client.accommodation(999_999)).toBeNull();
  });

  it("unquotes imported iCal summaries and tells Airbnb reservations from blocks", async () => {
    const h = await harness();
    const units = h.sim.listUnits();
    const reserved = h.sim.addBooking({
      checkIn: "2025-08-01",
      checkOut: "2025-08-04",
      rooms: [units[0].id],
      ical: "airbnb-reservation",
    });
    const block = h.sim.addBooking({
      checkIn: "2025-08-10",
      checkOut: "2025-08-12",
      rooms: [units[0].id],
      ical: "booking-block",
    });
    const r = (await h.client.booking(reserved))!;
    expect(r.icalSummary).toBe("Reserved");
    expect(r.icalDescription).toMatch(
      /^Reservation URL: https:\/\/www\.airbnb\.com\/hosting\/reservations\/details\/HM[A-Z0-9]{8}\nPhone Number \(Last 4 Digits\): \d{4}$/,
    );
    expect(r).toMatchObject({ imported: true, totalPrice: 0, key: null });
    expect(r.reservedAccommodations[0]).toMatchObject({ rateId: null, pricePerDay: [], fees: [] });
    expect((await h.client.booking(block))!.icalSummary).toBe("CLOSED - Not available");
  });

  it("shows live price breakdowns (Q4) and the unit's current type (Q6) while total_price stays", async () => {
    const h = await harness();
    const booking = h.sim.bookingIds().map((id) => h.sim.getBooking(id)!).find((b) =>
      !b.ical && b.rooms.length === 1
    )!;
    const before = (await h.client.booking(booking.id))!;
    const unit = h.sim.getUnit(booking.rooms[0].unitId)!;
    const otherType = h.sim.listTypes().find((t) => t.id !== unit.typeId)!;
    h.sim.setRate(unit.typeId, 1000);
    const repriced = (await h.client.booking(booking.id))!;
    expect(repriced.totalPrice).toBe(before.totalPrice);
    expect(repriced.reservedAccommodations[0].pricePerDay[0].price).toBeGreaterThanOrEqual(1000);
    h.sim.modifyUnit(unit.id, { typeId: otherType.id });
    expect((await h.client.booking(booking.id))!.reservedAccommodations[0].accommodationTypeId).toBe(
      otherType.id,
    );
  });
});

describe("MotoPress client: authentication", () => {
  it("wrong consumer secret: MOTOPRESS_AUTH_FAILED after one attempt, naming the fix", async () => {
    const h = await harness();
    const e = await failure(h.make({ consumerSecret: "cs_wrong" }).booking(h.sim.bookingIds()[0]));
    expect([e.code, e.status, e.attempts, e.wpCode]).toEqual([
      "MOTOPRESS_AUTH_FAILED",
      401,
      1,
      "mphb_rest_authentication_error",
    ]);
    expect(e.message).toMatch(/^Wrong consumer secret/);
  });

  it("unknown or revoked key (401 mphb_rest_cannot_view, as on most sites): says so after Basic and query keys", async () => {
    const h = await harness();
    const e = await failure(firstBookingsPage(h.make({ consumerKey: "ck_unknown", concurrency: 1 })));
    expect([e.code, e.status, e.attempts, e.wpCode]).toEqual([
      "MOTOPRESS_AUTH_FAILED",
      401,
      2,
      "mphb_rest_cannot_view",
    ]);
    expect(e.message).toMatch(
      /does not accept this consumer key .*: the key is unknown, was revoked, or its WordPress user was deleted/,
    );
    expect(e.message).not.toMatch(/Authorization header|permalink/i);
    // A key revoked after it worked gets the same answer.
    const key = h.sim.addKey();
    const client = h.make({
      consumerKey: key.consumerKey,
      consumerSecret: key.consumerSecret,
      concurrency: 1,
    });
    expect((await firstBookingsPage(client)).items).toHaveLength(100);
    h.sim.revokeKey(key.consumerKey);
    expect((await failure(firstBookingsPage(client))).message).toMatch(/unknown, was revoked/);
  });

  it("unknown key on a site with application passwords in use: WordPress's invalid_username, one request", async () => {
    const h = await harness({ applicationPasswordsInUse: true });
    const e = await failure(firstBookingsPage(h.make({ consumerKey: "ck_unknown", concurrency: 1 })));
    expect([e.code, e.attempts, e.wpCode]).toEqual(["MOTOPRESS_AUTH_FAILED", 1, "invalid_username"]);
    expect(e.message).toMatch(/^Unknown consumer key/);
  });

  it("write-only key: MOTOPRESS_FORBIDDEN about read permission", async () => {
    const h = await harness();
    const key = h.sim.addKey({ permission: "write" });
    const e = await failure(
      firstBookingsPage(h.make({ consumerKey: key.consumerKey, consumerSecret: key.consumerSecret })),
    );
    expect([e.code, e.status, e.attempts]).toEqual(["MOTOPRESS_FORBIDDEN", 401, 1]);
    expect(e.message).toMatch(/no read permission/);
  });

  it("key of a user without the capability: MOTOPRESS_FORBIDDEN 403", async () => {
    const h = await harness();
    const key = h.sim.addKey({ userCanRead: false });
    const e = await failure(
      firstBookingsPage(h.make({ consumerKey: key.consumerKey, consumerSecret: key.consumerSecret })),
    );
    expect([e.code, e.status, e.attempts]).toEqual(["MOTOPRESS_FORBIDDEN", 403, 1]);
    expect(e.message).toMatch(/Administrator or Hotel Manager/);
  });

  it("plain-HTTP site ignoring keys: tries query keys once, then MOTOPRESS_HTTPS_REQUIRED", async () => {
    const h = await harness({ https: false }, {}, { scheme: "http" });
    const e = await failure(firstBookingsPage(h.client));
    expect([e.code, e.status, e.attempts]).toEqual(["MOTOPRESS_HTTPS_REQUIRED", 401, 2]);
    expect(e.message).toMatch(
      /plain http:\/\/, and MotoPress accepts API keys only over HTTPS .*Register the site's https:\/\/ address/,
    );
    expect(e.url).not.toContain(h.sim.credentials.consumerSecret);
    expect(h.client.describe().authFallbacks).toBe(1);
  });

  it("host that strips the Authorization header: falls back to query keys and keeps using them", async () => {
    const h = await harness({ stripAuthorizationHeader: true });
    const pages = await collect(h.client.bookings());
    expect(pages.flatMap((p) => p.items)).toHaveLength(250);
    expect(h.client.describe()).toMatchObject({ authMode: "query", authFallbacks: 1, requests: 4 });
    expect(new URL(h.urls.at(-1)!).searchParams.get("consumer_key")).toBe(h.sim.credentials.consumerKey);
  });

  it("explicit authMode basic does not fall back, and names the stripped header as a cause", async () => {
    const h = await harness({ stripAuthorizationHeader: true });
    const e = await failure(firstBookingsPage(h.make({ authMode: "basic", concurrency: 1 })));
    expect([e.code, e.attempts]).toEqual(["MOTOPRESS_AUTH_FAILED", 1]);
    expect(e.message).toMatch(/strips the Authorization header/);
  });

  it("explicit authMode query sends no Authorization header and works", async () => {
    const h = await harness({ stripAuthorizationHeader: true });
    const authHeaders: (string | null)[] = [];
    const client = h.make({
      authMode: "query",
      concurrency: 1,
      fetch: (input, init) => {
        authHeaders.push(new Headers(init?.headers).get("authorization"));
        return fetch(viaProxy(input), init);
      },
    });
    expect((await firstBookingsPage(client)).items).toHaveLength(100);
    expect(authHeaders).toEqual([null]);
    expect(client.describe()).toMatchObject({ requests: 1, authFallbacks: 0 });
  });
});

describe("MotoPress client: a stored key or secret past Latin-1", () => {
  it("is sent as UTF-8 Basic auth (RFC 7617) and answered by the site, never a crash in btoa", async () => {
    const h = await harness();
    const sent: string[] = [];
    const client = h.make({
      consumerSecret: "cs_geheim-\u2603-\u{1F511}",
      concurrency: 1,
      fetch: (input, init) => {
        sent.push(new Headers(init?.headers).get("authorization") ?? "");
        return fetch(viaProxy(input), init);
      },
    });
    const e = await failure(firstBookingsPage(client));
    // The site's own verdict on that secret: a MotoPress error with its code, not a TypeError.
    expect(e).toBeInstanceOf(MotoPressError);
    expect(e.code).toBe("MOTOPRESS_AUTH_FAILED");
    const decoded = Buffer.from(sent[0].replace(/^Basic /, ""), "base64").toString("utf8");
    expect(decoded.endsWith(":cs_geheim-\u2603-\u{1F511}")).toBe(true);
  });
});

describe("MotoPress client: faults and retries", () => {
  it("503 twice then success: 2 retries with full-jitter backoff", async () => {
    const h = await harness();
    h.sim.setFaults({ fail5xxNext: 2 });
    const page = await firstBookingsPage(h.make({ concurrency: 1 }));
    expect(page.items).toHaveLength(100);
    expect(h.sleeps).toEqual([5, 10]); // random 0.5 x min(25, 10 * 2^(n-1))
  });

  it("persistent 503 with an HTML body: MOTOPRESS_UNAVAILABLE after maxRetries + 1 attempts", async () => {
    const h = await harness();
    h.sim.setFaults({ errorRate5xx: 1, htmlErrorPage: true });
    const e = await failure(firstBookingsPage(h.client));
    expect([e.code, e.status, e.attempts]).toEqual(["MOTOPRESS_UNAVAILABLE", 503, 3]);
    expect(e.message).toMatch(/^The site answered 503 with an HTML error page/);
    expect(h.sleeps).toEqual([5, 10]);
  });

  it("failures pinned to page 3 of bookings are retried and the scan completes", async () => {
    const h = await harness();
    h.sim.setFaults({ failPages: [{ resource: "bookings", page: 3, times: 2, status: 502 }] });
    const pages = await collect(h.client.bookings());
    expect(pages.flatMap((p) => p.items)).toHaveLength(250);
    expect(h.client.describe()).toMatchObject({ retries: 2, requests: 5 });
    expect(h.sim.stats().faultsInjected).toEqual({ http5xx: 2 });
  });

  it("a request that hangs once is aborted at timeoutMs and retried", async () => {
    // 1 s, not less: the retried page (100 bookings priced per request) must fit in it on a loaded machine.
    const h = await harness({}, { timeoutMs: 1_000 });
    h.sim.setFaults({ timeoutOnce: true });
    const page = await firstBookingsPage(h.make({ concurrency: 1 }));
    expect(page.items).toHaveLength(100);
    expect(h.sleeps).toHaveLength(1);
  });

  it("a site that always hangs: MOTOPRESS_TIMEOUT after 3 attempts", async () => {
    const h = await harness({}, { timeoutMs: 60 });
    h.sim.setFaults({ timeoutRate: 1 });
    const e = await failure(h.client.booking(h.sim.bookingIds()[0]));
    expect([e.code, e.status, e.attempts]).toEqual(["MOTOPRESS_TIMEOUT", null, 3]);
    expect(e.message).toMatch(/did not answer within 60 ms/);
  });

  it("connection reset mid-body: retried; persistent resets give MOTOPRESS_UNAVAILABLE", async () => {
    const h = await harness();
    h.sim.setFaults({ connectionReset: 1 });
    expect((await firstBookingsPage(h.make({ concurrency: 1 }))).items).toHaveLength(100);
    expect(h.sleeps).toHaveLength(1);
    h.sim.setFaults({ connectionReset: 10 });
    const e = await failure(h.client.booking(h.sim.bookingIds()[0]));
    expect([e.code, e.attempts]).toEqual(["MOTOPRESS_UNAVAILABLE", 3]);
    expect(e.message).toMatch(/^Network error/);
  });

  it("429 honours Retry-After seconds", async () => {
    const h = await harness();
    h.sim.setFaults({ rateLimit429: { times: 1, retryAfterSeconds: 2 } });
    expect((await firstBookingsPage(h.make({ concurrency: 1 }))).items).toHaveLength(100);
    expect(h.sleeps).toEqual([2000]);
  });

  it("429 asking for longer than maxRetryAfterMs fails at once; persistent 429 gives MOTOPRESS_RATE_LIMITED", async () => {
    const h = await harness();
    h.sim.setFaults({ rateLimit429: { times: 1, retryAfterSeconds: 120 } });
    let e = await failure(h.client.booking(h.sim.bookingIds()[0]));
    expect([e.code, e.status, e.attempts]).toEqual(["MOTOPRESS_RATE_LIMITED", 429, 1]);
    expect(e.message).toMatch(/wait 120 s/);
    h.sim.setFaults({ rateLimit429: { rate: 1, retryAfterSeconds: 1 } });
    e = await failure(h.client.booking(h.sim.bookingIds()[0]));
    expect([e.code, e.attempts]).toEqual(["MOTOPRESS_RATE_LIMITED", 3]);
    expect(h.sleeps).toEqual([1000, 1000]);
  });

  it("200 with Cloudflare's challenge page: deterministic, not retried, names Cloudflare and the fix", async () => {
    const h = await harness({}, { maxRetries: 5, maxBadResponseRetries: 2 });
    h.sim.setFaults({ html200Next: 1 });
    const e = await failure(h.client.booking(h.sim.bookingIds()[0]));
    expect([e.code, e.status, e.attempts]).toEqual(["MOTOPRESS_BLOCKED", 200, 1]);
    expect(e.message).toMatch(
      /\("Just a moment\.\.\."\) from Cloudflare's bot protection .*skips bot checks for the path \/wp-json\/mphb\//,
    );
    expect(h.sleeps).toEqual([]);
  });

  it("plain permalinks: the home page after the redirect is recognised by its api.w.org link, in one request", async () => {
    const h = await harness({ permalinks: "plain" });
    const e = await failure(firstBookingsPage(h.make({ concurrency: 1 })));
    expect([e.code, e.status, e.attempts]).toEqual(["MOTOPRESS_PLAIN_PERMALINKS", 200, 1]);
    expect(e.message).toMatch(/Plain permalinks: \/wp-json\/ is not routed/);
    expect(e.message).toContain("?rest_route=/");
    expect(e.message).toMatch(/Settings › Permalinks/);
    expect(e.message).not.toMatch(/firewall|WAF|caching/i);
    expect(h.sim.stats().apiRequests).toBe(0); // never reached the API
  });

  it("Wordfence's 403 page: MOTOPRESS_BLOCKED naming Wordfence, not retried", async () => {
    const h = await harness();
    h.sim.setFaults({ wordfence403Next: 5 });
    const e = await failure(firstBookingsPage(h.make({ concurrency: 1 })));
    expect([e.code, e.status, e.attempts]).toEqual(["MOTOPRESS_BLOCKED", 403, 1]);
    expect(e.message).toMatch(/the Wordfence security plugin/);
  });

  it("REST API disabled by a plugin: MOTOPRESS_REST_DISABLED with the site's code and the fix, not retried", async () => {
    const h = await harness({ restDisabled: true });
    const e = await failure(firstBookingsPage(h.make({ concurrency: 1 })));
    expect([e.code, e.status, e.attempts, e.wpCode]).toEqual([
      "MOTOPRESS_REST_DISABLED",
      401,
      1,
      "rest_login_required",
    ]);
    expect(e.message).toMatch(
      /switched off or limited to logged-in users .*rest_login_required.*Allow the path \/wp-json\/mphb\//,
    );
  });

  it.each([
    ["malformedJson", { malformedJson: 50 }],
    ["truncatedJson", { truncatedJson: 50 }],
  ])("%s: retried twice then MOTOPRESS_BAD_RESPONSE; a single occurrence recovers", async (_kind, faults) => {
    const h = await harness({}, { maxRetries: 5 });
    h.sim.setFaults(faults);
    const e = await failure(firstBookingsPage(h.make({ concurrency: 1 })));
    expect([e.code, e.status, e.attempts]).toEqual(["MOTOPRESS_BAD_RESPONSE", 200, 3]);
    expect(e.message).toMatch(/malformed or truncated JSON/);
    h.sim.setFaults({ ...Object.fromEntries(Object.keys(faults).map((k) => [k, 1])) });
    expect((await firstBookingsPage(h.make({ concurrency: 1 }))).items).toHaveLength(100);
  });

  it("Cloudflare's 403 block page: MOTOPRESS_BLOCKED, not retried", async () => {
    const h = await harness();
    h.sim.setFaults({ waf403Next: 1 });
    const e = await failure(firstBookingsPage(h.make({ concurrency: 1 })));
    expect([e.code, e.status, e.attempts]).toEqual(["MOTOPRESS_BLOCKED", 403, 1]);
    expect(e.message).toMatch(/Cloudflare/);
  });

  it("wrong site path (HTML 404): MOTOPRESS_NOT_FOUND naming the URL and permalinks", async () => {
    const h = await harness();
    const e = await failure(firstBookingsPage(h.make({ siteUrl: `${h.url}/blog` })));
    expect([e.code, e.status, e.attempts]).toEqual(["MOTOPRESS_NOT_FOUND", 404, 1]);
    expect(e.message).toMatch(/check the site URL \(the WordPress address\)/);
  });

  it("rest_no_route and rest_invalid_param are reported without retries", async () => {
    const reply = (status: number, body: unknown) => () =>
      Promise.resolve(
        new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }),
      );
    const base = {
      siteUrl: "https://example-hotel.com",
      consumerKey: "ck_x",
      consumerSecret: "cs_x",
      sleep: async () => {},
    };
    let e = await failure(
      createMotoPressClient({
        ...base,
        fetch: reply(404, { code: "rest_no_route", message: "No route", data: { status: 404 } }),
      }).booking(1),
    );
    expect([e.code, e.attempts]).toEqual(["MOTOPRESS_NOT_FOUND", 1]);
    expect(e.message).toMatch(/no mphb\/v1 REST route .*not active, is older than 4\.1/);
    const perPage = {
      code: "rest_invalid_param",
      message: "Invalid parameter(s): per_page",
      data: {
        status: 400,
        params: { per_page: "per_page must be between 1 (inclusive) and 100 (inclusive)" },
      },
    };
    e = await failure(firstBookingsPage(createMotoPressClient({ ...base, fetch: reply(400, perPage) })));
    expect([e.code, e.status, e.attempts]).toEqual(["MOTOPRESS_INVALID_PARAM", 400, 1]);
    expect(e.message).toContain("per_page must be between 1 (inclusive) and 100 (inclusive)");
  });

  it("bookings deleted between pages: the client re-reads so no surviving booking is skipped", async () => {
    const h = await harness();
    const before = h.sim.bookingIds();
    h.sim.setFaults({ shiftBetweenPages: { deleteLowest: 5, add: 3, times: 1 } });
    const client = h.make({ concurrency: 1 });
    const pages = await collect(client.bookings());
    const seen = pages.flatMap((p) => p.items.map((b) => b.id));
    expect(new Set(seen).size).toBe(seen.length);
    const survivors = h.sim.bookingIds();
    expect(survivors).toHaveLength(248);
    expect(survivors.every((id) => seen.includes(id))).toBe(true);
    // The five deleted bookings had already been read on page 1 before the deletion happened.
    expect(seen.filter((id) => !survivors.includes(id))).toEqual(before.slice(0, 5));
    expect(pages.map((p) => p.page)).toEqual([1, 1, 2, 3]);
    expect(pages.slice(1).every((p) => p.unstable)).toBe(true);
    expect(client.describe()).toMatchObject({ rewinds: 1, duplicatesDropped: 95 });
  });
});

describe("MotoPress client: TLS", () => {
  it("a self-signed certificate (real TLS handshake): MOTOPRESS_TLS in one request, naming the fix", async () => {
    const sim = new Simulator({
      seed: 3,
      hotel: { bookings: 5, types: 1, unitsPerType: 1, today: "2025-07-01" },
    });
    const server = await startSimulatorServer({ port: 0, simulator: sim, tls: testCerts().selfSigned });
    servers.push(server);
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    let requests = 0;
    const client = createMotoPressClient({
      siteUrl: server.url,
      ...sim.credentials,
      sleep: async () => {},
      fetch: (input, init) => {
        requests++;
        return fetch(input, init);
      },
    });
    const e = await failure(client.booking(1));
    expect([e.code, e.status, requests]).toEqual(["MOTOPRESS_TLS", null, 1]);
    expect(e.message).toMatch(
      /HTTPS certificate is not signed by a trusted authority.*Install a certificate from a public authority for 127\.0\.0\.1/,
    );
    expect(sim.stats().apiRequests).toBe(0);
  });

  // How Deno (the functions' runtime) and Node word each failure; the e2e harness sees Deno's for real.
  it.each([
    ["invalid peer certificate: UnknownIssuer", "not signed by a trusted authority"],
    ["invalid peer certificate: BadEncoding | CaUsedAsEndEntity", "not signed by a trusted authority"],
    ["invalid peer certificate: NotValidForName", "was issued for another host name"],
    ["invalid peer certificate: Expired", "has expired"],
    ["ERR_TLS_CERT_ALTNAME_INVALID", "was issued for another host name"],
    ["CERT_HAS_EXPIRED", "has expired"],
    ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "not signed by a trusted authority"],
    ["received corrupt message of type InvalidContentType", "TLS handshake failed"],
  ])("classifies %j", (text, why) => {
    const d = diagnoseNetworkError(
      new TypeError("error sending request", { cause: new Error(text) }),
      "hotel.example",
    );
    expect([d.code, d.retry]).toEqual(["MOTOPRESS_TLS", false]);
    expect(d.message).toContain(why);
  });

  it("refused, reset and DNS failures stay retryable, each with its own words", () => {
    const d = (text: string) =>
      diagnoseNetworkError(
        new TypeError("fetch failed", {
          cause: Object.assign(new Error(text), { code: text.split(" ")[0] }),
        }),
        "h",
      );
    expect([d("ECONNREFUSED 127.0.0.1:1").retry, d("ECONNREFUSED 127.0.0.1:1").message]).toEqual([
      true,
      expect.stringMatching(/refused the connection/),
    ]);
    expect(d("ENOTFOUND hotel.invalid").message).toMatch(/does not resolve/);
    expect(d("ECONNRESET socket hang up").message).toMatch(/reset or cut/);
  });
});
