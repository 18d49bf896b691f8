// The error envelope of the contract: {"error": {"code", "message", ...details}}.
import { redactDeep } from "../redact.ts";

export type ErrorCode =
  | "INVALID_REQUEST"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "INVALID_OPERATION"
  | "TENANT_NOT_FOUND"
  | "TENANT_NOT_CONFIGURED"
  | "RUN_NOT_FOUND"
  | "UNIT_NOT_FOUND"
  | "RESERVATION_NOT_FOUND"
  | "BLOCK_NOT_FOUND"
  | "INVALID_OPERATION"
  | "RUN_NOT_RESUMABLE"
  | "METHOD_NOT_ALLOWED"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "RUN_IN_PROGRESS"
  | "NOT_IMPLEMENTED"
  | "UPSTREAM_ERROR"
  | "INTERNAL_ERROR"
  | "SERVICE_MISCONFIGURED"
  | "DATABASE_UNAVAILABLE";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  body() {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

export const CORS_HEADERS: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "authorization, x-client-info, apikey, content-type, accept",
  "access-control-allow-methods": "GET, POST, OPTIONS",
};

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...CORS_HEADERS, ...headers },
  });
}

export function errorResponse(err: ApiError): Response {
  return json(err.status, redactDeep(err.body()), err.headers);
}
