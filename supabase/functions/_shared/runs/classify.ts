// Every error that reaches a run record, classified by its type (never by a name string), with
// the code the contract names: UPSTREAM_ERROR for MotoPress, the API's own code for a tenant's
// configuration (TENANT_NOT_CONFIGURED, …), DATABASE_UNAVAILABLE after the retries, a JobError's
// own code; anything else is our bug and the executor records INTERNAL_ERROR.
import { ApiError } from "../http/errors.ts";
import { MotoPressError } from "../motopress/errors.ts";
import { DatabaseUnavailableError } from "./db-faults.ts";

/** An error whose message is fit for an operator, with the code the run records. */
export class JobError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "JobError";
  }
}

export interface RunErrorClass {
  code: string;
  message: string;
}

export function classifyRunError(err: unknown): RunErrorClass | null {
  if (err instanceof MotoPressError) return { code: "UPSTREAM_ERROR", message: `MotoPress: ${err.message}` };
  if (err instanceof JobError) return { code: err.code, message: err.message };
  if (err instanceof DatabaseUnavailableError) return { code: err.code, message: err.message };
  if (err instanceof ApiError) return { code: err.code, message: err.message };
  return null;
}
