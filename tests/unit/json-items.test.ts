import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { JsonItem, splitJsonArray } from "../../supabase/functions/_shared/motopress/json-items.ts";
import { rawId } from "../../supabase/functions/_shared/motopress/schemas.ts";

const fixture = readFileSync(
  path.join(import.meta.dirname, "../fixtures/motopress/booking-two-rooms.json"),
  "utf8",
);

/** What the splitter must answer for `text`: JSON.parse's array of objects, or null. */
function reference(text: string): unknown[] | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const isObject = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);
  return Array.isArray(value) && value.every(isObject) ? value : null;
}

function agrees(text: string) {
  const expected = reference(text);
  const got = splitJsonArray(text);
  if (expected === null) {
    expect(got, `took ${JSON.stringify(text)}`).toBeNull();
    return false;
  }
  expect(got, `refused ${JSON.stringify(text)}`).not.toBeNull();
  expect(got!.map((i) => i.value)).toEqual(expected);
  expect(got!.map((i) => i.id)).toEqual(expected.map(rawId));
  return true;
}

// A small deterministic generator (mulberry32), so a failure names its seed.
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  '"',
  "\\",
  ",",
  ":",
  "{",
  "}",
  "[",
  "]",
  " ",
  "\n",
  "\t",
  "\r",
  "0",
  "1",
  "9",
  "-",
  "+",
  ".",
  "e",
  "E",
  "a",
  "f",
  "n",
  "t",
  "u",
  "x",
  "true",
  "false",
  "null",
  "\\u",
  "\\u00e9",
  "\\ud83d",
  "é",
  "\u2028",
  "\u0000",
  "\u001f",
  "\u007f",
  "\ufeff",
  '"id"',
  '"\\u0069d"',
  '"i\\u0064"',
  "NaN",
  "Infinity",
  "00",
  "-0",
  "1e",
  "0x1",
];

function mutate(text: string, next: () => number): string {
  const at = Math.floor(next() * (text.length + 1));
  const piece = PIECES[Math.floor(next() * PIECES.length)];
  const op = next();
  if (op < 0.4) return text.slice(0, at) + piece + text.slice(at); // insert
  if (op < 0.7) return text.slice(0, at) + text.slice(at + 1); // delete a character
  return text.slice(0, at) + piece + text.slice(at + 1); // replace one
}

/** Random JSON of arrays of objects, with the shapes a list body can take. */
function randomList(next: () => number): string {
  const value = (depth: number): string => {
    const r = next();
    if (depth > 3 || r < 0.35) {
      const leaves = [
        "0",
        "-0",
        "12",
        "-7.25",
        "1e3",
        "2E-2",
        "1.5e+10",
        "true",
        "false",
        "null",
        '""',
        '"plain"',
        '"esc \\" \\\\ \\/ \\b \\f \\n \\r \\t"',
        '"\\u00e9\\ud83d\\ude00"',
        '"é 日本"',
        "123456789012345678901",
      ];
      return leaves[Math.floor(next() * leaves.length)];
    }
    if (r < 0.6) {
      return `[${Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1)).join(",")}]`;
    }
    return object(depth + 1, false);
  };
  const object = (depth: number, top: boolean): string => {
    const keys = ["a", "status", "id", "\\u0069d", "i\\u0064", "x y", "reserved_accommodations"];
    const n = Math.floor(next() * 5);
    const members = Array.from({ length: n }, () => {
      const key = keys[Math.floor(next() * keys.length)];
      const idValue = ["5", "7.0", "-3", "0", "1e2", '"9"', "1.5"][Math.floor(next() * 7)];
      return `"${key}"${next() < 0.2 ? " : " : ":"}${top && key.includes("d") ? idValue : value(depth)}`;
    });
    if (top && next() < 0.7) members.unshift(`"id":${1 + Math.floor(next() * 1000)}`);
    return `{${members.join(next() < 0.2 ? " ,\n " : ",")}}`;
  };
  const items = Array.from({ length: Math.floor(next() * 4) }, () => object(1, true));
  return `${next() < 0.2 ? " \n" : ""}[${items.join(",")}]${next() < 0.2 ? "\n" : ""}`;
}

describe("splitJsonArray: exactly JSON.parse's arrays of objects", () => {
  it("splits a real bookings page into its items, ids and values", () => {
    const booking = JSON.parse(fixture);
    const text = JSON.stringify([booking, { ...booking, id: 4522 }, { ...booking, id: 4523 }]);
    const items = splitJsonArray(text)!;
    expect(items.map((i) => i.id)).toEqual([4521, 4522, 4523]);
    expect(items[1].value).toEqual({ ...booking, id: 4522 });
    expect(agrees(`[${fixture}]`)).toBe(true);
    expect(splitJsonArray("[]")).toEqual([]);
  });

  it("refuses what JSON.parse refuses, and arrays whose items are not all objects", () => {
    for (
      const text of [
        "",
        "[",
        "[{}",
        "[{},]",
        "[,{}]",
        "{}",
        '[{"a":1}] x',
        "[1]",
        '[{"a":1},2]',
        "[[]]",
        "[null]",
        '[{"a":01}]',
        '[{"a":1.}]',
        '[{"a":.5}]',
        '[{"a":+1}]',
        '[{"a":"\u0001"}]',
        '[{"a":"\\x"}]',
        '[{"a":"\\u12"}]',
        "[{a:1}]",
        '[{"a" 1}]',
        '[{"a":1,}]',
        "\ufeff[{}]",
        '[{"a":NaN}]',
        '[{"a":tru}]',
      ]
    ) {
      expect(agrees(text), JSON.stringify(text)).toBe(false);
    }
  });

  it("reads the id as JSON.parse does: the last top-level one, escaped keys included, nested ones not", () => {
    const ids = (text: string) => splitJsonArray(text)!.map((i) => i.id);
    expect(
      ids('[{"id":3,"id":4},{"\\u0069d":5},{"i\\u0064":6},{"a":{"id":7}},{"id":"8"},{"id":9.5},{"id":-2}]'),
    )
      .toEqual([4, 5, 6, null, null, null, null]);
    expect(ids('[{"id":4,"id":"x"}]')).toEqual([null]);
  });

  it("agrees with JSON.parse over thousands of random and mutated lists", () => {
    let accepted = 0, refused = 0;
    const base = [`[${fixture}]`, `[${fixture},${fixture.replace('"id": 4521', '"id": 4522')}]`];
    for (let seed = 1; seed <= 4000; seed++) {
      const next = rng(seed);
      let text = seed % 4 === 0 ? base[seed % 2] : randomList(next);
      const mutations = Math.floor(next() * 4);
      for (let m = 0; m < mutations; m++) text = mutate(text, next);
      try {
        if (agrees(text)) accepted++;
        else refused++;
      } catch (err) {
        throw new Error(`seed ${seed}: ${(err as Error).message}`);
      }
    }
    // Both answers were exercised many times.
    expect(accepted).toBeGreaterThan(800);
    expect(refused).toBeGreaterThan(800);
  });

  it("an already parsed value becomes an item whose text is its JSON", () => {
    const item = JsonItem.of({ id: 12, a: "b" });
    expect(item.id).toBe(12);
    expect(item.value).toEqual({ id: 12, a: "b" });
    expect(item.hash("v1\n")).toBe(splitJsonArray('[{"id":12,"a":"b"}]')![0].hash("v1\n"));
    expect(JsonItem.of(null).id).toBeNull();
  });
});
