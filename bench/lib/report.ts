// Figures, targets and the printed table. A MISS is reported, never fatal; a failed correctness
// check is (the bench then exits non-zero).

export type Direction = "max" | "min";

export interface Metric {
  id: string;
  label: string;
  value: number | null;
  unit: string;
  /** `max`: the value must be <= target; `min`: >= target. No target: informational. */
  target?: { dir: Direction; value: number };
  note?: string;
}

export const verdict = (m: Metric): "PASS" | "MISS" | "info" | "n/a" =>
  m.value === null
    ? "n/a"
    : !m.target
    ? "info"
    : (m.target.dir === "max" ? m.value <= m.target.value : m.value >= m.target.value)
    ? "PASS"
    : "MISS";

export function fmt(v: number | null, unit = ""): string {
  if (v === null || !Number.isFinite(v)) return "-";
  const abs = Math.abs(v);
  const s = abs >= 1000 ? v.toFixed(0) : abs >= 100 ? v.toFixed(1) : abs >= 10 ? v.toFixed(2) : v.toFixed(3);
  return unit ? `${s} ${unit}` : s;
}

const targetText = (
  m: Metric,
) => (m.target
  ? `${m.target.dir === "max" ? "<=" : ">="} ${m.target.value}${
    m.unit && m.unit !== "x" ? " " + m.unit : m.unit === "x" ? "x" : ""
  }`
  : "");

export function table(metrics: Metric[], previous?: Map<string, number | null>): string {
  const rows = metrics.map((m) => {
    const prev = previous?.get(m.id);
    let delta = "";
    if (previous) {
      if (prev === undefined || prev === null || m.value === null) delta = prev === undefined ? "new" : "-";
      else {
        const d = m.value - prev;
        const pct = prev !== 0 ? ` (${d >= 0 ? "+" : ""}${((d / Math.abs(prev)) * 100).toFixed(0)}%)` : "";
        delta = `${d >= 0 ? "+" : ""}${fmt(d)}${pct}`;
      }
    }
    return [
      m.label,
      fmt(m.value, m.unit === "x" ? "" : m.unit) + (m.unit === "x" && m.value !== null ? "x" : ""),
      targetText(m),
      verdict(m),
      ...(previous ? [delta] : []),
    ];
  });
  const header = ["figure", "value", "target", "result", ...(previous ? ["delta vs last"] : [])];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function markdownTable(metrics: Metric[]): string {
  const out = ["| figure | value | target | result |", "|---|---:|---:|:---:|"];
  for (const m of metrics) {
    out.push(
      `| ${m.label} | ${fmt(m.value, m.unit === "x" ? "" : m.unit)}${
        m.unit === "x" && m.value !== null ? "x" : ""
      } | ${targetText(m) || "-"} | ${verdict(m)} |`,
    );
  }
  return out.join("\n");
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
