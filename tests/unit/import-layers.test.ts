// The functions' layers point one way (docs/architecture.md, "Layers"): each file under
// supabase/functions/_shared imports only from its own layer or the ones below it, and nothing
// imports in a circle. The layer order is the data below. (That nothing reaches outside
// supabase/functions is tests/unit/deploy-layout.test.ts's.)
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const FUNCTIONS = fileURLToPath(new URL("../../supabase/functions", import.meta.url));
const SHARED = join(FUNCTIONS, "_shared");

/** Top to bottom: a file may import from its own layer and the layers after it. */
const LAYERS: { name: string; paths: string[] }[] = [
  {
    name: "entry points",
    paths: [
      "../motopress-accommodations/",
      "../motopress-bookings/",
      "../room-status/",
      "../sync-command-center/",
    ],
  },
  { name: "platform adapter", paths: ["platform/"] },
  { name: "handlers", paths: ["handlers/", "http/"] },
  { name: "jobs", paths: ["sync/", "rooms/"] },
  { name: "run core", paths: ["runs/"] },
  {
    name: "database, MotoPress client and what every layer shares",
    paths: [
      "db.ts",
      "tenants.ts",
      "motopress/",
      "net/",
      "invoke.ts",
      "config.ts",
      "redact.ts",
      "log.ts",
      "types.ts",
      "errors.ts",
      "text.ts",
    ],
  },
];

/** Files by path relative to _shared, each with the relative paths it imports (type-only included). */
type Graph = Map<string, string[]>;

function layerOf(file: string): number {
  return LAYERS.findIndex((l) => l.paths.some((p) => (p.endsWith("/") ? file.startsWith(p) : file === p)));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

function readGraph(): Graph {
  const graph: Graph = new Map();
  for (const path of sourceFiles(FUNCTIONS)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(path, "utf8"), true, true);
    const local = importedFiles.map((f) => f.fileName).filter((name) => name.startsWith("."));
    graph.set(relative(SHARED, path), local.map((name) => relative(SHARED, resolve(dirname(path), name))));
  }
  return graph;
}

/** Every broken rule, one sentence each; empty when the layers hold. */
function violations(graph: Graph): string[] {
  const found: string[] = [];
  for (const [file, imports] of graph) {
    const from = layerOf(file);
    if (from < 0) found.push(`${file} is in no layer: add it to LAYERS`);
    for (const target of imports) {
      const to = layerOf(target);
      if (from >= 0 && to >= 0 && to < from) {
        found.push(`${file} (${LAYERS[from].name}) imports ${target} (${LAYERS[to].name}), a layer above it`);
      }
    }
  }
  // Cycles: a depth-first walk; a file met again while on the current path closes one.
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (file: string) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      found.push(`circular import: ${[...path.slice(path.indexOf(file)), file].join(" -> ")}`);
      return;
    }
    state.set(file, "open");
    path.push(file);
    for (const target of graph.get(file) ?? []) visit(target);
    path.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file);
  return found;
}

describe("the functions' import layers", () => {
  it("every file imports only from its own layer or below, and nothing imports in a circle", () => {
    const graph = readGraph();
    expect(graph.size).toBeGreaterThan(40);
    expect(violations(graph)).toEqual([]);
  });

  it("an upward import, a file in no layer and a cycle are each reported", () => {
    const graph: Graph = new Map([
      ["runs/executor.ts", ["http/handler.ts"]],
      ["http/handler.ts", []],
      ["stray.ts", []],
      ["motopress/a.ts", ["motopress/b.ts"]],
      ["motopress/b.ts", ["motopress/a.ts"]],
    ]);
    expect(violations(graph)).toEqual([
      "runs/executor.ts (run core) imports http/handler.ts (handlers), a layer above it",
      "stray.ts is in no layer: add it to LAYERS",
      "circular import: motopress/a.ts -> motopress/b.ts -> motopress/a.ts",
    ]);
  });
});
