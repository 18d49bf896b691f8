// Text a caller gives, checked for what the database and the wire can take: PostgreSQL stores no
// NUL in text or jsonb (SQLSTATE 22021, 22P05), a one-line field has no use for other control
// characters, and Basic auth's btoa takes Latin-1 only. A field that breaks one of these is the
// caller's mistake, answered 400 naming it, never an error further down.
import { z } from "zod";

/** C0 controls and DEL: none belongs in a name, a slug, a URL or a key. */
// deno-lint-ignore no-control-regex -- control characters are what these look for
const CONTROL = /[\u0000-\u001f\u007f]/;
/** The same, less tab and line breaks, which a free-text note may hold. */
// deno-lint-ignore no-control-regex -- as above
const CONTROL_IN_NOTE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
/** Outside Latin-1: what Basic auth (btoa) cannot carry. */
const NOT_LATIN1 = /[^\x20-\xff]/;

const string = (what: string) =>
  z.string({
    error: (issue) => (issue.input === undefined ? `${what} is required.` : `${what} must be text.`),
  })
    .trim().min(1, `${what} is required.`);

/** Required one-line text, trimmed, of at most `max` characters, without control characters. */
export const lineText = (max: number, what: string) =>
  string(what).max(max, `${what} is at most ${max} characters.`)
    .refine((v) => !CONTROL.test(v), `${what} must not contain control characters (NUL, tabs, line breaks).`);

/** Required free text (a reason, a note): tabs and line breaks allowed, other control characters not. */
export const noteText = (max: number, what: string) =>
  string(what).max(max, `${what} is at most ${max} characters.`)
    .refine((v) => !CONTROL_IN_NOTE.test(v), `${what} must not contain control characters such as NUL.`);

/** An API key or secret: one line of Latin-1 text (HTTP Basic auth carries nothing else). */
export const credentialText = (max: number, what: string) =>
  lineText(max, what).refine(
    (v) => !NOT_LATIN1.test(v),
    `${what} must be the key exactly as MotoPress shows it: Latin-1 characters only (letters, digits, _).`,
  );
