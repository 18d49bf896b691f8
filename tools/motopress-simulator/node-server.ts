import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Simulator } from "./simulator.ts";

export interface SimulatorServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

async function toRequest(req: IncomingMessage, origin: string, signal: AbortSignal): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) { for (const v of value) headers.append(name, v); }
    else if (value !== undefined) headers.set(name, value);
  }
  let body: ArrayBuffer | undefined;
  if (req.method !== "GET" && req.method !== "HEAD") {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const buf = Buffer.concat(chunks);
    body = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  }
  return new Request(new URL(req.url ?? "/", origin), { method: req.method, headers, body, signal });
}

async function writeResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await new Promise((resolve) => res.once("drain", resolve));
    }
    res.end();
  } catch {
    // A body stream that errors is how the simulator models a connection reset.
    res.destroy();
  }
}

/**
 * Serves the simulator's Web handler on node:http (127.0.0.1, port 0 = any free port), or over
 * HTTPS with `tls` (a key and certificate in PEM), as a real site behind its certificate.
 */
export function startSimulatorServer(
  options: { port?: number; host?: string; simulator: Simulator; tls?: { key: string; cert: string } },
): Promise<SimulatorServer> {
  const { simulator } = options;
  const host = options.host ?? "127.0.0.1";
  const scheme = options.tls ? "https" : "http";
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const aborted = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) aborted.abort();
    });
    const origin = `${scheme}://${req.headers.host ?? host}`;
    toRequest(req, origin, aborted.signal)
      .then((request) => simulator.handle(request))
      .then((response) => writeResponse(response, res))
      .catch((error) => {
        if (!res.headersSent) {
          res.writeHead(500, { "Content-Type": "text/plain" });
          res.end(String(error?.stack ?? error));
        } else res.destroy();
      });
  };
  const server = options.tls
    ? createTlsServer({ key: options.tls.key, cert: options.tls.cert }, listener)
    : createServer(listener);
  // A client that rejects the certificate aborts the handshake: not the simulator's failure.
  server.on("tlsClientError", () => {});
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `${scheme}://${host}:${port}`,
        port,
        close: () =>
          new Promise<void>((done) => {
            simulator.close();
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
