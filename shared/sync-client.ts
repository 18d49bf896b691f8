// The dashboard's typed client for the sync functions, over supabase-js `functions.invoke`.
// Server side, every call sends the admin key (as `apikey`, and as `Authorization: Bearer` for
// classic keys). In a browser (the operator console) it sends the signed-in operator's JWT as
// `Authorization: Bearer` and the project's publishable key as `apikey`: never a secret key.
// Every non-2xx answer becomes a `SyncClientError` carrying the contract's error envelope.
import {
  createClient,
  FunctionsFetchError,
  FunctionsHttpError,
  FunctionsRelayError,
  type SupabaseClient,
} from "@supabase/supabase-js";
import type { publicRun, RunRequest } from "../supabase/functions/_shared/handlers/run-api.ts";
import type { CommandCenterRequest } from "../supabase/functions/_shared/handlers/command-center.ts";
import type { RepairReport } from "../supabase/functions/_shared/sync/repair.ts";
import type { Progress } from "../supabase/functions/_shared/runs/progress.ts";
import type { listRuns, runView } from "../supabase/functions/_shared/handlers/run-views.ts";
import type { healthDetails } from "../supabase/functions/_shared/handlers/health-details.ts";
import type {
  listTenants,
  saveTenantSchema,
  testConnection,
  testConnectionSchema,
} from "../supabase/functions/_shared/handlers/tenant-admin.ts";
import type { z } from "zod";
import { createParser } from "eventsource-parser";

export type { RepairReport };

// ---------------------------------------------------------------- types

export type SyncSource = "motopress-accommodations" | "motopress-bookings";
export type FunctionName = SyncSource | "sync-command-center";
export type RunStatus = "running" | "continuing" | "completed" | "failed" | "cancelled";

/** A run as the API shows it (`publicRun`: the row without the fencing token and checkpoint). */
export type SyncRun = ReturnType<typeof publicRun>;

/** The request body every function accepts (the functions' own zod schema, as a type). */
export type SyncRequest = RunRequest;

/** `202` answer of a start: the sync continues in the background. */
export interface StartedRun {
  runId: string;
  status: "running";
  source?: FunctionName;
  tenantId?: string | null;
  resumed?: boolean;
  [extra: string]: unknown;
}

/** `200` answer of a forceCancel. */
export interface CancelResult {
  cancelled: number;
  runIds: string[];
}

/**
 * `event: progress` data: the contract's `{stage, current, total, message}`, with the data the
 * message is derived from (activity; step n of `steps`; a chain child's `part`; the fan-out's `tenant`).
 */
export type SyncProgress = Progress;

export interface ErrorEnvelope {
  error: { code: string; message: string; [detail: string]: unknown };
}

export type SyncEvent =
  | { type: "progress"; progress: SyncProgress }
  | { type: "done"; run: SyncRun }
  | { type: "error"; error: ErrorEnvelope["error"]; run?: SyncRun };

/** How a streamed run ended. A run that failed is a result, not a thrown error. */
export type StreamOutcome =
  | { ok: true; run: SyncRun }
  | { ok: false; error: ErrorEnvelope["error"]; run?: SyncRun };

export interface IntegrityCounters {
  reservationsWithoutRoom?: number;
  reservationsWithoutRooms?: number;
  quarantinedItems?: number;
  autoCreatedUnits?: number;
  overbookingConflicts?: number;
  roomStatusDrift?: number;
  [counter: string]: number | undefined;
}

export interface TenantHealth {
  tenantId: string;
  slug?: string;
  name?: string;
  lastSuccessfulSync?: { accommodations?: string | null; bookings?: string | null };
  activeRuns?: SyncRun[];
  recentFailures?: SyncRun[];
  integrity?: IntegrityCounters;
  /** Unresolved quarantined items (the 20 latest), each with the reason it could not be stored. */
  quarantine?: { entity: string; externalId: string; reason: string; lastSeenAt: string }[];
  [extra: string]: unknown;
}

/** GET ?runId=: the run, its progress, and for a chain its children with theirs. */
export type RunDetail = Awaited<ReturnType<typeof runView>>["run"];
/** GET sync-command-center?view=runs. */
export type RunList = Awaited<ReturnType<typeof listRuns>>;
/** GET sync-command-center?view=tenants (no secret, the consumer key as a hint). */
export type TenantList = Awaited<ReturnType<typeof listTenants>>;
export type TenantSummary = TenantList["tenants"][number];
/** GET sync-command-center?view=details&tenantId=: the rows behind the integrity counters. */
export type HealthDetails = Awaited<ReturnType<typeof healthDetails>>;
export type SaveTenantInput = Omit<z.input<typeof saveTenantSchema>, "action">;
export type TestConnectionInput = Omit<z.input<typeof testConnectionSchema>, "action">;
export type ConnectionTest = Awaited<ReturnType<typeof testConnection>>;

