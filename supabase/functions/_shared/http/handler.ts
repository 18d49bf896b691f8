// The request pipeline every function shares: CORS preflight, method check, the caller (admin key
// or operator JWT), the role check, then the route; every failure leaves in the error envelope,
// and only our own bugs are a 500.
import { authenticate, type Caller, requireOperator } from "./auth.ts";
import { corsHeaders } from "@supabase/supabase-js/cors";
import { ApiError, errorResponse, fromDomainError } from "./errors.ts";
import type { JwtVerifier } from "../config.ts";
import { DomainError } from "../errors.ts";
import { isTransientDbError } from "../runs/db-faults.ts";
import type { Logger } from "../types.ts";

/** A route that met a dropped connection or a restarting database is tried again this many times. */
const ROUTE_ATTEMPTS = 4;
/** Bodies up to this size are kept to replay the request (every valid body is far smaller). */
const REPLAY_MAX_BYTES = 16 * 1024;

/**
 * Runs a route again (on a fresh copy of the request) when the database failed it transiently: a
 * route's writes are single statements (a claim, a cancel, a resume), each committed or not. The
 * rare claim whose commit was acknowledged to nobody is answered 409 on the retry, naming that run,
 * which the next claim or the reaper resumes after its lease.
 */
async function withRouteRetry(route: (req: Request) => Promise<Response>, req: Request): Promise<Response> {
  // Only a request whose body is small and declared can be replayed: a streamed or large body is
  // read once, by the route's own size-capped reader (a copy of it would have to buffer it whole).
  const length = Number(req.headers.get("content-length") ?? NaN);
  const replayable = req.body === null || (Number.isFinite(length) && length <= REPLAY_MAX_BYTES);
  if (!replayable) return await route(req);
  const body = req.body === null ? null : await req.arrayBuffer();
  for (let attempt = 1;; attempt++) {
    try {
      return await route(new Request(req.url, { method: req.method, headers: req.headers, body }));
    } catch (err) {
      if (!isTransientDbError(err)) throw err;
      if (attempt >= ROUTE_ATTEMPTS) {
        throw new ApiError(
          503,
          "DATABASE_UNAVAILABLE",
          "The database is unavailable (a dropped connection or a restart); try again in a few seconds.",
        );
      }
      await new Promise((r) => setTimeout(r, 150 * 3 ** (attempt - 1)));
    }
  }
}

type Pg = { code?: unknown };

/**
 * PostgreSQL's verdicts on a value that is not text it can store or read: a NUL or a bad byte
 * sequence (22021), a \u0000 escape in jsonb (22P05), text that is not of the column's type
 * (22P02). Only a caller's value reaches a statement a request runs, so each is the caller's
 * mistake that the schemas did not catch: a 400, never a 500.
 */
const INVALID_TEXT = new Set(["22021", "22P05", "22P02"]);
const isInvalidText = (err: unknown) =>
  !!err && typeof err === "object" && INVALID_TEXT.has((err as Pg).code as string);
const invalidText = () =>
  new ApiError(
    400,
    "INVALID_REQUEST",
    "A value in the request is not text the database can store (a NUL or another control character, or an invalid value for its type).",
    {
      fields: [{
        field: "(body)",
        message: "Remove control characters such as NUL (\\u0000) from the text fields.",
      }],
    },
  );

export type Route = (req: Request, caller: Caller) => Promise<Response>;

export interface HandlerOptions {
  adminKeys: () => readonly string[];
  /** The project's user-token settings; absent or null: only the admin key is accepted. */
  jwt?: () => JwtVerifier | null;
  now?: () => number;
  log: Logger;
}

export function createHandler(
  routes: Partial<Record<"GET" | "POST", Route>>,
  opts: HandlerOptions,
): (req: Request) => Promise<Response> {
  const allow = [...Object.keys(routes), "OPTIONS"].join(", ");
  return async (req) => {
    try {
      if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: corsHeaders });
      const route = routes[req.method as "GET" | "POST"];
      if (!route) {
        throw new ApiError(
          405,
          "METHOD_NOT_ALLOWED",
          `${req.method} is not allowed here; use ${allow}.`,
          {},
          { allow },
        );
      }
      const keys = opts.adminKeys();
      const jwt = opts.jwt?.() ?? null;
      if (keys.length === 0 && !jwt) {
        throw new ApiError(503, "SERVICE_MISCONFIGURED", "No admin key is configured (set SYNC_ADMIN_KEY).");
      }
      const caller = await authenticate(req, { adminKeys: keys, jwt, now: opts.now ?? Date.now });
      // Every POST acts (syncs, cancels, writes, calls MotoPress); GET only reads.
      if (req.method === "POST") requireOperator(caller);
      return await withRouteRetry((r) => route(r, caller), req);
    } catch (err) {
      if (err instanceof ApiError) return errorResponse(err);
      if (err instanceof DomainError) return errorResponse(fromDomainError(err));
      if (isInvalidText(err)) {
        opts.log("warn", "the database refused a value of the request as text", {
          sqlstate: (err as Pg).code,
        });
        return errorResponse(invalidText());
      }
      opts.log("error", "unhandled error", { error: String((err as Error)?.stack ?? err) });
      return errorResponse(new ApiError(500, "INTERNAL_ERROR", "Internal error; it has been logged."));
    }
  };
}
