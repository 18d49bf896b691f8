import { type FaultConfig, FaultPlan, type FaultRule, type Resource } from "./faults.ts";
import {
  bookingKey,
  type BookingRecord,
  type BookingStatus,
  type CustomerRecord,
  emptyCustomer,
  generateHotel,
  type GenerateOptions,
  type HotelData,
  type IcalSource,
  makeIcal,
  type NonLiveStatus,
  type TypeRecord,
  type UnitRecord,
  uuid,
  wpTitle,
} from "./generator.ts";
import { createRng, hex } from "./prng.ts";
import { bookingJson, type SiteLanguage, typeJson, unitJson } from "./serialize.ts";
import { roomTotalFor } from "./totals.ts";

export type KeyPermission = "read" | "write" | "read_write";

export interface ApiKey {
  consumerKey: string;
  consumerSecret: string;
  permission: KeyPermission;
  /** Whether the key's WordPress user has `read_private_posts` (false: a Subscriber-level user). */
  userCanRead: boolean;
}

export interface SimulatorOptions {
  hotel?: HotelData | GenerateOptions;
  seed?: number;
  keys?: ApiKey[];
  /** Whether WordPress believes it is on HTTPS (`is_ssl()`); when false it ignores consumer keys. Default true. */
  https?: boolean;
  /** Emulates Apache/CGI hosts that drop the Authorization header before PHP. */
  stripAuthorizationHeader?: boolean;
  /**
   * Some user on the site has an application password: WordPress core then answers an unknown key sent
   * by Basic auth with 401 `invalid_username`. Default false, as on the usual hotel site, where an
   * unknown key gets the same 401 `mphb_rest_cannot_view` as no key at all.
   */
  applicationPasswordsInUse?: boolean;
  /** Settings › Permalinks. With "plain", /wp-json/ is not routed: WordPress redirects it to the home page. */
  permalinks?: "pretty" | "plain";
  /** A plugin (Disable REST API, Solid Security …) that answers every REST request 401 rest_login_required. */
  restDisabled?: boolean;
  /** The site language, for the translated private/protected title prefixes. Default "en". */
  language?: SiteLanguage;
  /** Cost of each embedded sub-request when a client sends `_embed` (quirk Q3). Default 5 ms. */
  embedLatencyMsPerItem?: number;
  /** How long a "timeout" fault holds a request before answering 504, unless the client gives up first. */
  hangMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface SimulatorStats {
  requests: number;
  apiRequests: number;
  controlRequests: number;
  byResource: Record<string, number>;
  byStatus: Record<string, number>;
  faultsInjected: Record<string, number>;
  embedRequests: number;
  bookingsServed: number;
}

export interface NewBooking {
  checkIn: string;
  checkOut: string;
  /** Empty is allowed for direct bookings: the plugin serializes `reserved_accommodations: []` when the room posts are gone. */
  rooms:
    (number | { unitId: number; adults?: number; children?: number; guestName?: string; rateId?: number })[];
  status?: BookingStatus;
  customer?: Partial<CustomerRecord>;
  /** Makes it an iCal-imported booking of that style (status confirmed, no customer, price 0). */
  ical?: IcalSource;
  totalPrice?: number;
  note?: string;
}

export interface BookingPatch {
  status?: BookingStatus | NonLiveStatus;
  checkIn?: string;
  checkOut?: string;
  rooms?: NewBooking["rooms"];
  customer?: Partial<CustomerRecord>;
  note?: string;
  totalPrice?: number;
}

export interface NewUnit {
  typeId: number;
  title?: string;
  status?: string;
  hidden?: boolean;
}

export class SimulatorError extends Error {}

const STATUSES: readonly BookingStatus[] = [
  "pending-user",
  "pending-payment",
  "pending",
  "abandoned",
  "confirmed",
  "cancelled",
];
const NON_LIVE: readonly string[] = ["trash", "draft", "auto-draft"];
const JSON_TYPE = "application/json; charset=UTF-8";

const bombs = new Map<number, Promise<Uint8Array<ArrayBuffer>>>();
/** A JSON list of one item whose title is `decodedBytes` of spaces, gzipped (made once per size). */
function gzipBombBytes(decodedBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  let made = bombs.get(decodedBytes);
  if (!made) {
    const chunk = new TextEncoder().encode(" ".repeat(1024 * 1024));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('[{"id":1,"title":"'));
        for (let left = decodedBytes; left > 0; left -= chunk.byteLength) {
          controller.enqueue(left >= chunk.byteLength ? chunk : chunk.slice(0, left));
        }
        controller.enqueue(new TextEncoder().encode('"}]'));
        controller.close();
      },
    }).pipeThrough(new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>);
    made = new Response(stream).arrayBuffer().then((b) => new Uint8Array(b));
    bombs.set(decodedBytes, made);
  }
  return made;
}
const YMD = /^\d{4}-\d{2}-\d{2}$/;
const DATE_PARAM = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}:\d{2}))?(?:Z|[+-]\d{2}:?\d{2})?$/;

const HTML_WAF_CHALLENGE = `<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head>
<body><div id="challenge-running">Checking if the site connection is secure</div></body></html>`;
const HTML_WAF_403 =
  `<!DOCTYPE html><html><head><title>Access denied | example-hotel.com used Cloudflare to restrict access</title></head>
<body><h1>Error 1020</h1><p>Access denied</p></body></html>`;
const HTML_5XX = (status: number) =>
  `<html><head><title>${status} Service Temporarily Unavailable</title></head><body><center><h1>${status} Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>`;
const HTML_404 =
  `<!DOCTYPE html><html><head><title>Page not found &#8211; Example Hotel</title></head><body><h1>Oops! That page can&rsquo;t be found.</h1></body></html>`;