/** room-status (contract §6): the board and the operator actions. */
export type RoomAction =
  | {
    action: "check_in" | "check_out" | "undo_check_in" | "undo_check_out";
    reservationId: string;
    unitId?: string;
  }
  | { action: "set_housekeeping"; unitId: string; housekeeping: "clean" | "dirty" | "inspected" }
  | {
    action: "block";
    unitId: string;
    kind: "out_of_service" | "out_of_order";
    startsOn: string;
    endsOn: string;
    reason: string;
    force?: boolean;
  }
  | { action: "unblock"; blockId: string }
  | { action: "reconcile" };
export interface ReconcileResult {
  checked: number;
  changed: number;
  changes: { unitId: string; from: string; to: string; reason: string; cause: string }[];
}

export interface HealthReport {
  generatedAt?: string;
  tenants: TenantHealth[];
  [extra: string]: unknown;
}

/**
 * Every failure of a call: `status` is the HTTP status (0 when the server was not reached),
 * `code` the envelope's code (`RUN_IN_PROGRESS`, `TENANT_NOT_FOUND`, ...), `details` the rest of
 * the envelope (`fields`, `runId`, `startedAt`, ...).
 */
export class SyncClientError extends Error {
  override readonly name = "SyncClientError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly functionName?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The envelope as the server sent it (or as the client reconstructed it). */
  get envelope(): ErrorEnvelope {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

export function isSyncClientError(err: unknown, code?: string): err is SyncClientError {
  return err instanceof SyncClientError && (code === undefined || err.code === code);
}

// ---------------------------------------------------------------- client

export interface SyncClientOptions {
  /** Project URL, e.g. `https://<ref>.supabase.co` or `http://127.0.0.1:54321`. */
  url: string;
  /**
   * The admin key (`SYNC_ADMIN_KEY`, or the project's secret / service-role key); with
   * `accessToken`, the project's publishable key instead (it grants nothing by itself).
   */
  key: string;
  /** A signed-in operator's JWT (the console): sent as `Authorization: Bearer` on every call. */
  accessToken?: () => Promise<string | null>;
  /** Custom fetch (tests, proxies). */
  fetch?: typeof fetch;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/**
 * Node < 22 has no global WebSocket, and supabase-js 2.119 builds its realtime client eagerly,
 * which throws there. These functions never use realtime, so on such runtimes the client gets a
 * transport that only fails if realtime is actually used.
 */
class RealtimeUnavailable {
  constructor() {
    throw new Error(
      "Realtime needs a WebSocket implementation (Node 22+, or pass one); the sync client does not use it.",
    );
  }
}

function supabaseFor(options: SyncClientOptions): SupabaseClient {
  const hasWebSocket = typeof (globalThis as { WebSocket?: unknown }).WebSocket === "function";
  return createClient(options.url, options.key, {
    ...(options.accessToken ? { accessToken: options.accessToken } : {}),
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: options.fetch ? { fetch: options.fetch } : {},
    // deno-lint-ignore no-explicit-any
    ...(hasWebSocket ? {} : { realtime: { transport: RealtimeUnavailable as any } }),
  });
}

export interface SyncClient {
  /** The underlying supabase-js client. */
  readonly supabase: SupabaseClient;
  /** Command center: stale cleanup, accommodations, then bookings; one tenant, or every active tenant. */
  startSync(options?: { tenantId?: string; trigger?: "manual" | "cron" } & CallOptions): Promise<StartedRun>;
  /** One source for one tenant (`202`; the run continues in the background). */
  syncSource(source: SyncSource, options: { tenantId: string } & CallOptions): Promise<StartedRun>;
  /** Cancels every active run of one source (`source`), of one tenant or of all; without `source`, of both sources. */
  forceCancel(options?: { source?: SyncSource; tenantId?: string } & CallOptions): Promise<CancelResult>;
  /** Cancels one run by id (and its children); 409 INVALID_OPERATION when it already ended. */
  cancelRun(runId: string, options?: CallOptions): Promise<CancelResult>;
  /** Command center forceCancel: every active run of every source, all tenants. */
  cancelAll(options?: CallOptions): Promise<CancelResult>;
  /** Re-links reservations without junction rows from MotoPress; a dry run unless `apply`. */
  repair(
    options: { tenantId: string; apply?: boolean } & CallOptions,
  ): Promise<RepairReport & { runId: string | null }>;
  /** GET sync-command-center: last syncs, active runs, failures, integrity counters. */
  health(options?: { tenantId?: string } & CallOptions): Promise<HealthReport>;
  /**
   * Starts a run with `Accept: text/event-stream` and reports its events until it ends. Resolves
   * with the outcome (a failed run is `{ok: false}`); rejects with `SyncClientError` when the
   * call itself is refused (401, 404, 409, ...) or the stream breaks before the run ends.
   */
  streamProgress(
    fn: FunctionName,
    body: SyncRequest,
    onEvent?: (event: SyncEvent) => void | Promise<void>,
    options?: CallOptions,
  ): Promise<StreamOutcome>;
  /** One run by id, with its progress and children: what a page reload re-attaches to. */
  run(runId: string, options?: CallOptions): Promise<RunDetail>;
  /** The progress stream of a run already in flight (GET ?runId= with Accept: text/event-stream). */
  watchRun(
    runId: string,
    onEvent?: (event: SyncEvent) => void | Promise<void>,
    options?: CallOptions,
  ): Promise<StreamOutcome>;
  /** Active runs and the most recent finished ones. */
  listRuns(options?: { tenantId?: string; limit?: number } & CallOptions): Promise<RunList>;
  tenants(options?: CallOptions): Promise<TenantList>;
  healthDetails(options: { tenantId: string } & CallOptions): Promise<HealthDetails>;
  /** Adds (no tenantId) or edits a hotel; the consumer secret is write-only. */
  saveTenant(input: SaveTenantInput, options?: CallOptions): Promise<{ tenantId: string; created: boolean }>;
  /** Asks MotoPress for the first page of each list; a refusal is `{ok: false, message}`. */
  testConnection(input: TestConnectionInput, options?: CallOptions): Promise<ConnectionTest>;
  /** GET room-status?tenantId=: the room board (contract §6). */
  roomBoard(options: { tenantId: string } & CallOptions): Promise<Record<string, unknown>>;
  /** POST room-status: an operator action; a refusal is a SyncClientError with `details.reasons`. */
  roomAction(
    body: RoomAction & { tenantId?: string },
    options?: CallOptions,
  ): Promise<Record<string, unknown>>;
}

export function createSyncClient(options: SyncClientOptions): SyncClient;
export function createSyncClient(supabase: SupabaseClient): SyncClient;
export function createSyncClient(arg: SyncClientOptions | SupabaseClient): SyncClient {
  const supabase = "functions" in arg ? arg : supabaseFor(arg);

  async function invoke<T>(
    fn: string,
    init: { method?: "GET" | "POST"; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal },
  ): Promise<{ data: T; response: Response | undefined }> {
    const name = fn.split("?")[0];
    const { data, error, response } = await supabase.functions.invoke(fn, {
      method: init.method ?? "POST",
      body: init.body as Record<string, unknown> | undefined,
      headers: init.headers,
      signal: init.signal,
    });
    if (error) throw await toClientError(error, name);
    return { data: data as T, response };
  }

  const post = async <T>(fn: FunctionName, body: SyncRequest, opts: CallOptions = {}) =>
    (await invoke<T>(fn, { body, signal: opts.signal })).data;

  const client: SyncClient = {
    supabase,

    startSync(opts = {}) {
      const body: SyncRequest = {};
      if (opts.tenantId) body.tenantId = opts.tenantId;
      if (opts.trigger) body.trigger = opts.trigger;
      return post<StartedRun>("sync-command-center", body, opts);
    },

    syncSource(source, opts) {
      return post<StartedRun>(source, { tenantId: opts.tenantId }, opts);
    },

    async forceCancel(opts = {}) {
      const body: SyncRequest = { forceCancel: true, ...(opts.tenantId ? { tenantId: opts.tenantId } : {}) };
      const sources: SyncSource[] = opts.source
        ? [opts.source]
        : ["motopress-accommodations", "motopress-bookings"];
      const results = await Promise.all(sources.map((s) => post<CancelResult>(s, body, opts)));
      return {
        cancelled: results.reduce((n, r) => n + r.cancelled, 0),
        runIds: results.flatMap((r) => r.runIds),
      };
    },

    async repair({ tenantId, apply, signal }) {
      const body: CommandCenterRequest = { action: "repair", tenantId, ...(apply ? { apply: true } : {}) };
      return (await invoke<RepairReport & { runId: string | null }>("sync-command-center", { body, signal }))
        .data;
    },

    async cancelRun(runId, opts = {}) {
      return (await invoke<CancelResult>("sync-command-center", {
        body: { action: "cancel_run", runId },
        signal: opts.signal,
      })).data;
    },

    cancelAll(opts = {}) {
      return post<CancelResult>("sync-command-center", { forceCancel: true }, opts);
    },

    async health(opts = {}) {
      const query = opts.tenantId ? `?tenantId=${encodeURIComponent(opts.tenantId)}` : "";
      const { data } = await invoke<HealthReport>(`sync-command-center${query}`, {
        method: "GET",
        signal: opts.signal,
      });
      if (!data || typeof data !== "object" || !Array.isArray((data as HealthReport).tenants)) {
        throw new SyncClientError(200, "UNEXPECTED_RESPONSE", "The health report has no `tenants` list.", {
          body: data,
        }, "sync-command-center");
      }
      return data;
    },

    async streamProgress(fn, body, onEvent, opts = {}) {
      const { data } = await invoke<unknown>(fn, {
        body,
        headers: { Accept: "text/event-stream" },
        signal: opts.signal,
      });
      return await consumeStream(fn, data, onEvent, opts.signal);
    },

    async run(runId, opts = {}) {
      const { data } = await invoke<{ run: RunDetail }>(
        `sync-command-center?runId=${encodeURIComponent(runId)}`,
        {
          method: "GET",
          signal: opts.signal,
        },
      );
      return data.run;
    },

    async watchRun(runId, onEvent, opts = {}) {
      const { data } = await invoke<unknown>(`sync-command-center?runId=${encodeURIComponent(runId)}`, {
        method: "GET",
        headers: { Accept: "text/event-stream" },
        signal: opts.signal,
      });
      return await consumeStream("sync-command-center", data, onEvent, opts.signal);
    },

    async listRuns(opts = {}) {
      const q = new URLSearchParams({ view: "runs" });
      if (opts.tenantId) q.set("tenantId", opts.tenantId);
      if (opts.limit) q.set("limit", String(opts.limit));
      return (await invoke<RunList>(`sync-command-center?${q}`, { method: "GET", signal: opts.signal })).data;
    },

    async tenants(opts = {}) {
      return (await invoke<TenantList>("sync-command-center?view=tenants", {
        method: "GET",
        signal: opts.signal,
      })).data;
    },

    async healthDetails({ tenantId, signal }) {
      const q = new URLSearchParams({ view: "details", tenantId });
      return (await invoke<HealthDetails>(`sync-command-center?${q}`, { method: "GET", signal })).data;
    },

    async saveTenant(input, opts = {}) {
      const body = { action: "save_tenant", ...input };
      return (await invoke<{ tenantId: string; created: boolean }>("sync-command-center", {
        body,
        signal: opts.signal,
      })).data;
    },

    async testConnection(input, opts = {}) {
      const body = { action: "test_connection", ...input };
      return (await invoke<ConnectionTest>("sync-command-center", { body, signal: opts.signal })).data;
    },

    async roomBoard({ tenantId, signal }) {
      const q = new URLSearchParams({ tenantId });
      return (await invoke<Record<string, unknown>>(`room-status?${q}`, { method: "GET", signal })).data;
    },

    async roomAction(body, opts = {}) {
      return (await invoke<Record<string, unknown>>("room-status", { body, signal: opts.signal })).data;
    },
  };
  return client;
}

/** Reads an SSE answer to its `done`/`error` event. */
async function consumeStream(
  fn: string,
  data: unknown,
  onEvent: ((event: SyncEvent) => void | Promise<void>) | undefined,
  signal: AbortSignal | undefined,
): Promise<StreamOutcome> {
  const opts = { signal };
  // supabase-js hands a `text/event-stream` answer back as the Response itself, unread.
  let chunks: AsyncIterable<string>;
  if (data instanceof Response || (data && typeof (data as Response).body?.getReader === "function")) {
    const res = data as Response;
    if (!res.body) {
      throw new SyncClientError(res.status, "STREAM_ENDED", `${fn} answered without a body.`, {}, fn);
    }
    chunks = decodeChunks(res.body);
  } else if (typeof data === "string") {
    // Older supabase-js read the stream to its end as text: same events, just late.
    chunks = (async function* () {
      yield data;
    })();
  } else {
    throw new SyncClientError(200, "NOT_A_STREAM", `${fn} did not answer with an event stream.`, {
      body: data,
    }, fn);
  }
  const events = parseSse(chunks)[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<SseMessage>;
    try {
      next = await events.next();
    } catch (err) {
      // The connection broke (or the caller aborted) mid-stream; the run itself goes on.
      const aborted = opts.signal?.aborted || (err as Error)?.name === "AbortError";
      throw new SyncClientError(
        0,
        aborted ? "ABORTED" : "STREAM_BROKEN",
        aborted
          ? `Stopped watching ${fn}; the run goes on server-side.`
          : `The ${fn} event stream broke: ${(err as Error)?.message ?? err}.`,
        {},
        fn,
        { cause: err },
      );
    }
    if (next.done) break;
    const parsed = toSyncEvent(next.value.event, next.value.data);
    if (!parsed) continue;
    await onEvent?.(parsed);
    if (parsed.type === "done" || parsed.type === "error") {
      await events.return?.();
      return parsed.type === "done"
        ? { ok: true, run: parsed.run }
        : { ok: false, error: parsed.error, run: parsed.run };
    }
  }
  throw new SyncClientError(
    0,
    "STREAM_ENDED",
    `The ${fn} event stream ended before the run did.`,
    {},
    fn,
  );
}

// ---------------------------------------------------------------- errors

async function toClientError(error: unknown, fn: string): Promise<SyncClientError> {
  if (error instanceof FunctionsHttpError || error instanceof FunctionsRelayError) {
    const res = error.context as Response;
    const status = res?.status ?? 0;
    let text = "";
    try {
      text = await res.text();
    } catch { /* body already consumed or gone */ }
    let envelope: Partial<ErrorEnvelope> | null = null;
    try {
      envelope = JSON.parse(text);
    } catch { /* not JSON */ }
    const e = envelope?.error;
    if (e && typeof e === "object" && typeof e.code === "string") {
      const { code, message, ...details } = e;
      return new SyncClientError(status, code, typeof message === "string" ? message : code, details, fn, {
        cause: error,
      });
    }
    const relay = error instanceof FunctionsRelayError ? " (relay error)" : "";
    return new SyncClientError(
      status,
      `HTTP_${status}`,
      `${fn} answered ${status}${relay}${text ? `: ${text.slice(0, 300)}` : ""}`,
      {},
      fn,
      { cause: error },
    );
  }
  if (error instanceof FunctionsFetchError) {
    const cause = (error.context as { message?: string; cause?: { code?: string; message?: string } }) ?? {};
    const why = cause.cause?.code ?? cause.cause?.message ?? cause.message ?? "fetch failed";
    return new SyncClientError(0, "NETWORK_ERROR", `Could not reach ${fn}: ${why}.`, {}, fn, {
      cause: error,
    });
  }
  const err = error as Error;
  if (err?.name === "AbortError") {
    return new SyncClientError(0, "ABORTED", `The call to ${fn} was aborted.`, {}, fn, { cause: error });
  }
  return new SyncClientError(0, "CLIENT_ERROR", `${fn}: ${err?.message ?? String(error)}`, {}, fn, {
    cause: error,
  });
}

// ---------------------------------------------------------------- SSE

async function* decodeChunks(body: ReadableStream<Uint8Array>): AsyncIterable<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield decoder.decode(value, { stream: true });
    }
    const rest = decoder.decode();
    if (rest) yield rest;
  } finally {
    // Stops the download when the consumer returns early (after `done`/`error`).
    await reader.cancel().catch(() => {});
  }
}

