// WordPress runs unit titles through `the_title` (wptexturize, convert_chars), so they arrive with
// numeric entities (`&#8211;`, `&#038;`); kses stores named ones (`&amp;`, `&ntilde;`) in raw titles and
// term names. The `entities` package carries the whole HTML5 table, so no name is left behind.
import { decodeHTML, DecodingMode } from "entities";

/**
 * Decodes HTML entities in one pass (`&amp;#8211;` becomes the literal text `&#8211;`). Strict: only
 * terminated references are decoded, so a raw title such as "R&D &notice" stays as typed.
 */
export function decodeHtmlEntities(input: string): string {
  if (!input.includes("&")) return input;
  return decodeHTML(input, DecodingMode.Strict);
}