/** The theme's home page; wp_head announces the REST root in the site's permalink form. */
const HTML_HOME = (restRoot: string) =>
  `<!DOCTYPE html><html lang="es-ES"><head><meta charset="UTF-8"><title>Example Hotel &#8211; Rooms by the sea</title>
<link rel="https://api.w.org/" href="${restRoot}" />
<script src="https://cdnjs.cloudflare.com/ajax/libs/jquery/3.7.1/jquery.min.js"></script></head>
<body class="home"><h1>Example Hotel</h1><p>Book your stay.</p></body></html>`;
const HTML_WORDFENCE =
  `<!DOCTYPE html><html><head><title>Your access to this site has been limited by the site owner</title></head>
<body><h1>Your access to this site has been limited by the site owner</h1><p>Generated by Wordfence at Mon, 1 Dec 2026 10:00:00 GMT.</p></body></html>`;

function wpError(
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  return new Response(JSON.stringify({ code, message, data: { status, ...extra } }), {
    status,
    headers: { "Content-Type": JSON_TYPE, ...headers },
  });
}

function invalidParam(name: string, message: string) {
  return wpError(400, "rest_invalid_param", `Invalid parameter(s): ${name}`, {
    params: { [name]: message },
    details: { [name]: { code: "rest_invalid_param", message, data: null } },
  });
}

