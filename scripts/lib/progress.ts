// Readable SSE progress for the operator scripts, and the full sync (command center) they run.
import type { StreamOutcome, SyncClient, SyncEvent, SyncRun, SyncSource } from "../../shared/index.ts";
import { c } from "./cli.ts";

const BAR = 24;

function bar(current: number, total: number | null): string {
  if (!total || total <= 0) return "";
  const ratio = Math.max(0, Math.min(1, current / total));
  const filled = Math.round(ratio * BAR);
  return `[${"#".repeat(filled)}${"-".repeat(BAR - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}%`;
}

function elapsed(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

const ACTIVITY: Record<string, string> = {
  starting: "starting",
  pages: "pages",
  removals: "checking what is gone",
  done: "complete",
};

/** Prints progress events: one line rewritten in place on a terminal, one line per change otherwise. */
export class ProgressPrinter {
  private open = false;
  private lastLine = "";
  private lastPlace = "";
  private readonly started = Date.now();
  constructor(
    private readonly label: string,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {}

  private write(line: string, final = false) {
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[2K${line}${final ? "\n" : ""}`);
      this.open = !final;
    } else if (line !== this.lastLine) {
      this.out.write(`${line}\n`);
    }
    this.lastLine = line;
  }

  private close() {
    if (this.open) this.out.write("\n");
    this.open = false;
  }

  event(event: SyncEvent): void {
    if (event.type === "progress") {
      const p = event.progress;
      const count = p.total ? `${p.current}/${p.total}` : `${p.current}`;
      // Where the run is, from the progress data: tenant, step n/m, and the phase within it.
      const stage = [
        p.tenant && `[${p.tenant}]`,
        p.step !== null && `${p.step}/${p.steps}`,
        p.part ?? p.stage,
      ].filter(Boolean).join(" ");
      // On a terminal each place keeps its last line; the current one is rewritten in place.
      if (this.out.isTTY && this.open && stage !== this.lastPlace) this.close();
      this.lastPlace = stage;
      const head = `  ${stage.padEnd(19)} ${bar(p.current, p.total)}  ${count.padStart(7)}  `;
      let message = ACTIVITY[p.activity] ?? p.message;
      const columns = this.out.isTTY ? this.out.columns : 0;
      if (columns && head.length + message.length >= columns) {
        message = `${message.slice(0, Math.max(0, columns - head.length - 2))}…`;
      }
      this.write(
        `  ${c.cyan(stage.padEnd(19))}${head.slice(2 + Math.max(19, stage.length))}${c.dim(message)}`,
      );
    } else if (event.type === "done") {
      this.close();
      this.write(
        `  ${c.green("done")}  ${this.label} completed in ${elapsed(Date.now() - this.started)}${
          summarise(event.run)
        }`,
        true,
      );
    } else {
      this.close();
      const e = event.error;
      this.write(`  ${c.red("failed")}  ${this.label}: ${e.code}: ${e.message}`, true);
    }
  }

  /** A line that is not an event (a notice, a fallback). */
  note(text: string): void {
    this.close();
    this.out.write(`${text}\n`);
  }
}

/** `  (types 8, units 40, bookings 1500, ...)` from the run's counters, when it has them. */
export function summarise(run: SyncRun | undefined): string {
  const counters = (run?.stats as { counters?: Record<string, number> } | undefined)?.counters;
  if (!counters || typeof counters !== "object") return "";
  const parts: string[] = [];
  for (const [key, value] of Object.entries(counters)) {
    if (typeof value !== "number") continue;
    if (key.endsWith(".items")) parts.push(`${key.slice(0, -6).replaceAll("_", " ")}s ${value}`);
    else if (/itemErrors|removedUpstream|quarantined|autoCreated/i.test(key) && value > 0) {
      parts.push(`${key} ${value}`);
    }
  }
  return parts.length ? c.dim(`  (${parts.join(", ")})`) : "";
}

export interface FullSyncResult {
  ok: boolean;
  outcomes: { label: string; outcome: StreamOutcome }[];
}

/** A full sync of one tenant with visible progress: the command center's chain, or one source. */
export async function runFullSync(
  client: SyncClient,
  tenantId: string,
  opts: { only?: SyncSource; out?: NodeJS.WriteStream; signal?: AbortSignal } = {},
): Promise<FullSyncResult> {
  const out = opts.out ?? process.stdout;
  const fn = opts.only ?? "sync-command-center";
  const label = opts.only ?? "sync-command-center (accommodations, then bookings)";
  const printer = new ProgressPrinter(label, out);
  out.write(`${c.bold(label)}\n`);
  const outcome = await client.streamProgress(fn, { tenantId }, (e) => printer.event(e), {
    signal: opts.signal,
  });
  return { ok: outcome.ok, outcomes: [{ label, outcome }] };
}
