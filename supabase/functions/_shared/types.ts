// The types every layer shares, owned by none above it (docs/architecture.md, "Layers"): which
// function a run belongs to, the logger, the isolate's meter, how one function invokes another,
// and the dependencies the platform adapter builds once and hands to every handler and job.
import type { Config } from "./config.ts";
import type { Sql } from "./db.ts";
import type { Resolver } from "./net/outbound.ts";

export type Source = "motopress-accommodations" | "motopress-bookings" | "sync-command-center";
export type SyncSource = Exclude<Source, "sync-command-center">;
export type Trigger = "manual" | "cron" | "parent" | "repair";

export type Logger = (
  level: "info" | "warn" | "error",
  message: string,
  data?: Record<string, unknown>,
) => void;

/** What the platform adapter tells a job about the isolate it runs in. */
export interface IsolateMeter {
  /** CPU time this isolate has used so far, in ms (an upper bound where the platform hides it). */
  cpuMs(): number;
  /** When the isolate started (epoch ms): its wall clock counts from here. */
  startedAt: number;
  /** Calls `fn` with the runtime's reason when it dispatches `beforeunload`; returns an unsubscribe. */
  onBeforeUnload(fn: (reason: string) => void): () => void;
}

/** Invokes a function in a new invocation (continuations, a fan-out's chains). */
export type Invoker = (source: Source, body: Record<string, unknown>) => Promise<void>;

export interface FunctionDeps {
  config: Config;
  sql: Sql;
  log: Logger;
  invoke: Invoker;
  /** DNS lookups for the outbound policy (net/outbound.ts); resolved by the platform adapter. */
  resolveHost: Resolver;
  /** The platform's EdgeRuntime.waitUntil: keeps the isolate alive for background work. */
  waitUntil: (promise: Promise<unknown>) => void;
  /** The isolate's CPU, age and beforeunload: what hops budget against. */
  isolate: IsolateMeter;
}