export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/**
 * The SSE messages of a stream of text chunks, parsed by `eventsource-parser` (WHATWG rules: any line
 * end, comments, multi-line data, split chunks). A last event the stream ends without its blank line
 * is still delivered: the spec drops it, but a `done` cut short that way still says how the run ended.
 */
export async function* parseSse(chunks: AsyncIterable<string>): AsyncIterable<SseMessage> {
  const ready: SseMessage[] = [];
  const parser = createParser({
    onEvent: ({ event, data, id }) =>
      void ready.push({ event: event ?? "message", data, ...(id !== undefined ? { id } : {}) }),
  });
  for await (const chunk of chunks) {
    parser.feed(chunk);
    yield* ready.splice(0);
  }
  parser.feed("\n\n");
  yield* ready.splice(0);
}

function toSyncEvent(name: string, raw: string): SyncEvent | null {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(raw);
  } catch {
    return null;
  }
  if (name === "progress") return { type: "progress", progress: data as unknown as SyncProgress };
  if (name === "done") return { type: "done", run: data.run as SyncRun };
  if (name === "error") {
    const error = (data.error && typeof data.error === "object"
      ? data.error
      : { code: "FAILED", message: String(data.error ?? "The run failed.") }) as ErrorEnvelope["error"];
    return { type: "error", error, ...(data.run ? { run: data.run as SyncRun } : {}) };
  }
  return null;
}