const sleepReal = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Simulator {
  readonly hotel: HotelData;
  readonly keys: ApiKey[];
  https: boolean;
  stripAuthorizationHeader: boolean;
  applicationPasswordsInUse: boolean;
  permalinks: "pretty" | "plain";
  restDisabled: boolean;
  embedLatencyMsPerItem: number;
  readonly site: { checkInTime: string; checkOutTime: string; language: SiteLanguage } = {
    checkInTime: "15:00:00",
    checkOutTime: "11:00:00",
    language: "en",
  };

  private readonly types = new Map<number, TypeRecord>();
  private readonly units = new Map<number, UnitRecord>();
  private readonly bookings = new Map<number, BookingRecord>();
  private readonly rateTypes = new Map<number, number>();
  private bookingIdCache: BookingRecord[] | null = null;
  private readonly faults = new FaultPlan();
  private readonly hangs = new Set<() => void>();
  private readonly rng: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly hangMs: number;
  private addedCount = 0;
  private counters: SimulatorStats = Simulator.emptyStats();

  constructor(options: SimulatorOptions = {}) {
    const seed = options.seed ?? 1;
    this.hotel = options.hotel && "units" in options.hotel && Array.isArray(options.hotel.units)
      ? options.hotel as HotelData
      : generateHotel({ seed, ...(options.hotel as GenerateOptions | undefined) });
    for (const t of this.hotel.types) {
      this.types.set(t.id, t);
      this.rateTypes.set(t.rateId, t.id);
    }
    for (const u of this.hotel.units) this.units.set(u.id, u);
    for (const b of this.hotel.bookings) this.bookings.set(b.id, b);
    this.rng = createRng(seed ^ 0x5eed);
    this.keys = options.keys ?? [{
      consumerKey: `ck_${hex(this.rng, 40)}`,
      consumerSecret: `cs_${hex(this.rng, 40)}`,
      permission: "read_write",
      userCanRead: true,
    }];
    this.https = options.https ?? true;
    this.stripAuthorizationHeader = options.stripAuthorizationHeader ?? false;
    this.applicationPasswordsInUse = options.applicationPasswordsInUse ?? false;
    this.permalinks = options.permalinks ?? "pretty";
    this.restDisabled = options.restDisabled ?? false;
    this.site.language = options.language ?? "en";
    this.embedLatencyMsPerItem = options.embedLatencyMsPerItem ?? 5;
    this.hangMs = options.hangMs ?? 120_000;
    this.sleep = options.sleep ?? sleepReal;
  }

  private static emptyStats(): SimulatorStats {
    return {
      requests: 0,
      apiRequests: 0,
      controlRequests: 0,
      byResource: {},
      byStatus: {},
      faultsInjected: {},
      embedRequests: 0,
      bookingsServed: 0,
    };
  }

  get credentials(): { consumerKey: string; consumerSecret: string } {
    return { consumerKey: this.keys[0].consumerKey, consumerSecret: this.keys[0].consumerSecret };
  }

  // ---------------- control API (in-process) ----------------

  stats(): SimulatorStats {
    return structuredClone(this.counters);
  }

  resetStats(): void {
    this.counters = Simulator.emptyStats();
  }

  setFaults(config: FaultConfig): void {
    this.faults.configure(config);
  }

  resetFaults(): void {
    this.faults.reset();
  }

  setSite(options: {
    https?: boolean;
    stripAuthorizationHeader?: boolean;
    embedLatencyMsPerItem?: number;
    checkInTime?: string;
    checkOutTime?: string;
    applicationPasswordsInUse?: boolean;
    permalinks?: "pretty" | "plain";
    restDisabled?: boolean;
    language?: SiteLanguage;
  }): void {
    if (options.applicationPasswordsInUse !== undefined) {
      this.applicationPasswordsInUse = options.applicationPasswordsInUse;
    }
    if (options.permalinks !== undefined) this.permalinks = options.permalinks;
    if (options.restDisabled !== undefined) this.restDisabled = options.restDisabled;
    if (options.language !== undefined) this.site.language = options.language;
    // Settings › check-in/out time: MotoPress returns the option plus ":00" on every booking.
    if (options.checkInTime !== undefined) this.site.checkInTime = options.checkInTime;
    if (options.checkOutTime !== undefined) this.site.checkOutTime = options.checkOutTime;
    if (options.https !== undefined) this.https = options.https;
    if (options.stripAuthorizationHeader !== undefined) {
      this.stripAuthorizationHeader = options.stripAuthorizationHeader;
    }
    if (options.embedLatencyMsPerItem !== undefined) {
      this.embedLatencyMsPerItem = options.embedLatencyMsPerItem;
    }
  }

  /** Deletes an API key (Accommodation › Settings › Advanced › Revoke): it becomes an unknown key. */
  revokeKey(consumerKey: string): void {
    const i = this.keys.findIndex((k) => k.consumerKey === consumerKey);
    if (i < 0) throw new SimulatorError("no such key");
    this.keys.splice(i, 1);
  }

  addKey(options: { permission?: KeyPermission; userCanRead?: boolean } = {}): ApiKey {
    const key: ApiKey = {
      consumerKey: `ck_${hex(this.rng, 40)}`,
      consumerSecret: `cs_${hex(this.rng, 40)}`,
      permission: options.permission ?? "read_write",
      userCanRead: options.userCanRead ?? true,
    };
    this.keys.push(key);
    return key;
  }

  summary() {
    const units = [...this.units.values()];
    return {
      today: this.hotel.today,
      types: this.types.size,
      units: units.length,
      hiddenUnitIds: units.filter((u) => u.hidden).map((u) => u.id),
      bookings: this.bookings.size,
    };
  }

  /** Every booking id the site holds, trashed and draft ones included (see `listedBookingIds`). */
  bookingIds(): number[] {
    return this.sortedBookings().map((b) => b.id);
  }

  /** The ids a default list returns: the six booking statuses, never trash, draft or auto-draft. */
  listedBookingIds(): number[] {
    return this.sortedBookings().filter((b) => !NON_LIVE.includes(b.status)).map((b) => b.id);
  }

  getBooking(id: number): BookingRecord | undefined {
    return this.bookings.get(id);
  }

  getUnit(id: number): UnitRecord | undefined {
    return this.units.get(id);
  }

  listUnits(): UnitRecord[] {
    return [...this.units.values()];
  }

  listTypes(): TypeRecord[] {
    return [...this.types.values()];
  }

  addBooking(input: NewBooking): number {
    const rooms = this.toRooms(input.rooms, input.ical !== undefined);
    this.checkDates(input.checkIn, input.checkOut, input.ical !== undefined);
    const id = this.hotel.nextId++;
    const now = Date.now();
    const ical = input.ical ? makeIcal(input.ical, this.rng, true) : null;
    const status = ical ? "confirmed" : input.status ?? "confirmed";
    if (!STATUSES.includes(status)) throw new SimulatorError(`unknown status ${status}`);
    const record: BookingRecord = {
      id,
      status,
      createdUtcMs: now,
      modifiedUtcMs: now,
      checkIn: input.checkIn,
      checkOut: input.checkOut,
      customer: ical ? null : { ...emptyCustomer(), ...input.customer },
      rooms,
      totalPrice: ical ? 0 : input.totalPrice ?? this.priceOf(rooms, input.checkIn, input.checkOut),
      couponCode: "",
      checkoutId: ical ? "" : uuid(this.rng),
      payments: [],
      ical,
      note: input.note ?? "",
      internalNotes: [],
      key: ical ? "" : bookingKey(id, this.rng),
    };
    this.bookings.set(id, record);
    this.bookingIdCache = null;
    return id;
  }

  modifyBooking(id: number, patch: BookingPatch): void {
    const b = this.requireBooking(id);
    if (
      patch.status !== undefined && !STATUSES.includes(patch.status as BookingStatus) &&
      !NON_LIVE.includes(patch.status)
    ) {
      throw new SimulatorError(`unknown status ${patch.status}`);
    }
    const checkIn = patch.checkIn ?? b.checkIn;
    const checkOut = patch.checkOut ?? b.checkOut;
    this.checkDates(checkIn, checkOut, b.ical !== null);
    if (patch.rooms) b.rooms = this.toRooms(patch.rooms, b.ical !== null);
    if (patch.status) b.status = patch.status;
    if (patch.customer) b.customer = { ...(b.customer ?? emptyCustomer()), ...patch.customer };
    if (patch.note !== undefined) b.note = patch.note;
    if (patch.totalPrice !== undefined) b.totalPrice = patch.totalPrice;
    b.checkIn = checkIn;
    b.checkOut = checkOut;
    // The iCal importer updates meta in place and never bumps post_modified (Q7); admin edits do.
    if (b.ical === null) b.modifiedUtcMs = Date.now();
  }

  cancelBooking(id: number): void {
    this.modifyBooking(id, { status: "cancelled" });
  }

  /** "Move to Trash": out of the lists, still 200 by id with `status: "trash"`; its rooms stay. */
  trashBooking(id: number): void {
    this.modifyBooking(id, { status: "trash" });
  }

  /** Restore from trash: WordPress ≥ 5.6 restores to `draft`, so it stays out of the lists. */
  restoreBooking(id: number): void {
    if (this.requireBooking(id).status !== "trash") {
      throw new SimulatorError(`booking ${id} is not in the trash`);
    }
    this.modifyBooking(id, { status: "draft" });
  }

  /** An unfinished admin "Add booking": status auto-draft, no UTC date, no stay dates, no rooms. */
  addAutoDraftBooking(): number {
    const id = this.hotel.nextId++;
    const now = Date.now();
    this.bookings.set(id, {
      id,
      status: "auto-draft",
      createdUtcMs: now,
      modifiedUtcMs: now,
      checkIn: this.hotel.today,
      checkOut: this.hotel.today,
      customer: emptyCustomer(),
      rooms: [],
      totalPrice: 0,
      couponCode: "",
      checkoutId: "",
      payments: [],
      ical: null,
      note: "",
      internalNotes: [],
      key: "",
    });
    this.bookingIdCache = null;
    return id;
  }

  /** Hard delete without a tombstone, as the iCal importer does (Q7). */
  deleteBooking(id: number): void {
    this.requireBooking(id);
    this.bookings.delete(id);
    this.bookingIdCache = null;
  }

  addUnit(input: NewUnit): number {
    const type = this.types.get(input.typeId);
    if (!type) throw new SimulatorError(`no accommodation type ${input.typeId}`);
    const id = this.hotel.nextId++;
    this.units.set(id, {
      id,
      typeId: type.id,
      title: input.title ?? `${wpTitle(type.title)} &#8211; ${id}`,
      status: input.status ?? "publish",
      hidden: input.hidden ?? false,
    });
    return id;
  }

  modifyUnit(
    id: number,
    patch: { title?: string; typeId?: number; status?: string; password?: boolean },
  ): void {
    const unit = this.requireUnit(id);
    if (patch.typeId !== undefined && !this.types.has(patch.typeId)) {
      throw new SimulatorError(`no accommodation type ${patch.typeId}`);
    }
    if (patch.title !== undefined) unit.title = patch.title;
    if (patch.typeId !== undefined) unit.typeId = patch.typeId;
    if (patch.status !== undefined) unit.status = patch.status;
    if (patch.password !== undefined) unit.password = patch.password;
  }

  /** "Move to Trash" for a unit: out of /accommodations, 200 by id with `status: "trash"`. */
  trashUnit(id: number): void {
    this.requireUnit(id).status = "trash";
  }

  /** Restored from trash: `draft` (WordPress ≥ 5.6), still out of the lists until published. */
  restoreUnit(id: number): void {
    this.requireUnit(id).status = "draft";
  }

  modifyType(
    id: number,
    patch: { title?: string; status?: string; services?: TypeRecord["services"] },
  ): void {
    const type = this.types.get(id);
    if (!type) throw new SimulatorError(`no accommodation type ${id}`);
    if (patch.title !== undefined) type.title = patch.title;
    if (patch.status !== undefined) type.status = patch.status;
    if (patch.services !== undefined) type.services = patch.services;
  }

  /** A service deleted for good: every type that listed it now serializes `{id: null, title: null}`. */
  deleteService(serviceId: number): void {
    for (const t of this.types.values()) {
      t.services = t.services.map((x) => (x.id === serviceId ? { id: null, title: null } : x));
    }
  }

  deleteUnit(id: number): void {
    this.requireUnit(id);
    this.units.delete(id);
  }

  /** Makes a unit that was "created after the last accommodations sync" appear in /accommodations. */
  revealUnit(id: number): void {
    this.requireUnit(id).hidden = false;
  }

  hideUnit(id: number): void {
    this.requireUnit(id).hidden = true;
  }

  /** Changes a type's nightly rate: later responses show new per-day prices while total_price stays (Q4). */
  setRate(typeId: number, nightlyPrice: number): void {
    const type = this.types.get(typeId);
    if (!type) throw new SimulatorError(`no accommodation type ${typeId}`);
    type.nightlyPrice = nightlyPrice;
  }

  /** Releases requests held by a timeout fault, so a server can shut down promptly. */
  close(): void {
    for (const release of [...this.hangs]) release();
    this.hangs.clear();
  }

  // ---------------- HTTP ----------------

  readonly handler = (req: Request): Promise<Response> => this.handle(req);

  async handle(req: Request): Promise<Response> {
    this.counters.requests++;
    const url = new URL(req.url);
    if (url.pathname.startsWith("/__control/")) {
      this.counters.controlRequests++;
      return this.handleControl(req, url.pathname.slice("/__control/".length));
    }
    const response = await this.handleApi(req, url);
    this.counters.byStatus[response.status] = (this.counters.byStatus[response.status] ?? 0) + 1;
    if (req.method === "HEAD") {
      return new Response(null, { status: response.status, headers: response.headers });
    }
    return response;
  }

  private async handleApi(req: Request, url: URL): Promise<Response> {
    let route: string;
    let plainPermalinks = false;
    const html = { "Content-Type": "text/html; charset=UTF-8" };
    if (url.pathname === "/" && !url.searchParams.has("rest_route")) {
      const restRoot = this.permalinks === "plain" ? `${url.origin}/?rest_route=/` : `${url.origin}/wp-json/`;
      return new Response(HTML_HOME(restRoot), { status: 200, headers: html });
    }
    if (this.permalinks === "plain" && url.pathname.startsWith("/wp-json")) {
      // Without rewrite rules /wp-json/… is no route; redirect_canonical sends it to the home page.
      return new Response(null, { status: 301, headers: { Location: `${url.origin}/` } });
    }
    if (url.pathname === "/wp-json/mphb/v1" || url.pathname.startsWith("/wp-json/mphb/v1/")) {
      route = url.pathname.slice("/wp-json/mphb/v1".length);
    } else if ((url.searchParams.get("rest_route") ?? "").startsWith("/mphb/v1")) {
      route = url.searchParams.get("rest_route")!.slice("/mphb/v1".length);
      plainPermalinks = true;
    } else {
      return new Response(HTML_404, { status: 404, headers: { "Content-Type": "text/html; charset=UTF-8" } });
    }
    this.counters.apiRequests++;
    if (this.restDisabled) {
      return wpError(401, "rest_login_required", "REST API restricted to authenticated users.");
    }
    route = route.replace(/\/+$/, "");
    const match = /^\/(accommodation_types|accommodations|bookings)(?:\/(\d+))?$/.exec(route);
    const resource = (match?.[1] ?? null) as Resource | null;
    if (resource) this.counters.byResource[resource] = (this.counters.byResource[resource] ?? 0) + 1;
    const pageParam = Number(url.searchParams.get("page") ?? "1");
    const fault = this.faults.next(resource, match?.[2] ? null : pageParam);
    if (fault) {
      this.counters.faultsInjected[fault.kind] = (this.counters.faultsInjected[fault.kind] ?? 0) + 1;
      const early = await this.earlyFault(fault, req);
      if (early) return early;
    }
    const response = await this.route(req, url, route, match, plainPermalinks);
    return fault ? this.lateFault(fault, response) : response;
  }

  private async earlyFault(fault: FaultRule, req: Request): Promise<Response | null> {
    switch (fault.kind) {
      case "rateLimit429":
        return new Response(JSON.stringify({ message: "Too Many Requests" }), {
          status: 429,
          headers: {
            "Content-Type": "application/json",
            "Retry-After": String(fault.retryAfterSeconds ?? 1),
          },
        });
      case "http5xx": {
        const status = fault.status ?? 503;
        const headers: Record<string, string> = {};
        if (fault.retryAfterSeconds !== undefined) headers["Retry-After"] = String(fault.retryAfterSeconds);
        if (this.faults.htmlErrorPage) {
          return new Response(HTML_5XX(status), {
            status,
            headers: { ...headers, "Content-Type": "text/html" },
          });
        }
        return wpError(
          status,
          "internal_server_error",
          "There has been a critical error on this website.",
          {},
          headers,
        );
      }
      case "timeout": {
        await new Promise<void>((resolve) => {
          const release = () => {
            clearTimeout(timer);
            this.hangs.delete(release);
            resolve();
          };
          const timer = setTimeout(release, this.hangMs);
          this.hangs.add(release);
          req.signal?.addEventListener("abort", release, { once: true });
        });
        return new Response(HTML_5XX(504), { status: 504, headers: { "Content-Type": "text/html" } });
      }
      case "wordfence403":
        return new Response(HTML_WORDFENCE, {
          status: 403,
          headers: { "Content-Type": "text/html; charset=UTF-8" },
        });
      case "waf403":
        return new Response(HTML_WAF_403, {
          status: 403,
          headers: { "Content-Type": "text/html; charset=UTF-8" },
        });
      case "html200":
        return new Response(HTML_WAF_CHALLENGE, {
          status: 200,
          headers: { "Content-Type": "text/html; charset=UTF-8" },
        });
      default:
        return null;
    }
  }

  private async lateFault(fault: FaultRule, response: Response): Promise<Response> {
    const text = await response.text();
    const headers = response.headers;
    switch (fault.kind) {
      case "malformedJson":
        // PHP notices printed before the JSON body (WP_DEBUG_DISPLAY on a production site).
        return new Response(
          `\nNotice: Undefined index: mphb_room_id in /var/www/html/wp-content/plugins/motopress-hotel-booking/includes/advanced/api/data/booking-data.php on line 412\n${text}`,
          { status: response.status, headers },
        );
      case "truncatedJson":
        return new Response(text.slice(0, Math.max(1, Math.floor(text.length * 0.6))), {
          status: response.status,
          headers,
        });
      case "connectionReset": {
        const bytes = new TextEncoder().encode(text);
        const half = bytes.slice(0, Math.floor(bytes.length / 2));
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(half);
            controller.error(new Error("ECONNRESET (simulated)"));
          },
        });
        const h = new Headers(headers);
        h.delete("content-length");
        return new Response(stream, { status: response.status, headers: h });
      }
      default:
        return new Response(text, { status: response.status, headers });
    }
  }

  private authenticate(req: Request, url: URL, plainPermalinks: boolean): { key: ApiKey | null } | Response {
    // The plugin's determine_current_user hook only runs for /wp-json/mphb/ URIs and only when is_ssl() (Q12).
    if (plainPermalinks || !this.https) return { key: null };
    let ck = url.searchParams.get("consumer_key");
    let cs = url.searchParams.get("consumer_secret");
    let viaBasic = false;
    const header = this.stripAuthorizationHeader ? null : req.headers.get("authorization");
    if ((!ck || !cs) && header?.toLowerCase().startsWith("basic ")) {
      try {
        const decoded = atob(header.slice(6).trim());
        const colon = decoded.indexOf(":");
        ck = decoded.slice(0, colon);
        cs = decoded.slice(colon + 1);
        viaBasic = true;
      } catch {
        ck = cs = null;
      }
    }
    if (!ck || !cs) return { key: null };
    const key = this.keys.find((k) => k.consumerKey === ck);
    if (!key) {
      // The plugin sets no error for an unknown key. WP core tries Basic credentials as an application
      // password only when some user has one (WP_Application_Passwords::is_in_use()); otherwise the
      // request is anonymous and gets 401 mphb_rest_cannot_view, like no key at all.
      if (viaBasic && this.applicationPasswordsInUse) {
        return wpError(
          401,
          "invalid_username",
          `<strong>Error:</strong> The username <strong>${ck}</strong> is not registered on this site. If you are unsure of your username, try your email address instead.`,
        );
      }
      return { key: null };
    }
    if (key.consumerSecret !== cs) {
      // No WWW-Authenticate: the fall-through to OAuth makes the plugin send it only for basic_auth (§1.4).
      return wpError(401, "mphb_rest_authentication_error", "Consumer secret is invalid.");
    }
    return { key };
  }

  private async route(
    req: Request,
    url: URL,
    route: string,
    match: RegExpExecArray | null,
    plainPermalinks: boolean,
  ): Promise<Response> {
    const auth = this.authenticate(req, url, plainPermalinks);
    if (auth instanceof Response) return auth;
    const { key } = auth;
    const reading = req.method === "GET" || req.method === "HEAD";
    if (key && reading && key.permission === "write") {
      return wpError(
        401,
        "mphb_rest_authentication_error",
        "The API key provided does not have read permissions.",
      );
    }
    const base = `${url.origin}/wp-json/mphb/v1`;
    if (route === "" && reading) {
      return Response.json({
        namespace: "mphb/v1",
        routes: {
          "/mphb/v1/bookings": {},
          "/mphb/v1/accommodations": {},
          "/mphb/v1/accommodation_types": {},
        },
      });
    }
    if (!match || !reading) {
      return wpError(404, "rest_no_route", "No route was found matching the URL and request method.");
    }
    const resource = match[1] as Resource;
    const denied = (single: boolean) =>
      key && !key.userCanRead
        ? wpError(
          403,
          "mphb_rest_cannot_view",
          single ? "Sorry, you cannot view this resource." : "Sorry, you cannot list resources.",
        )
        : !key
        ? wpError(
          401,
          "mphb_rest_cannot_view",
          single ? "Sorry, you cannot view this resource." : "Sorry, you cannot list resources.",
        )
        : null;

    if (match[2]) {
      const id = Number(match[2]);
      const item = this.findItem(resource, id);
      if (!item) {
        return wpError(
          404,
          `mphb_rest_invalid_${
            {
              bookings: "mphb_booking",
              accommodations: "mphb_room",
              accommodation_types: "mphb_room_type",
            }[resource]
          }_id`,
          "Invalid ID.",
        );
      }
      const refusal = denied(true);
      if (refusal) return refusal;
      const [body] = await this.render(resource, [item], base, url);
      return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": JSON_TYPE } });
    }
    return this.list(resource, url, base, denied(false));
  }

  private findItem(resource: Resource, id: number) {
    if (resource === "bookings") return this.bookings.get(id);
    if (resource === "accommodations") return this.units.get(id);
    return this.types.get(id);
  }

  private async list(
    resource: Resource,
    url: URL,
    base: string,
    refusal: Response | null,
  ): Promise<Response> {
    const q = url.searchParams;
    const int = (name: string, fallback: number, min: number, max = Infinity): number | Response => {
      const raw = q.get(name);
      if (raw === null || raw === "") return fallback;
      if (!/^-?\d+$/.test(raw)) return invalidParam(name, `${name} is not of type integer.`);
      const n = Number(raw);
      if (n < min || n > max) {
        return invalidParam(
          name,
          max === Infinity
            ? `${name} must be greater than or equal to ${min}`
            : `${name} must be between ${min} (inclusive) and ${max} (inclusive)`,
        );
      }
      return n;
    };
    const perPage = int("per_page", 10, 1, 100);
    if (perPage instanceof Response) return perPage;
    const page = int("page", 1, 1);
    if (page instanceof Response) return page;
    const offset = q.has("offset") ? int("offset", 0, 0) : null;
    if (offset instanceof Response) return offset;
    const order = q.get("order") ?? "desc";
    if (order !== "asc" && order !== "desc") {
      return invalidParam("order", "order is not one of asc and desc.");
    }
    const orderby = q.get("orderby") ?? "date";
    if (!["date", "id", "include", "title", "slug", "modified"].includes(orderby)) {
      return invalidParam("orderby", "orderby is not one of date, id, include, title, slug, and modified.");
    }
    const offsetMs = this.hotel.utcOffsetMinutes * 60_000;
    const after = this.dateParam(q.get("after"), "after");
    if (after instanceof Response) return after;
    const before = this.dateParam(q.get("before"), "before");
    if (before instanceof Response) return before;
    if (refusal) return refusal;

    const ids = (name: string) => {
      const values = [...q.getAll(name), ...q.getAll(`${name}[]`)].flatMap((v) => v.split(",")).map(Number)
        .filter((n) => n > 0);
      return values.length ? values : null;
    };
    const include = ids("include");
    const exclude = new Set(ids("exclude") ?? []);

    let items: (BookingRecord | UnitRecord | TypeRecord)[];
    if (resource === "bookings") {
      const statuses = q.get("filter[post_status]")?.split(",").map((s) => s.trim());
      const syncFilter = this.syncIdFilter(q);
      const all = this.sortedBookings();
      // Trash, draft and auto-draft are never in a default list (the booking statuses are the public ones).
      const hidden = all.some((b) => NON_LIVE.includes(b.status));
      const noFilter = !statuses && !syncFilter && !include && !exclude.size && after === null &&
        before === null && !hidden;
      items = noFilter ? all : all.filter((b) => {
        if (statuses ? !statuses.includes(b.status) : NON_LIVE.includes(b.status)) return false;
        if (syncFilter === "EXISTS" && !b.ical) return false;
        if (syncFilter === "NOT EXISTS" && b.ical) return false;
        if (include && !include.includes(b.id)) return false;
        if (exclude.has(b.id)) return false;
        const local = b.createdUtcMs + offsetMs;
        if (after !== null && !(local > after.after)) return false;
        if (before !== null && !(local < before.before)) return false;
        return true;
      });
    } else {
      const visible = ["publish", "private", "pending"];
      const source: (UnitRecord | TypeRecord)[] = resource === "accommodations"
        ? [...this.units.values()].filter((u) => !u.hidden)
        : [...this.types.values()];
      items = source.filter((i) =>
        visible.includes(i.status) && (!include || include.includes(i.id)) && !exclude.has(i.id)
      );
    }
    items = this.sort(items, orderby, order, include);

    const endless = this.faults.endless && (this.faults.endless.resource ?? resource) === resource
      ? this.faults.endless
      : null;
    const total = endless ? (endless.totalPages ?? 1_000_000) * perPage : items.length;
    const totalPages = Math.ceil(total / perPage);
    const start = endless ? 0 : offset ?? (page - 1) * perPage;
    const slice = items.slice(start, start + perPage);
    const body = await this.render(resource, slice, base, url);
    if (resource === "bookings") this.counters.bookingsServed += slice.length;
    if (this.faults.latencyMsPerPage > 0) await this.sleep(this.faults.latencyMsPerPage);

    const headers = new Headers({
      "Content-Type": JSON_TYPE,
      "X-WP-Total": String(total),
      "X-WP-TotalPages": String(totalPages),
      "Access-Control-Expose-Headers": "X-WP-Total, X-WP-TotalPages, Link",
    });
    const links: string[] = [];
    const pageUrl = (p: number) => {
      // WordPress copies every request param into the links, credentials included (Q13).
      const u = new URL(`${base}/${resource}`);
      for (const [k, v] of q) if (k !== "page") u.searchParams.append(k, v);
      u.searchParams.set("page", String(p));
      return u.toString();
    };
    if (page > 1) links.push(`<${pageUrl(Math.min(page - 1, Math.max(totalPages, 1)))}>; rel="prev"`);
    if (page < totalPages) links.push(`<${pageUrl(page + 1)}>; rel="next"`);
    if (links.length) headers.set("Link", links.join(", "));
    const bomb = this.faults.gzipBomb;
    if (bomb && (bomb.resource ?? resource) === resource) {
      const gz = await gzipBombBytes(bomb.decodedBytes ?? 64 * 1024 * 1024);
      headers.set("Content-Encoding", "gzip");
      headers.set("Content-Length", String(gz.byteLength));
      return new Response(gz, { status: 200, headers });
    }
    const response = new Response(JSON.stringify(body), { status: 200, headers });
    if (resource === "bookings") this.applyShift();
    return response;
  }

  private dateParam(
    raw: string | null,
    name: "after" | "before",
  ): { after: number; before: number } | null | Response {
    if (raw === null || raw === "") return null;
    const m = DATE_PARAM.exec(raw.trim());
    if (!m || Number.isNaN(Date.parse(`${m[1]}T00:00:00Z`))) return invalidParam(name, "Invalid date.");
    const start = Date.parse(`${m[1]}T${m[2] ?? "00:00:00"}Z`);
    // A date-only bound covers the whole day, so `after=2025-01-01` means after 23:59:59 that day.
    return { after: m[2] ? start : start + 86_399_000, before: start };
  }

  private syncIdFilter(q: URLSearchParams): "EXISTS" | "NOT EXISTS" | null {
    for (let i = 0; i < 5; i++) {
      if (q.get(`filter[meta_query][${i}][key]`) === "_mphb_sync_id") {
        const compare = (q.get(`filter[meta_query][${i}][compare]`) ?? "EXISTS").toUpperCase();
        return compare === "NOT EXISTS" ? "NOT EXISTS" : "EXISTS";
      }
    }
    return null;
  }

  private sortedBookings(): BookingRecord[] {
    // Map insertion order is id order: new bookings always get the next (highest) id.
    this.bookingIdCache ??= [...this.bookings.values()];
    return this.bookingIdCache;
  }

  private sort<T extends { id: number }>(
    items: T[],
    orderby: string,
    order: string,
    include: number[] | null,
  ): T[] {
    const dir = order === "asc" ? 1 : -1;
    const key = (i: T): number | string => {
      const b = i as unknown as Partial<BookingRecord> & { title?: string };
      switch (orderby) {
        case "date":
          return b.createdUtcMs ?? i.id;
        case "modified":
          return b.modifiedUtcMs ?? i.id;
        case "title":
        case "slug":
          return b.title ?? "";
        case "include":
          return include ? include.indexOf(i.id) : i.id;
        default:
          return i.id;
      }
    };
    if (orderby === "id" && order === "asc") return items;
    if (orderby === "id") return [...items].reverse();
    return [...items].sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      return (ka < kb ? -1 : ka > kb ? 1 : a.id - b.id) * dir;
    });
  }

  private async render(resource: Resource, items: unknown[], base: string, url: URL): Promise<unknown[]> {
    const embed = url.searchParams.has("_embed");
    const lookup = {
      unit: (id: number) => this.units.get(id),
      type: (id: number) => this.types.get(id),
      rateType: (id: number) => this.rateTypes.get(id) ?? 0,
    };
    const out = items.map((item) => {
      if (resource === "bookings") {
        return bookingJson(item as BookingRecord, this.hotel, lookup, base, this.site);
      }
      if (resource === "accommodations") return unitJson(item as UnitRecord, base, this.site.language);
      return typeJson(item as TypeRecord, base);
    });
    if (!embed || resource === "accommodation_types") return out;
    // Each embedded link is a full internal dispatch in WordPress: slow on purpose (Q3).
    this.counters.embedRequests++;
    let subRequests = 0;
    const notFound = (code: string) => ({ code, message: "Invalid ID.", data: { status: 404 } });
    for (const body of out as Record<string, unknown>[]) {
      if (resource === "bookings") {
        const rooms = body.reserved_accommodations as { accommodation: number; accommodation_type: number }[];
        body._embedded = {
          accommodation: rooms.map((r) => {
            const u = this.units.get(r.accommodation);
            return u ? unitJson(u, base, this.site.language) : notFound("mphb_rest_invalid_mphb_room_id");
          }),
          accommodation_type: rooms.map((r) => {
            const t = this.types.get(r.accommodation_type);
            return t ? typeJson(t, base, "embed") : notFound("mphb_rest_invalid_mphb_room_type_id");
          }),
        };
        subRequests += rooms.length * 2;
      } else {
        const t = this.types.get(body.accommodation_type_id as number);
        body._embedded = {
          accommodation_type_id: [
            t ? typeJson(t, base, "embed") : notFound("mphb_rest_invalid_mphb_room_type_id"),
          ],
        };
        subRequests += 1;
      }
    }
    if (this.embedLatencyMsPerItem > 0 && subRequests > 0) {
      await this.sleep(this.embedLatencyMsPerItem * subRequests);
    }
    return out;
  }

  private applyShift(): void {
    const shift = this.faults.shift;
    if (!shift || shift.times <= 0) return;
    shift.times--;
    const victims = this.sortedBookings().slice(0, shift.deleteLowest).map((b) => b.id);
    for (const id of victims) this.deleteBooking(id);
    const units = [...this.units.values()];
    for (let i = 0; i < shift.add && units.length; i++) {
      // Far beyond the generated calendar, so added bookings never create overbooking.
      const day = this.hotel.today;
      const n = this.addedCount++;
      const checkIn = new Date(Date.parse(`${day}T00:00:00Z`) + (800 + n * 3) * 86_400_000).toISOString()
        .slice(0, 10);
      const checkOut = new Date(Date.parse(`${checkIn}T00:00:00Z`) + 2 * 86_400_000).toISOString().slice(
        0,
        10,
      );
      this.addBooking({
        checkIn,
        checkOut,
        rooms: [units[n % units.length].id],
        customer: { first_name: "Shift", last_name: `Guest ${n}` },
      });
    }
  }

  // ---------------- helpers ----------------

  private requireBooking(id: number): BookingRecord {
    const b = this.bookings.get(id);
    if (!b) throw new SimulatorError(`no booking ${id}`);
    return b;
  }

  private requireUnit(id: number): UnitRecord {
    const u = this.units.get(id);
    if (!u) throw new SimulatorError(`no accommodation ${id}`);
    return u;
  }

  /** Imports may have zero nights (an event without DTEND gets check-out = check-in). */
  private checkDates(checkIn: string, checkOut: string, zeroNightsAllowed = false): void {
    if (
      !YMD.test(checkIn) || !YMD.test(checkOut) || checkOut < checkIn ||
      (checkOut === checkIn && !zeroNightsAllowed)
    ) {
      throw new SimulatorError(`invalid stay ${checkIn}..${checkOut}`);
    }
  }

  private toRooms(rooms: NewBooking["rooms"], imported: boolean) {
    if (!Array.isArray(rooms) || (rooms.length === 0 && imported)) {
      throw new SimulatorError("an import needs a room");
    }
    return rooms.map((r) => {
      const spec: {
        unitId: number;
        adults?: number;
        children?: number;
        guestName?: string;
        rateId?: number;
      } = typeof r === "number" ? { unitId: r } : r;
      const unit = this.requireUnit(spec.unitId);
      const type = this.types.get(unit.typeId)!;
      return {
        unitId: unit.id,
        // A direct booking whose rate meta is missing serializes rate 0, like an import.
        rateId: imported ? 0 : spec.rateId ?? type.rateId,
        adults: spec.adults ?? type.adults,
        children: spec.children ?? (imported ? type.children : 0),
        guestName: spec.guestName ?? "",
      };
    });
  }

  private priceOf(rooms: { unitId: number }[], checkIn: string, checkOut: string): number {
    return roomTotalFor(
      rooms.map((r) => this.types.get(this.units.get(r.unitId)!.typeId)!.nightlyPrice),
      checkIn,
      checkOut,
    );
  }

  // ---------------- control API over HTTP ----------------

  private async handleControl(req: Request, method: string): Promise<Response> {
    let body: Record<string, unknown> = {};
    if (req.method === "POST") {
      const text = await req.text();
      try {
        body = text ? JSON.parse(text) : {};
      } catch {
        return Response.json({ error: "body must be JSON" }, { status: 400 });
      }
    } else if (req.method !== "GET") {
      return Response.json({ error: "use POST (or GET for read-only calls)" }, { status: 405 });
    }
    const id = Number(body.id);
    try {
      switch (method) {
        case "stats":
          return Response.json(this.stats());
        case "summary":
          return Response.json(this.summary());
        case "credentials":
          return Response.json({ ...this.credentials, keys: this.keys });
        case "bookingIds":
          return Response.json({ ids: this.bookingIds() });
        case "resetStats":
          this.resetStats();
          return Response.json({ ok: true });
        case "setFaults":
          this.setFaults(body as FaultConfig);
          return Response.json({ ok: true });
        case "resetFaults":
          this.resetFaults();
          return Response.json({ ok: true });
        case "setSite":
          this.setSite(body);
          return Response.json({ ok: true });
        case "addKey":
          return Response.json(this.addKey(body));
        case "addBooking":
          return Response.json({ id: this.addBooking(body as unknown as NewBooking) });
        case "modifyBooking":
          this.modifyBooking(id, (body.patch ?? {}) as BookingPatch);
          return Response.json({ ok: true });
        case "cancelBooking":
          this.cancelBooking(id);
          return Response.json({ ok: true });
        case "deleteBooking":
          this.deleteBooking(id);
          return Response.json({ ok: true });
        case "trashBooking":
          this.trashBooking(id);
          return Response.json({ ok: true });
        case "restoreBooking":
          this.restoreBooking(id);
          return Response.json({ ok: true });
        case "trashUnit":
          this.trashUnit(id);
          return Response.json({ ok: true });
        case "restoreUnit":
          this.restoreUnit(id);
          return Response.json({ ok: true });
        case "modifyType":
          this.modifyType(id, (body.patch ?? {}) as Parameters<Simulator["modifyType"]>[1]);
          return Response.json({ ok: true });
        case "deleteService":
          this.deleteService(id);
          return Response.json({ ok: true });
        case "revokeKey":
          this.revokeKey(String(body.consumerKey));
          return Response.json({ ok: true });
        case "addUnit":
          return Response.json({ id: this.addUnit(body as unknown as NewUnit) });
        case "modifyUnit":
          this.modifyUnit(id, (body.patch ?? {}) as { title?: string; typeId?: number; status?: string });
          return Response.json({ ok: true });
        case "deleteUnit":
          this.deleteUnit(id);
          return Response.json({ ok: true });
        case "revealUnit":
          this.revealUnit(id);
          return Response.json({ ok: true });
        case "hideUnit":
          this.hideUnit(id);
          return Response.json({ ok: true });
        case "setRate":
          this.setRate(Number(body.typeId), Number(body.nightlyPrice));
          return Response.json({ ok: true });
        default:
          return Response.json({ error: `unknown control method ${method}` }, { status: 404 });
      }
    } catch (error) {
      if (error instanceof SimulatorError) return Response.json({ error: error.message }, { status: 400 });
      throw error;
    }
  }
}

export type { FaultConfig, FaultRule } from "./faults.ts";
