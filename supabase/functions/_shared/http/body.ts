import type { z } from "zod";
import { readCappedBytes } from "../net/capped-read.ts";
import { ApiError } from "./errors.ts";

export const MAX_BODY_BYTES = 64 * 1024;

export interface FieldError {
  field: string;
  message: string;
}

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue) => {
    // Unknown keys are reported one field each, so the caller sees exactly what to remove.
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((k) => ({ field: [...issue.path, k].join("."), message: "Unknown field." }));
    }
    return [{ field: issue.path.join(".") || "(body)", message: issue.message }];
  });
}

export function invalid(fields: FieldError[], message?: string): ApiError {
  return new ApiError(
    400,
    "INVALID_REQUEST",
    message ?? `Invalid request: ${fields.map((f) => f.field).join(", ")}.`,
    {
      fields,
    },
  );
}

async function readLimited(req: Request, limit: number): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) throw tooLarge(limit);
  const { bytes } = await readCappedBytes(req.body, limit);
  if (bytes === null) throw tooLarge(limit);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw invalid([{ field: "(body)", message: "Body is not valid UTF-8." }], "Body is not valid UTF-8.");
  }
}

const tooLarge = (limit: number) =>
  new ApiError(413, "PAYLOAD_TOO_LARGE", `Request body is larger than ${limit} bytes.`);

/** Reads a JSON body (an empty body is `{}`) and validates it; unknown keys are rejected by the schema. */
export async function readJson<S extends z.ZodType>(req: Request, schema: S): Promise<z.infer<S>> {
  const text = (await readLimited(req, MAX_BODY_BYTES)).trim();
  let value: unknown = {};
  if (text) {
    const type = req.headers.get("content-type") ?? "application/json";
    if (!/^application\/(.+\+)?json\b/i.test(type) && !/^text\/plain\b/i.test(type)) {
      throw new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", `Send the body as application/json (got ${type}).`);
    }
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw invalid(
        [{ field: "(body)", message: `Malformed JSON: ${(e as Error).message}` }],
        "Body is not valid JSON.",
      );
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalid(fieldErrors(parsed.error));
  return parsed.data;
}

export function searchParams<S extends z.ZodType>(req: Request, schema: S): z.infer<S> {
  const params = Object.fromEntries(new URL(req.url).searchParams);
  const parsed = schema.safeParse(params);
  if (!parsed.success) throw invalid(fieldErrors(parsed.error));
  return parsed.data;
}

/** Validates an already-read value (a body dispatched on its `action`). */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalid(fieldErrors(parsed.error));
  return parsed.data;
}
