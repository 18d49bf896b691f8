// Domain errors: what went wrong in the product's own terms, with the code the contract names.
// Any layer throws them; a run records the code (runs/classify.ts), and only the handler edge
// (http/errors.ts) gives them an HTTP status.

/** The contract's codes (§3) and the product's own, for errors a caller or a run record sees. */
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

/** The codes a domain error carries; the rest belong to the HTTP edge (auth, methods, bodies). */
export type DomainErrorCode = Extract<
  ErrorCode,
  | "TENANT_NOT_FOUND"
  | "RUN_NOT_FOUND"
  | "UNIT_NOT_FOUND"
  | "RESERVATION_NOT_FOUND"
  | "BLOCK_NOT_FOUND"
  | "TENANT_NOT_CONFIGURED"
  | "INVALID_OPERATION"
>;

/** An error whose message is fit for an operator, with its code and the details a caller needs. */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "DomainError";
  }
}

/** A tenant, run, unit, reservation or block that does not exist (in this tenant). */
export class NotFoundError extends DomainError {
  constructor(
    code: Extract<DomainErrorCode, `${string}_NOT_FOUND`>,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(code, message, details);
    this.name = "NotFoundError";
  }
}

export class TenantNotFoundError extends NotFoundError {
  constructor(readonly tenantId: string) {
    super("TENANT_NOT_FOUND", `No tenant with id ${tenantId}.`, { tenantId });
    this.name = "TenantNotFoundError";
  }
}

/** The tenant cannot be synced as stored: no credentials, or a site URL that is not one. */
export class TenantNotConfiguredError extends DomainError {
  constructor(readonly tenantId: string, message: string) {
    super("TENANT_NOT_CONFIGURED", message, { tenantId });
    this.name = "TenantNotConfiguredError";
  }
}

/** The action would leave the data inconsistent (or is not possible now); `reasons` say why. */
export class InvalidOperationError extends DomainError {
  constructor(message: string, readonly reasons: string[], details: Record<string, unknown> = {}) {
    super("INVALID_OPERATION", message, { ...details, reasons });
    this.name = "InvalidOperationError";
  }
}
