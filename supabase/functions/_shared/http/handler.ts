// The request pipeline every function shares: CORS preflight, method check, admin key, then the
// route; every failure leaves in the error envelope, and only our own bugs are a 500.
import { requireAdminKey } from "./auth.ts";
import { ApiError, CORS_HEADERS, errorResponse } from "./errors.ts";

export type Route = (req: Request) => Promise<Response>;
export type Logger = (level: "info" | "warn" | "error", message: string, data?: Record<string, unknown>) => void;

export function createHandler(
  routes: Partial<Record<"GET" | "POST", Route>>,
  opts: { adminKeys: () => readonly string[]; log: Logger },
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
      if (keys.length === 0) {
        throw new ApiError(503, "SERVICE_MISCONFIGURED", "No admin key is configured (set SYNC_ADMIN_KEY).");
      }
      await requireAdminKey(req, keys);
      return await route(req);
    } catch (err) {
      if (err instanceof ApiError) return errorResponse(err);
      opts.log("error", "unhandled error", { error: String((err as Error)?.stack ?? err) });
      return errorResponse(new ApiError(500, "INTERNAL_ERROR", "Internal error; it has been logged."));
    }
  };
}
