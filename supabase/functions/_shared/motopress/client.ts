import { redact } from "../redact.ts";
import { MotoPressError } from "./errors.ts";
import { type AuthMode, type FetchLike, HttpSession, normaliseSiteUrl } from "./http.ts";
import { JsonItem, splitJsonArray } from "./json-items.ts";
import {
  type Accommodation,
  accommodationSchema,
  type AccommodationType,
  accommodationTypeSchema,
  type Booking,
  bookingSchema,
  describeIssues,
  isNonLiveStatus,
  type ItemError,
  validateBookingsPage,
  validatePage,
} from "./schemas.ts";
import type { z } from "zod";

export interface MotoPressClientConfig {
  siteUrl: string;
  consumerKey: string;
  consumerSecret: string;
  /** Default "basic". With "basic", a site that ignores the header is retried once with query-string keys. */
  authMode?: AuthMode;
  fetch?: FetchLike;
  timeoutMs?: number;
  maxRetries?: number;
  maxBadResponseRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxRetryAfterMs?: number;
  /** Pages fetched ahead of the one being consumed, including it. Default 2. */
  concurrency?: number;
  /** Items per page, 1..100. Default 100 (the API maximum). */
  perPage?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /**
   * Bounds every request and retry wait: once aborted (the invocation's deadline, a lost run),
   * requests in flight are cut off and the call fails with the signal's reason, not a MotoPress error.
   */
  signal?: AbortSignal;
  /** Checks every URL before it is fetched (net/outbound.ts); the functions always pass one. */
  guard?: (url: URL) => Promise<void>;
  /** Largest response body read, in bytes. Default 16 MB. */
  maxBodyBytes?: number;
}

export interface Page<T> {
  page: number;
  totalPages: number;
  total: number;
  items: T[];
  itemErrors: ItemError[];
  /**
   * True when the site's total changed during this scan. Upstream deletions shift later items onto
   * earlier pages; the client re-reads pages to compensate, but a caller must not infer deletions
   * ("not seen in the scan") from a scan in which any page was `unstable`.
   */
  unstable: boolean;
  /** Where the scan stands after this page: what a continuation passes back as `ScanOptions.scan`. */
  scan?: ScanState;
}

/**
 * What a scan must remember across continuations to tell a list that ends from one that does not
 * (a site that repeats page 1 while announcing a million pages).
 */
export interface ScanState {
  /** The highest id read so far: with orderby=id, every new item's id is higher. */
  lastId: number;
  /** Pages in a row, past the furthest one read, that brought no new id. */
  stalePages: number;
  /** X-WP-TotalPages of the pass's first page; null when the site sent none. */
  announcedPages: number | null;
}

/** Pages in a row without a new id after which a list is taken as endless. */
export const MAX_STALE_PAGES = 3;

/** How far past the announced page count a list may grow while it is scanned (bookings added). */
export const pagesAllowed = (announced: number) => announced + Math.max(10, announced);

export interface ClientStats {
  siteUrl: string;
  authMode: AuthMode;
  requests: number;
  retries: number;
  authFallbacks: number;
  bytesReceived: number;
  pages: number;
  items: number;
  itemErrors: number;
  rewinds: number;
  duplicatesDropped: number;
}

export interface ScanOptions {
  startPage?: number;
  /**
   * The list's total when an earlier invocation stopped the same scan. When the list has since
   * shrunk, the scan rewinds (below startPage if need be) so that no item slides past it.
   */
  knownTotal?: number | null;
  /** The scan's state after the last page an earlier invocation read (`Page.scan`). */
  scan?: ScanState | null;
}

