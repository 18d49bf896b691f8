// A JSON array of objects split into its items' texts, without building them. A bookings page is
// compared by its items' content hashes first and only the items that changed are parsed: on a
// re-sync most are not, and parsing a page (and collecting what it built) cost more CPU than the
// rest of the page's work together.
//
// The splitter is a strict JSON validator: it takes exactly the texts JSON.parse takes, and only
// when their value is an array of objects (tests/unit/json-items.test.ts holds it to JSON.parse
// over many variants); anything else answers null and the caller parses the text as before. Each
// item's id is its top-level "id" as JSON.parse would read it (the last one wins).
import { rawId } from "./schemas.ts";

/** An item of a JSON array as received: its id, and its value, parsed when first asked for. */
export class JsonItem {
  #value: unknown;
  #parsed: boolean;

  private constructor(
    /** The top-level "id" when it is a positive integer (`rawId`), else null. */
    readonly id: number | null,
    private readonly text: string,
    private readonly start: number,
    private readonly end: number,
    value?: unknown,
    parsed = false,
  ) {
    this.#value = value;
    this.#parsed = parsed;
  }

  /** An item already parsed (a body the splitter did not take): its text is its JSON. */
  static of(value: unknown): JsonItem {
    const text = JSON.stringify(value) ?? "null";
    return new JsonItem(rawId(value), text, 0, text.length, value, true);
  }

  /** @internal the splitter's constructor */
  static slice(id: number | null, text: string, start: number, end: number): JsonItem {
    return new JsonItem(id, text, start, end);
  }

  get value(): unknown {
    if (!this.#parsed) {
      this.#value = JSON.parse(this.text.slice(this.start, this.end));
      this.#parsed = true;
    }
    return this.#value;
  }

