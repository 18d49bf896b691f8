// The error envelope of the contract: {"error": {"code", "message", ...details}}.
import { corsHeaders } from "@supabase/supabase-js/cors";
import { type DomainError, type DomainErrorCode, type ErrorCode } from "../errors.ts";
import { redactDeep } from "../redact.ts";

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

/** Where a domain error becomes HTTP: the one table of its statuses. */
const DOMAIN_STATUS: Record<DomainErrorCode, number> = {
  TENANT_NOT_FOUND: 404,
  RUN_NOT_FOUND: 404,
  UNIT_NOT_FOUND: 404,
  RESERVATION_NOT_FOUND: 404,
  BLOCK_NOT_FOUND: 404,
  TENANT_NOT_CONFIGURED: 409,
  INVALID_OPERATION: 409,
};

export function fromDomainError(err: DomainError): ApiError {
  return new ApiError(DOMAIN_STATUS[err.code], err.code, err.message, err.details);
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...corsHeaders, ...headers },
  });
}

export function errorResponse(err: ApiError): Response {
  return json(err.status, redactDeep(err.body()), err.headers);
}