export interface MotoPressClient {
  accommodationTypes(options?: ScanOptions): AsyncIterable<Page<AccommodationType>>;
  accommodations(options?: ScanOptions): AsyncIterable<Page<Accommodation>>;
  bookings(options?: ScanOptions): AsyncIterable<Page<Booking>>;
  /**
   * The same pages, items as received and parsed only when asked for (`JsonItem.value`):
   * validating them is the caller's (the sync parses and validates only the changed ones).
   */
  bookingItems(options?: ScanOptions): AsyncIterable<Page<JsonItem>>;
  /** `null` when the item does not exist (hard-deleted) or is trash, draft or auto-draft (all three). */
  booking(id: number): Promise<Booking | null>;
  accommodation(id: number): Promise<Accommodation | null>;
  accommodationType(id: number): Promise<AccommodationType | null>;
  /**
   * By id whatever its status (trash, draft and auto-draft included, as MotoPress answers them by
   * id): what a placeholder learns its name from. `null` only when it does not exist (404).
   */
  accommodationAnyStatus(id: number): Promise<Accommodation | null>;
  accommodationTypeAnyStatus(id: number): Promise<AccommodationType | null>;
  describe(): ClientStats;
}

interface RawPage {
  page: number;
  total: number;
  totalPages: number;
  /** The site sent X-WP-TotalPages (else `totalPages` is a guess from the page's size). */
  announced: boolean;
  items: unknown[];
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function config<T>(value: T | undefined, fallback: T, valid: (v: T) => boolean, name: string): T {
  const v = value ?? fallback;
  if (!valid(v)) {
    throw new MotoPressError("MOTOPRESS_INVALID_CONFIG", `Invalid MotoPress client option ${name}.`);
  }
  return v;
}

export function createMotoPressClient(cfg: MotoPressClientConfig): MotoPressClient {
  let siteUrl: string;
  try {
    siteUrl = normaliseSiteUrl(cfg.siteUrl);
  } catch {
    // Not echoed whole: an operator may have pasted a URL with keys in it.
    throw new MotoPressError(
      "MOTOPRESS_INVALID_CONFIG",
      `The stored site URL "${redact(cfg.siteUrl)}" is not a valid URL.`,
    );
  }
  if (!cfg.consumerKey || !cfg.consumerSecret) {
    throw new MotoPressError(
      "MOTOPRESS_INVALID_CONFIG",
      "The consumer key and consumer secret are required.",
    );
  }
  const isInt = (min: number, max = Number.MAX_SAFE_INTEGER) => (v: number) =>
    Number.isInteger(v) && v >= min && v <= max;
  const perPage = config(cfg.perPage, 100, isInt(1, 100), "perPage");
  const concurrency = config(cfg.concurrency, 2, isInt(1, 16), "concurrency");
  const http = new HttpSession({
    siteUrl,
    consumerKey: cfg.consumerKey,
    consumerSecret: cfg.consumerSecret,
    authMode: cfg.authMode ?? "basic",
    authFallback: cfg.authMode === undefined,
    fetch: cfg.fetch ?? ((input, init) => fetch(input, init)),
    timeoutMs: config(cfg.timeoutMs, 30_000, isInt(1), "timeoutMs"),
    maxRetries: config(cfg.maxRetries, 4, isInt(0, 20), "maxRetries"),
    maxBadResponseRetries: config(cfg.maxBadResponseRetries, 2, isInt(0, 20), "maxBadResponseRetries"),
    baseDelayMs: config(cfg.baseDelayMs, 500, isInt(0), "baseDelayMs"),
    maxDelayMs: config(cfg.maxDelayMs, 15_000, isInt(0), "maxDelayMs"),
    maxRetryAfterMs: config(cfg.maxRetryAfterMs, 60_000, isInt(0), "maxRetryAfterMs"),
    sleep: cfg.sleep ?? defaultSleep,
    random: cfg.random ?? Math.random,
    signal: cfg.signal,
    guard: cfg.guard,
    maxBodyBytes: config(cfg.maxBodyBytes, 16 * 1024 * 1024, isInt(1), "maxBodyBytes"),
  });
  const counters = { pages: 0, items: 0, itemErrors: 0, rewinds: 0, duplicatesDropped: 0 };

  function headerInt(headers: Headers, name: string): number | null {
    const value = headers.get(name);
    if (value === null || !/^-?\d+$/.test(value.trim())) return null;
    return Number(value);
  }

  async function fetchPage(resource: string, page: number, asItems: boolean): Promise<RawPage> {
    // orderby=id asc keeps a scan stable while bookings are created (new ids sort last); never _embed (10x slower).
    const params = { per_page: perPage, page, orderby: "id", order: "asc" };
    const response = await http.getJson(resource, params, asItems ? splitJsonArray : undefined);
    if (response === null || !Array.isArray(response.body)) {
      throw new MotoPressError(
        "MOTOPRESS_BAD_RESPONSE",
        `The site answered /${resource} page ${page} with something other than a JSON array.`,
        { status: response?.status ?? 404 },
      );
    }
    const total = headerInt(response.headers, "x-wp-total");
    const totalPages = headerInt(response.headers, "x-wp-totalpages");
    return {
      page,
      // A body the splitter did not take (an item that is not an object, say) was parsed whole.
      items: asItems ? response.body.map((x) => (x instanceof JsonItem ? x : JsonItem.of(x))) : response.body,
      // Proxies that drop X-WP-* headers: fall back to "keep going while pages are full".
      total: total ?? -1,
      announced: totalPages !== null && totalPages >= 0,
      totalPages: totalPages !== null && totalPages >= 0
        ? totalPages
        : response.body.length === perPage
        ? page + 1
        : page,
    };
  }

  async function* paginate<T>(
    resource: string,
    settle: (raw: readonly unknown[]) => { items: T[]; itemErrors: ItemError[] },
    { startPage = 1, knownTotal = null, scan = null }: ScanOptions = {},
    asItems = false,
  ): AsyncGenerator<Page<T>> {
    if (!Number.isInteger(startPage) || startPage < 1) {
      throw new MotoPressError(
        "MOTOPRESS_INVALID_CONFIG",
        `startPage must be a positive integer, got ${startPage}.`,
      );
    }
    const inflight = new Map<number, Promise<RawPage>>();
    const launch = (page: number) => {
      if (inflight.has(page)) return;
      const promise = fetchPage(resource, page, asItems);
      // A prefetched page may be abandoned (rewind, consumer stops early); its failure must not go unhandled.
      promise.catch(() => {});
      inflight.set(page, promise);
    };
    let next = startPage;
    let knownTotalPages = startPage;
    let baselineTotal: number | null = knownTotal ?? null;
    let unstable = false;
    let lastId = scan?.lastId ?? 0;
    let stalePages = scan?.stalePages ?? 0;
    let announcedPages = scan?.announcedPages ?? null;
    // Pages up to this one were read before: a rewind re-reads them, and their ids are not new.
    let furthest = startPage - 1;
    const endless = (message: string) =>
      new MotoPressError(
        "MOTOPRESS_ENDLESS_PAGES",
        `The site's /${resource} list does not end: ${message} A MotoPress list sorted by id brings new ids ` +
          "on every page up to X-WP-TotalPages; a cache or a plugin in front of the site is answering every " +
          "page alike. Check the site's caching of /wp-json/ (it must vary by the query string).",
      );
    try {
      while (next <= knownTotalPages) {
        for (let p = next; p < next + concurrency && p <= knownTotalPages; p++) launch(p);
        if (!inflight.has(next)) launch(next);
        const raw = await inflight.get(next)!;
        inflight.delete(next);

        if (baselineTotal !== null && raw.total >= 0 && raw.total !== baselineTotal) {
          unstable = true;
          if (raw.total < baselineTotal) {
            // Deleted items upstream shift later ids back by (baseline - total) positions: re-read enough
            // earlier pages to catch the ones that slid past the boundary; ids already seen are dropped.
            const back = Math.ceil((baselineTotal - raw.total) / perPage);
            const target = Math.max(knownTotal === null ? startPage : 1, next - back);
            baselineTotal = raw.total;
            knownTotalPages = Math.max(raw.totalPages, target);
            if (target < next) {
              counters.rewinds++;
              inflight.clear();
              next = target;
              continue;
            }
          }
        }
        if (raw.total >= 0) baselineTotal = raw.total;
        knownTotalPages = raw.totalPages;
        if (announcedPages === null && raw.announced) announcedPages = raw.totalPages;
        if (announcedPages !== null && raw.page > pagesAllowed(announcedPages)) {
          throw endless(
            `page ${raw.page} is still not the last, while the first page announced ${announcedPages} ` +
              `(X-WP-TotalPages now says ${raw.totalPages}).`,
          );
        }

        const fresh: unknown[] = [];
        for (const item of raw.items) {
          const id = (item as { id?: unknown } | null)?.id;
          if (typeof id === "number" && id <= lastId) {
            counters.duplicatesDropped++;
            continue;
          }
          if (typeof id === "number") lastId = id;
          fresh.push(item);
        }
        if (raw.page > furthest) {
          furthest = raw.page;
          // An empty page is the end (or a gap the totals explain), not a repeat.
          const repeated = raw.items.length > 0 && fresh.length === 0;
          stalePages = repeated ? stalePages + 1 : 0;
          if (stalePages >= MAX_STALE_PAGES) {
            throw endless(
              `${stalePages} pages in a row up to page ${raw.page} brought no id it had not already sent ` +
                `(X-WP-TotalPages: ${raw.announced ? raw.totalPages : "absent"}).`,
            );
          }
        }
        const { items, itemErrors } = settle(fresh);
        counters.pages++;
        counters.items += items.length;
        counters.itemErrors += itemErrors.length;
        yield {
          page: raw.page,
          totalPages: raw.totalPages,
          total: raw.total >= 0 ? raw.total : items.length + itemErrors.length,
          items,
          itemErrors,
          unstable,
          scan: { lastId, stalePages, announcedPages },
        };
        next++;
      }
    } finally {
      inflight.clear();
    }
  }

  async function single<T>(
    resource: string,
    id: number,
    schema: z.ZodType<T>,
    anyStatus = false,
  ): Promise<T | null> {
    if (!Number.isInteger(id) || id <= 0) {
      throw new MotoPressError(
        "MOTOPRESS_INVALID_PARAM",
        `${resource} id must be a positive integer, got ${id}.`,
      );
    }
    const response = await http.getJson(`${resource}/${id}`);
    if (response === null) return null;
    const body = response.body as { status?: unknown } | null;
    // GET by id returns trashed, restored (draft) and auto-draft posts of every type with 200; for
    // the sync they are gone until they are published again.
    if (!anyStatus && body && isNonLiveStatus(body.status)) return null;
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new MotoPressError(
        "MOTOPRESS_BAD_RESPONSE",
        `The site returned an invalid ${resource} item ${id}: ${describeIssues(parsed.error)}`,
        { status: response.status, attempts: response.attempts },
      );
    }
    return parsed.data;
  }

  return {
    accommodationTypes: (o) =>
      paginate("accommodation_types", (raw) => validatePage(accommodationTypeSchema, raw), o),
    accommodations: (o) => paginate("accommodations", (raw) => validatePage(accommodationSchema, raw), o),
    bookings: (o) => paginate("bookings", validateBookingsPage, o),
    bookingItems: (o) =>
      paginate("bookings", (raw) => ({ items: raw as JsonItem[], itemErrors: [] }), o, true),
    booking: (id) => single("bookings", id, bookingSchema),
    accommodation: (id) => single("accommodations", id, accommodationSchema),
    accommodationType: (id) => single("accommodation_types", id, accommodationTypeSchema),
    accommodationAnyStatus: (id) => single("accommodations", id, accommodationSchema, true),
    accommodationTypeAnyStatus: (id) => single("accommodation_types", id, accommodationTypeSchema, true),
    describe: () => ({ siteUrl, authMode: http.currentAuthMode, ...http.stats, ...counters }),
  };
}

export { MotoPressError } from "./errors.ts";
export type { MotoPressErrorCode } from "./errors.ts";
export type { AuthMode, FetchLike } from "./http.ts";
