// Starts `scripts/stack/functions-serve.ts` under real Deno (Node side: tests, npm start, bench).
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { freePort } from "./database.ts";
import { projectRoot } from "./migrate.ts";
import { TOOLING_DENO_BIN } from "../edge-runtime/platform-deno.ts";

/**
 * SYNC_ALLOW_PRIVATE_HOSTS for a stack whose MotoPress site is the local simulator (plain http on
 * loopback). The functions refuse such a site unless it is listed; `functions:serve` itself adds
 * nothing, so the callers that run the simulator (npm start, tests, bench) pass this.
 */
export const LOCAL_SIMULATOR_HOSTS = "127.0.0.1,::1,localhost";

export interface FunctionsServer {
  url: string;
  port: number;
  process: ChildProcess;
  /** Everything the server printed so far (JSON log lines). */
  output: () => string;
  stop(): Promise<void>;
  /** SIGKILL of the supervisor and every worker: a crash of the whole platform (or a deploy). */
  kill(): Promise<void>;
}

/** `script`: the Deno entry to run (default the functions server; tests pass a fixture's). */
export async function startFunctionsServer(
  env: Record<string, string>,
  port?: number,
  script = "scripts/stack/functions-serve.ts",
): Promise<FunctionsServer> {
  const p = port ?? (await freePort());
  // The supervisor runs under the tooling's Deno; it starts each function's worker under the platform's.
  const deno = path.join(projectRoot, TOOLING_DENO_BIN);
  const child = spawn(deno, ["run", "-A", "--no-prompt", script], {
    cwd: projectRoot,
    env: { ...process.env, ...env, PORT: String(p), NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: the supervisor and its worker processes are stopped (or killed) together.
    detached: true,
  });
  let out = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("functions listening")) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`functions server exited (${code}):\n${out}`)));
    setTimeout(() => reject(new Error(`functions server did not start in 60 s:\n${out}`)), 60_000);
  });
  const stopWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid!, signal);
    } catch {
      child.kill(signal);
    }
    await exited;
  };
  return {
    url: `http://127.0.0.1:${p}`,
    port: p,
    process: child,
    output: () => out,
    stop: () => stopWith("SIGTERM"),
    kill: () => stopWith("SIGKILL"),
  };
}

/** The server's JSON log lines so far, parsed (anything else it printed is skipped). */
// deno-lint-ignore no-explicit-any -- log records: each caller reads the fields it needs
export function logRecords(server: FunctionsServer): Record<string, any>[] {
  return server.output().split("\n").flatMap((l) => {
    if (!l.startsWith("{")) return [];
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });
}

/** The pid of the function's latest worker, from the runtime's "worker started" line. */
export function startedWorkerPid(server: FunctionsServer, fn: string): number {
  const line = logRecords(server).reverse().find((l) => l.message === "worker started" && l.fn === fn);
  if (!line) throw new Error(`no worker started for ${fn}`);
  return line.pid;
}
