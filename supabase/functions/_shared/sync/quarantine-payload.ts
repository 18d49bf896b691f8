// What a quarantine row keeps of an invalid upstream record: the record itself when it is of a
// sane size, otherwise a marked preview. One hostile or broken site must not fill the table (or an
// isolate's memory, when the rows are read back) with multi-megabyte items. Control characters are
// shown as symbols (NUL as "␀"): jsonb refuses NUL, and a refused item must still be recorded.
import { visibleControls } from "../motopress/control-chars.ts";
import { redact } from "../redact.ts";

// How JSON.stringify writes a control character other than tab, line feed and carriage return (an
// escaped backslash before "u0000" matches too, and costs only the walk).
const CONTROL_ESCAPE = /\\(u00[01][0-9a-fA-F]|[bf])/;

export const MAX_QUARANTINE_PAYLOAD_BYTES = 16 * 1024;
const PREVIEW_CHARS = 2000;
const MAX_REASON_CHARS = 1000;

export function quarantinePayload(raw: unknown): unknown {
  let text: string;
  try {
    text = JSON.stringify(raw) ?? "null";
  } catch {
    return { unserializable: true };
  }
  const bytes = new TextEncoder().encode(text).length;
  if (bytes <= MAX_QUARANTINE_PAYLOAD_BYTES) return CONTROL_ESCAPE.test(text) ? visibleControls(raw) : raw;
  return {
    truncated: true,
    bytes,
    limitBytes: MAX_QUARANTINE_PAYLOAD_BYTES,
    preview: text.slice(0, PREVIEW_CHARS),
  };
}

export function quarantineReason(reason: string): string {
  const clean = visibleControls(redact(reason)) as string;
  return clean.length <= MAX_REASON_CHARS ? clean : `${clean.slice(0, MAX_REASON_CHARS)}… (truncated)`;
}
