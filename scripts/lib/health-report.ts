// Prints the command center's health report (GET sync-command-center) as one table per tenant.
// Tolerant: every field may be missing, and unknown integrity counters are shown as they come.
import type { HealthReport, SyncRun, TenantHealth } from "../../shared/index.ts";
import { c } from "./cli.ts";

const COUNTER_LABELS: Record<string, { label: string; mustBeZero?: boolean }> = {
  reservationsWithoutRoom: { label: "reservations without a room", mustBeZero: true },
  reservationsWithoutRooms: { label: "reservations without room rows", mustBeZero: true },
  quarantinedItems: { label: "quarantined items" },
  autoCreatedUnits: { label: "auto-created units" },
  overbookingConflicts: { label: "overbooking conflicts" },
};

function ago(iso: string, now: number): string {
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return "";
  const s = Math.round(ms / 1000);
  if (s < 0) return "";
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

function when(iso: string | null | undefined, now: number): string {
  if (!iso) return c.yellow("never");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().replace("T", " ").slice(0, 19)} UTC  ${c.dim(`(${ago(iso, now)})`)}`;
}

function runLine(run: SyncRun, now: number): string {
  const r = run as Partial<SyncRun> & Record<string, unknown>;
  const progress = (r.stats as { progress?: { message?: string } } | undefined)?.progress?.message;
  const parts = [
    String(r.source ?? "?"),
    String(r.status ?? "?"),
    r.startedAt ? `started ${ago(String(r.startedAt), now)}` : "",
    r.errorCode ? `${r.errorCode}: ${r.errorMessage ?? ""}` : "",
    progress && r.status !== "failed" ? c.dim(progress) : "",
  ];
  return parts.filter(Boolean).join("  ");
}

export function formatHealth(report: HealthReport, now = Date.now()): string {
  const lines: string[] = [];
  lines.push(c.bold(`Health report${report.generatedAt ? `  (generated ${report.generatedAt})` : ""}`));
  const tenants = Array.isArray(report.tenants) ? report.tenants : [];
  if (tenants.length === 0) lines.push("  no tenants");
  const KEY = 24;
  const row = (key: string, value: string) => lines.push(`  ${key.padEnd(KEY)} ${value}`.trimEnd());
  for (const t of tenants as TenantHealth[]) {
    lines.push("");
    lines.push(`${c.bold(t.slug ?? t.tenantId)}${t.name ? `  ${t.name}` : ""}  ${c.dim(t.tenantId ?? "")}`);
    const last = t.lastSuccessfulSync ?? {};
    row("last successful sync", `accommodations  ${when(last.accommodations, now)}`);
    row("", `bookings        ${when(last.bookings, now)}`);
    const active = Array.isArray(t.activeRuns) ? t.activeRuns : [];
    row("active runs", active.length ? runLine(active[0], now) : c.dim("none"));
    for (const r of active.slice(1)) row("", runLine(r, now));
    const failures = Array.isArray(t.recentFailures) ? t.recentFailures : [];
    row("recent failures", failures.length ? c.yellow(runLine(failures[0], now)) : c.dim("none"));
    for (const r of failures.slice(1, 5)) row("", c.yellow(runLine(r, now)));
    if (failures.length > 5) row("", c.dim(`... and ${failures.length - 5} more`));
    const integrity = t.integrity && typeof t.integrity === "object" ? t.integrity : null;
    if (!integrity) {
      row("integrity", c.dim("not reported"));
      continue;
    }
    row("integrity", "");
    const keys = [
      ...Object.keys(COUNTER_LABELS).filter((k) => k in integrity),
      ...Object.keys(integrity).filter((k) => !(k in COUNTER_LABELS)),
    ];
    for (const key of keys) {
      const value = integrity[key];
      const meta = COUNTER_LABELS[key] ?? { label: key };
      const n = typeof value === "number" ? value : Number(value);
      let shown = String(value ?? "?").padStart(6);
      if (Number.isFinite(n) && n !== 0) {
        shown = meta.mustBeZero ? c.red(`${shown}  <- must be 0`) : c.yellow(`${shown}  <- check`);
      } else shown = c.green(shown);
      lines.push(`    ${meta.label.padEnd(KEY + 8)} ${shown}`);
    }
    const quarantine = Array.isArray(t.quarantine) ? t.quarantine : [];
    if (quarantine.length) row("quarantined", "");
    for (const q of quarantine) lines.push(`    ${c.yellow(`${q.entity} ${q.externalId}`)}: ${q.reason}`);
  }
  return lines.join("\n");
}

/** True when some must-be-zero counter is not zero (for exit codes). */
export function hasIntegrityViolations(report: HealthReport): boolean {
  return (report.tenants ?? []).some((t) =>
    Object.entries(COUNTER_LABELS).some(([key, meta]) =>
      meta.mustBeZero && Number(t.integrity?.[key] ?? 0) > 0
    )
  );
}
