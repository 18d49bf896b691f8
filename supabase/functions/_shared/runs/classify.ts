// Every error that reaches a run record, classified by its type (never by a name string), with
// the code the contract names: UPSTREAM_ERROR for MotoPress, a domain error's own code (a tenant
// without credentials is TENANT_NOT_CONFIGURED, …), DATABASE_UNAVAILABLE after the retries,
// STATEMENT_TIMEOUT for a statement the server ended twice at its statement timeout;
// anything else is our bug and the executor records INTERNAL_ERROR. A MotoPress failure keeps
// UPSTREAM_ERROR (what callers match on) and names its precise cause, the code test_connection
// gives for the same answer (MOTOPRESS_TLS, MOTOPRESS_AUTH_FAILED, …), which the run records as
// `stats.cause`.
import { DomainError } from "../errors.ts";
import { MotoPressError } from "../motopress/errors.ts";
import { DatabaseUnavailableError, StatementTimeoutError } from "./db-faults.ts";

export interface RunErrorClass {
  code: string;
  message: string;
  /** The precise cause behind a general code (MotoPress's own error code). */
  cause?: string;
}

export function classifyRunError(err: unknown): RunErrorClass | null {
  if (err instanceof MotoPressError) {
    return { code: "UPSTREAM_ERROR", message: `MotoPress: ${err.message}`, cause: err.code };
  }
  if (err instanceof DomainError) return { code: err.code, message: err.message };
  if (err instanceof DatabaseUnavailableError || err instanceof StatementTimeoutError) {
    return { code: err.code, message: err.message };
  }
  return null;
}
