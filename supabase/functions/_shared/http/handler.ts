// The request pipeline every function shares: CORS preflight, method check, the caller (admin key
// or operator JWT), the role check, then the route; every failure leaves in the error envelope,
// and only our own bugs are a 500.
import { authenticate, type Caller, requireOperator } from "./auth.ts";
import { ApiError, CORS_HEADERS, errorResponse } from "./errors.ts";
import type { JwtVerifier } from "./jwt.ts";

export type Route = (req: Request, caller: Caller) => Promise<Response>;
export type Logger = (level: "info" | "warn" | "error", message: string, data?: Record<string, unknown>) => void;

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
      if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: CORS_HEADERS });
      const route = routes[req.method as "GET" | "POST"];
      if (!route) {
        throw new ApiError(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed here; use ${allow}.`, {}, { allow });
      }
      const keys = opts.adminKeys();
      const jwt = opts.jwt?.() ?? null;
      if (keys.length === 0 && !jwt) {
        throw new ApiError(503, "SERVICE_MISCONFIGURED", "No admin key is configured (set SYNC_ADMIN_KEY).");
      }
      const caller = await authenticate(req, { adminKeys: keys, jwt, now: opts.now ?? Date.now });
      // Every POST acts (syncs, cancels, writes, calls MotoPress); GET only reads.
      if (req.method === "POST") requireOperator(caller);
      return await route(req, caller);
    } catch (err) {
      if (err instanceof ApiError) return errorResponse(err);
      opts.log("error", "unhandled error", { error: String((err as Error)?.stack ?? err) });
      return errorResponse(new ApiError(500, "INTERNAL_ERROR", "Internal error; it has been logged."));
    }
  };
}
