// Serves the built console (console/dist) and its config.json: the project URL and, on a hosted
// project, the publishable key. Never an admin or secret key: the browser signs in as an operator.
import { createServer, type Server } from "node:http";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { projectRoot } from "./migrate.ts";

export const CONSOLE_DIST = path.join(projectRoot, "console/dist");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

export interface ConsoleServer {
  url: string;
  close(): Promise<void>;
}

export async function startConsoleServer(opts: {
  port: number;
  config: { supabaseUrl: string; publishableKey?: string };
  dist?: string;
}): Promise<ConsoleServer> {
  const dist = opts.dist ?? CONSOLE_DIST;
  await stat(path.join(dist, "index.html")).catch(() => {
    throw new Error(`the console is not built (${dist}/index.html missing): run npm run console:build`);
  });
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const headers = {
      "x-content-type-options": "nosniff",
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
    };
    if (url.pathname === "/config.json") {
      res.writeHead(200, { ...headers, "content-type": TYPES[".json"] });
      return res.end(JSON.stringify(opts.config));
    }
    const rel = url.pathname === "/" ? "index.html" : decodeURIComponent(url.pathname).replace(/^\/+/, "");
    const file = path.resolve(dist, rel);
    if (!file.startsWith(dist + path.sep)) {
      res.writeHead(404, headers);
      return res.end("not found");
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        ...headers,
        "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
      });
      res.end(body);
    } catch {
      res.writeHead(404, { ...headers, "content-type": "text/plain" });
      res.end("not found");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Builds the console with vite (the `console:build` script's config). */
export async function buildConsole(outDir?: string): Promise<void> {
  const { build } = await import("vite");
  await build({
    configFile: path.join(projectRoot, "console/vite.config.ts"),
    logLevel: "warn",
    ...(outDir ? { build: { outDir, emptyOutDir: true } } : {}),
  });
}

/** True when console/dist is missing or older than a source file. */
export async function consoleStale(): Promise<boolean> {
  const built = await stat(path.join(CONSOLE_DIST, "index.html")).catch(() => null);
  if (!built) return true;
  const { readdir } = await import("node:fs/promises");
  const root = path.join(projectRoot, "console");
  const sources = [path.join(root, "index.html"), path.join(root, "vite.config.ts")];
  for (const dir of ["src", "src/pages"]) {
    for (const f of await readdir(path.join(root, dir)).catch(() => [])) {
      sources.push(path.join(root, dir, f));
    }
  }
  for (const dir of ["shared"]) {
    for (const f of await readdir(path.join(projectRoot, dir))) sources.push(path.join(projectRoot, dir, f));
  }
  for (const f of sources) {
    const s = await stat(f).catch(() => null);
    if (s?.isFile() && s.mtimeMs > built.mtimeMs) return true;
  }
  return false;
}
