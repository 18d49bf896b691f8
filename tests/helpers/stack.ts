// An e2e stack for one test file: a fresh migrated database and the functions served by Deno.
import {
  type FunctionsServer,
  LOCAL_SIMULATOR_HOSTS,
  startFunctionsServer,
} from "../../scripts/stack/lib/functions-server.ts";
import { createTestDatabase, type TestDatabase } from "./db.ts";

export const ADMIN_KEY = "test-admin-key-0123456789abcdef";

/**
 * A worker's last word on a run in one invocation (runs/executor.ts): it stopped because the run is no
 * longer its own, lost its finish, or ended its hop. After it, that worker writes no data for the run.
 */
export const WORKER_DONE = /"message":"(stopped: the run is no longer ours|finish lost[^"]*|hop ended)"/;

export interface Stack {
  db: TestDatabase;
  server: FunctionsServer;
  env: Record<string, string>;
  call(
    fn: string,
    body?: unknown,
    init?: { method?: string; headers?: Record<string, string>; rawBody?: string },
  ): Promise<{
    status: number;
    // deno-lint-ignore no-explicit-any -- a JSON answer; each test reads the fields it asserts
    body: any;
    headers: Headers;
  }>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startStack(env: Record<string, string> = {}): Promise<Stack> {
  const db = await createTestDatabase();
  const fullEnv = {
    SUPABASE_DB_URL: db.url,
    SYNC_ADMIN_KEY: ADMIN_KEY,
    SYNC_LEASE_SECONDS: "60",
    SYNC_ALLOW_PRIVATE_HOSTS: LOCAL_SIMULATOR_HOSTS,
    ...env,
  };
  let server = await startFunctionsServer(fullEnv);
  const stack: Stack = {
    db,
    get server() {
      return server;
    },
    env: fullEnv,
    async call(fn, body, init = {}) {
      const res = await fetch(`${server.url}/functions/v1/${fn}`, {
        method: init.method ?? "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${ADMIN_KEY}`,
          ...init.headers,
        },
        body: init.rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch { /* SSE or empty */ }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async restart() {
      await server.kill();
      server = await startFunctionsServer(fullEnv, server.port);
    },
    async close() {
      await server.stop();
      await db.drop();
    },
  } as Stack;
  return stack;
}
