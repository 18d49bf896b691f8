import { createRng } from "./prng.ts";

export type Resource = "accommodation_types" | "accommodations" | "bookings";

export type FaultKind =
  | "http5xx"
  | "timeout"
  | "html200"
  | "waf403"
  /** Wordfence's block page (403 HTML): a security plugin, deterministic. */
  | "wordfence403"
  | "malformedJson"
  | "truncatedJson"
  | "connectionReset"
  | "rateLimit429";

export interface FaultRule {
  kind: FaultKind;
  /** Fires on the next `times` matching requests (default 1 unless `rate` is given, then unlimited). */
  times?: number;
  /** Probability per matching request, drawn from the seeded fault PRNG. */
  rate?: number;
  resource?: Resource;
  /** Only list requests for this page number. */
  page?: number;
  /** For http5xx: 500/502/503/504 (default 503). */
  status?: number;
  /** For rateLimit429 (and http5xx, optional): the Retry-After header in seconds. */
  retryAfterSeconds?: number;
}

export interface ShiftBetweenPages {
  /** After each bookings list page is served, hard-delete this many of the lowest-id bookings. */
  deleteLowest?: number;
  /** ... and create this many new bookings (they get the highest ids). */
  add?: number;
  /** How many served pages trigger the shift (default 1). */
  times?: number;
}

/** A cache or plugin that answers every page of a list with its first page, announcing a huge total. */
export interface EndlessPages {
  resource?: Resource;
  /** X-WP-TotalPages sent with every page (default 1,000,000). */
  totalPages?: number;
}

/** A list answered gzip-encoded whatever the request asked, small as sent and huge once decoded. */
export interface GzipBomb {
  resource?: Resource;
  /** The decoded size in bytes (default 64 MB). */
  decodedBytes?: number;
}

/** Friendly knobs (as named in the project brief) that compile into rules; `rules` is the general form. */
export interface FaultConfig {
  seed?: number;
  latencyMsPerPage?: number;
  errorRate5xx?: number;
  fail5xxNext?: number;
  timeoutRate?: number;
  timeoutOnce?: boolean;
  timeoutNext?: number;
  /** 5xx bodies become a CDN-style HTML page instead of a WordPress JSON error. */
  htmlErrorPage?: boolean;
  html200Next?: number;
  waf403Next?: number;
  wordfence403Next?: number;
  malformedJson?: number;
  truncatedJson?: number;
  connectionReset?: number;
  rateLimit429?: { times?: number; rate?: number; retryAfterSeconds?: number };
  failPages?: { resource?: Resource; page: number; times?: number; status?: number }[];
  shiftBetweenPages?: ShiftBetweenPages;
  endlessPages?: EndlessPages;
  gzipBomb?: GzipBomb;
  rules?: FaultRule[];
}

interface LiveRule extends FaultRule {
  remaining: number;
}

export interface FaultMatch {
  rule: FaultRule;
}

export class FaultPlan {
  latencyMsPerPage = 0;
  htmlErrorPage = false;
  shift: Required<ShiftBetweenPages> | null = null;
  endless: EndlessPages | null = null;
  gzipBomb: GzipBomb | null = null;
  private rules: LiveRule[] = [];
  private rng: () => number = createRng(1);

  configure(config: FaultConfig): void {
    this.rng = createRng(config.seed ?? 1);
    this.latencyMsPerPage = config.latencyMsPerPage ?? 0;
    this.htmlErrorPage = config.htmlErrorPage ?? false;
    this.endless = config.endlessPages ?? null;
    this.gzipBomb = config.gzipBomb ?? null;
    this.shift = config.shiftBetweenPages
      ? {
        deleteLowest: config.shiftBetweenPages.deleteLowest ?? 0,
        add: config.shiftBetweenPages.add ?? 0,
        times: config.shiftBetweenPages.times ?? 1,
      }
      : null;
    const rules: FaultRule[] = [];
    if (config.rateLimit429) rules.push({ kind: "rateLimit429", ...config.rateLimit429 });
    if (config.fail5xxNext) rules.push({ kind: "http5xx", times: config.fail5xxNext });
    for (const p of config.failPages ?? []) rules.push({ kind: "http5xx", ...p });
    if (config.errorRate5xx) rules.push({ kind: "http5xx", rate: config.errorRate5xx });
    if (config.timeoutOnce) rules.push({ kind: "timeout", times: 1 });
    if (config.timeoutNext) rules.push({ kind: "timeout", times: config.timeoutNext });
    if (config.timeoutRate) rules.push({ kind: "timeout", rate: config.timeoutRate });
    if (config.waf403Next) rules.push({ kind: "waf403", times: config.waf403Next });
    if (config.wordfence403Next) rules.push({ kind: "wordfence403", times: config.wordfence403Next });
    if (config.html200Next) rules.push({ kind: "html200", times: config.html200Next });
    if (config.malformedJson) rules.push({ kind: "malformedJson", times: config.malformedJson });
    if (config.truncatedJson) rules.push({ kind: "truncatedJson", times: config.truncatedJson });
    if (config.connectionReset) rules.push({ kind: "connectionReset", times: config.connectionReset });
    rules.push(...(config.rules ?? []));
    this.rules = rules.map((r) => ({ ...r, remaining: r.times ?? (r.rate !== undefined ? Infinity : 1) }));
  }

  reset(): void {
    this.configure({});
  }

  /** Picks at most one fault for a request; counted rules are consumed only when they fire. */
  next(resource: Resource | null, page: number | null): FaultRule | null {
    for (const rule of this.rules) {
      if (rule.remaining <= 0) continue;
      if (rule.resource !== undefined && rule.resource !== resource) continue;
      if (rule.page !== undefined && rule.page !== page) continue;
      if (rule.rate !== undefined && this.rng() >= rule.rate) continue;
      rule.remaining--;
      return rule;
    }
    return null;
  }
}
