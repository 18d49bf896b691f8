// Every error that reaches a run record, classified by its type (never by a name string), with
// the code the contract names: UPSTREAM_ERROR for MotoPress, a domain error's own code (a tenant
// without credentials is TENANT_NOT_CONFIGURED, …), DATABASE_UNAVAILABLE after the retries;
// anything else is our bug and the executor records INTERNAL_ERROR.
import { DomainError } from "../errors.ts";
import { MotoPressError } from "../motopress/errors.ts";
import { DatabaseUnavailableError } from "./db-faults.ts";

export interface RunErrorClass {
  code: string;
  message: string;
}

export function classifyRunError(err: unknown): RunErrorClass | null {
  if (err instanceof MotoPressError) return { code: "UPSTREAM_ERROR", message: `MotoPress: ${err.message}` };
  if (err instanceof DomainError) return { code: err.code, message: err.message };
  if (err instanceof DatabaseUnavailableError) return { code: err.code, message: err.message };
  return null;
}
