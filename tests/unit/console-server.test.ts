// The local console server: a path that is not URL-encoded UTF-8 is a 400 (it used to throw in
// decodeURIComponent and end the process, and with it `npm start`), and every answer carries the
// headers the README gives for a hosted console (CSP with frame-ancestors 'none').
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleServer, startConsoleServer } from "../../scripts/stack/lib/console-server.ts";

let dist: string;
let server: ConsoleServer;

beforeAll(async () => {
  dist = await mkdtemp(path.join(tmpdir(), "console-dist-"));
  await writeFile(path.join(dist, "index.html"), "<!doctype html><title>console</title>");
  server = await startConsoleServer({ port: 0, dist, config: { supabaseUrl: "http://127.0.0.1:54321" } });
});
afterAll(async () => {
  await server?.close();
  await rm(dist, { recursive: true, force: true });
});

/** A GET of `rawPath` exactly as written (fetch would re-encode it). */
function get(rawPath: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http.get(`${server.url}${rawPath}`, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    }).on("error", reject);
  });
}

describe("console server", () => {
  it("answers 400 to a path that is not valid percent-encoded UTF-8, and goes on serving", async () => {
    for (const bad of ["/%E0%A4%A", "/%", "/%FF%FE", "/assets/%C3%28.js"]) {
      expect((await get(bad)).status, bad).toBe(400);
    }
    expect((await get("/")).status).toBe(200);
    expect((await get("/missing.js")).status).toBe(404);
  });

  it("sends the hosted console's headers: CSP (self only, the project for connect-src, never framed)", async () => {
    const { headers } = await get("/");
    const csp = String(headers["content-security-policy"]);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("connect-src 'self' http://127.0.0.1:54321");
    expect(csp).not.toContain("unsafe-inline");
    expect(headers["x-frame-options"]).toBe("DENY");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    expect((await get("/config.json")).headers["content-security-policy"]).toBe(csp);
  });
});