  /**
   * Of `prefix` and the item's text: cyrb53's mixing (a fast non-cryptographic 53-bit hash) over
   * the text's characters two at a time, in one pass, with no copy. A collision could only hide a
   * change of one booking of one site from its own sync (each is compared with its own
   * reservation's), about once in 2^53 changes.
   */
  hash(prefix: string): string {
    let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
    for (let i = 0; i < prefix.length; i++) {
      const c = prefix.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    const t = this.text, end = this.end;
    let i = this.start;
    for (; i + 1 < end; i += 2) {
      const c = t.charCodeAt(i) | (t.charCodeAt(i + 1) << 16);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    // The last character of an odd length, and the length (so that no two lengths share words).
    h1 = Math.imul(h1 ^ (i < end ? t.charCodeAt(i) : 0) ^ ((end - this.start) << 16), 2654435761);
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
  }
}

const positiveInteger = (v: unknown): number | null =>
  typeof v === "number" && Number.isInteger(v) && v > 0 ? v : null;

// Deeper than this the splitter gives up (JSON.parse decides): no booking nests near it.
const MAX_DEPTH = 64;

/** The items of `text` when it is a JSON array of objects; null when it is anything else. */
export function splitJsonArray(text: string): JsonItem[] | null {
  plain = !CONTROL.test(text);
  nextBackslash = -1;
  const items: JsonItem[] = [];
  let i = skipWs(text, 0);
  if (text.charCodeAt(i) !== 0x5b) return null; // [
  i = skipWs(text, i + 1);
  if (text.charCodeAt(i) === 0x5d) return skipWs(text, i + 1) === text.length ? items : null;
  for (;;) {
    if (text.charCodeAt(i) !== 0x7b) return null; // every item an object
    const start = i;
    itemId = undefined;
    i = scanObject(text, i, 1, true);
    if (i < 0) return null;
    items.push(JsonItem.slice(positiveInteger(itemId), text, start, i));
    i = skipWs(text, i);
    const c = text.charCodeAt(i);
    if (c === 0x2c) i = skipWs(text, i + 1); // ,
    else if (c === 0x5d) return skipWs(text, i + 1) === text.length ? items : null; // ]
    else return null;
  }
}

// The id of the item being split (its last top-level "id"): a number, or anything else.
let itemId: unknown;

// A text with no control character at all (compact JSON, as WordPress sends it) cannot have one in
// a string: a string's end is then its next quote unless a backslash comes first, both found by
// indexOf (native), and only escapes are read character by character.
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f]/;
let plain = false;
// The text's first backslash at or after the last place looked for one (its length: none).
let nextBackslash = -1;

function skipWs(t: string, i: number): number {
  for (;;) {
    const c = t.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

// Each scanner takes the index of its value's first character and returns the index after it,
// or -1 when the text is not valid JSON there. Past the end charCodeAt is NaN, which no test takes.

function scanValue(t: string, i: number, depth: number): number {
  const c = t.charCodeAt(i);
  if (c === 0x22) return scanString(t, i);
  if (c === 0x7b) return scanObject(t, i, depth + 1, false);
  if (c === 0x5b) return scanArray(t, i, depth + 1);
  if (c === 0x74) return t.startsWith("true", i) ? i + 4 : -1;
  if (c === 0x66) return t.startsWith("false", i) ? i + 5 : -1;
  if (c === 0x6e) return t.startsWith("null", i) ? i + 4 : -1;
  return scanNumber(t, i);
}

function scanString(t: string, i: number): number {
  if (plain) {
    const quote = t.indexOf('"', i + 1);
    if (quote < 0) return -1;
    if (nextBackslash <= i) {
      nextBackslash = t.indexOf("\\", i + 1);
      if (nextBackslash < 0) nextBackslash = t.length;
    }
    if (nextBackslash > quote) return quote + 1;
    i = nextBackslash - 1; // the escapes, as below
  }
  for (i++;;) {
    const c = t.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c === 0x5c) {
      const e = t.charCodeAt(i + 1);
      if (e === 0x75) { // \uXXXX
        for (let k = i + 2; k < i + 6; k++) if (!isHex(t.charCodeAt(k))) return -1;
        i += 6;
      } else if (
        e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 ||
        e === 0x74
      ) i += 2;
      else return -1;
    } else if (c >= 0x20) i++;
    else return -1; // a control character, or the end of the text
  }
}

const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

function scanNumber(t: string, i: number): number {
  let c = t.charCodeAt(i);
  if (c === 0x2d) c = t.charCodeAt(++i); // -
  if (c === 0x30) c = t.charCodeAt(++i);
  else if (c >= 0x31 && c <= 0x39) {
    do c = t.charCodeAt(++i); while (isDigit(c));
  } else return -1;
  if (c === 0x2e) { // .
    c = t.charCodeAt(++i);
    if (!isDigit(c)) return -1;
    do c = t.charCodeAt(++i); while (isDigit(c));
  }
  if (c === 0x65 || c === 0x45) { // e E
    c = t.charCodeAt(++i);
    if (c === 0x2b || c === 0x2d) c = t.charCodeAt(++i);
    if (!isDigit(c)) return -1;
    do c = t.charCodeAt(++i); while (isDigit(c));
  }
  return i;
}

function scanArray(t: string, i: number, depth: number): number {
  if (depth > MAX_DEPTH) return -1;
  i = skipWs(t, i + 1);
  if (t.charCodeAt(i) === 0x5d) return i + 1;
  for (;;) {
    i = scanValue(t, i, depth);
    if (i < 0) return -1;
    i = skipWs(t, i);
    const c = t.charCodeAt(i);
    if (c === 0x2c) i = skipWs(t, i + 1);
    else return c === 0x5d ? i + 1 : -1;
  }
}

function scanObject(t: string, i: number, depth: number, top: boolean): number {
  if (depth > MAX_DEPTH) return -1;
  i = skipWs(t, i + 1);
  if (t.charCodeAt(i) === 0x7d) return i + 1;
  for (;;) {
    if (t.charCodeAt(i) !== 0x22) return -1;
    const keyStart = i;
    const keyEnd = scanString(t, i);
    if (keyEnd < 0) return -1;
    i = skipWs(t, keyEnd);
    if (t.charCodeAt(i) !== 0x3a) return -1; // :
    const valueStart = skipWs(t, i + 1);
    i = scanValue(t, valueStart, depth);
    if (i < 0) return -1;
    if (top && isIdKey(t, keyStart, keyEnd)) {
      const v = t.charCodeAt(valueStart);
      itemId = v === 0x2d || isDigit(v) ? Number(t.slice(valueStart, i)) : null;
    }
    i = skipWs(t, i);
    const c = t.charCodeAt(i);
    if (c === 0x2c) i = skipWs(t, i + 1);
    else return c === 0x7d ? i + 1 : -1;
  }
}

/** The key `t[start, end)` (quotes included) is "id", written plainly or with escapes. */
function isIdKey(t: string, start: number, end: number): boolean {
  const len = end - start;
  const first = t.charCodeAt(start + 1);
  if (len === 4) return first === 0x69 && t.charCodeAt(start + 2) === 0x64;
  // Escaped, "id" is 9 to 14 characters with a backslash first or after the i.
  const escaped = first === 0x5c || (first === 0x69 && t.charCodeAt(start + 2) === 0x5c);
  return len >= 9 && len <= 14 && escaped && JSON.parse(t.slice(start, end)) === "id";
}
