// C0 control characters in upstream text. PostgreSQL refuses NUL in text and in jsonb (a `\u0000`
// escape fails the jsonb cast with "unsupported Unicode escape sequence"), so one NUL in one
// booking's name would fail its whole page, and every sync of its hotel. Free text is cleaned
// (tab, line feed and carriage return are text, kept); a value whose meaning the characters would
// change if removed (an id, a code, a key) is refused instead, and its item quarantined.

// deno-lint-ignore no-control-regex
const REMOVABLE = /[\x00-\x08\x0b\x0c\x0e-\x1f]/;
// deno-lint-ignore no-control-regex
const REMOVABLE_ALL = /[\x00-\x08\x0b\x0c\x0e-\x1f]+/g;
// deno-lint-ignore no-control-regex
const ANY_CONTROL = /[\x00-\x1f]/;

/** `text` without its C0 control characters other than tab, line feed and carriage return. */
export function withoutControls(text: string): string {
  return REMOVABLE.test(text) ? text.replace(REMOVABLE_ALL, "") : text;
}

/** True when `text` holds no C0 control character at all (what a code or a key may hold). */
export const isFreeOfControls = (text: string): boolean => !ANY_CONTROL.test(text);

export const CONTROL_CHARACTER_REASON =
  "contains a control character (U+0000-U+001F), which would change its meaning if removed";

/**
 * A copy of `value` whose strings (keys included) show each C0 control character as its visible
 * symbol (U+2400 + code: NUL is "␀"), tab, line feed and carriage return kept: what a quarantine
 * row stores of a refused item, readable and accepted by jsonb.
 */
export function visibleControls(value: unknown): unknown {
  if (typeof value === "string") {
    return REMOVABLE.test(value)
      ? value.replace(
        REMOVABLE_ALL,
        (run) => [...run].map((c) => String.fromCharCode(0x2400 + c.charCodeAt(0))).join(""),
      )
      : value;
  }
  if (Array.isArray(value)) return value.map(visibleControls);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map((
        [k, v],
      ) => [visibleControls(k) as string, visibleControls(v)]),
    );
  }
  return value;
}
