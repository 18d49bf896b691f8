// Serves the built console (console/dist) and its config.json: the project URL and, on a hosted
// project, the publishable key. Never an admin or secret key: the browser signs in as an operator.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
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

/**
 * The headers a host of the console should send (README, "Deploy the console"): the app runs only
 * its own scripts and styles, talks only to itself and the project (`connect-src`), and is never
 * framed (clickjacking of the operator's buttons). Nothing in the built console is inline.
 */
export function consoleSecurityHeaders(supabaseUrl: string): Record<string, string> {
  const project = new URL(supabaseUrl).origin;
  return {
    "content-security-policy": [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      `connect-src 'self' ${project}`,
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join("; "),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
}

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
  const headers = { ...consoleSecurityHeaders(opts.config.supabaseUrl), "cache-control": "no-store" };
  // A request the server cannot read (a path that is not URL-encoded UTF-8, say) is answered 400;
  // nothing a browser sends may end the process, and with it the local stack.
  const server: Server = createServer((req, res) => {
    serve(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { ...headers, "content-type": "text/plain" });
      res.end("internal error");
    });
  });
  async function serve(req: IncomingMessage, res: ServerResponse) {
    let url: URL;
    let rel: string;
    try {
      url = new URL(req.url ?? "/", "http://x");
      rel = url.pathname === "/" ? "index.html" : decodeURIComponent(url.pathname).replace(/^\/+/, "");
    } catch {
      res.writeHead(400, { ...headers, "content-type": "text/plain" });
      return res.end("bad request: the path is not a valid URL");
    }
    if (url.pathname === "/config.json") {
      res.writeHead(200, { ...headers, "content-type": TYPES[".json"] });
      return res.end(JSON.stringify(opts.config));
    }
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
  }
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
