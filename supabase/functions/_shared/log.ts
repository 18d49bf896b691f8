import { redactDeep } from "./redact.ts";
import type { Logger } from "./types.ts";

/** One JSON line per event: the platform's log explorer indexes them. */
export function jsonLogger(fields: Record<string, unknown> = {}): Logger {
  return (level, message, data = {}) => {
    const line = JSON.stringify(
      redactDeep({ level, message, ...fields, ...data, at: new Date().toISOString() }),
    );
    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else console.log(line);
  };
}
