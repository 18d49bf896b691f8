// What a quarantine row keeps of an invalid upstream record: the record itself when it is of a
// sane size, otherwise a marked preview. One hostile or broken site must not fill the table (or an
// isolate's memory, when the rows are read back) with multi-megabyte items.
import { redact } from "../redact.ts";

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
  if (bytes <= MAX_QUARANTINE_PAYLOAD_BYTES) return raw;
  return {
    truncated: true,
    bytes,
    limitBytes: MAX_QUARANTINE_PAYLOAD_BYTES,
    preview: text.slice(0, PREVIEW_CHARS),
  };
}

export function quarantineReason(reason: string): string {
  const clean = redact(reason);
  return clean.length <= MAX_REASON_CHARS ? clean : `${clean.slice(0, MAX_REASON_CHARS)}… (truncated)`;
}
