const DAY_MS = 86_400_000;

export function ymdToDay(ymd: string): number {
  const [y, m, d] = ymd.split("-").map(Number);
  return Math.floor(Date.UTC(y, m - 1, d) / DAY_MS);
}

export function dayToYmd(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function addDays(ymd: string, days: number): string {
  return dayToYmd(ymdToDay(ymd) + days);
}

/** WordPress's `Y-m-d\TH:i:s`: no offset, no `Z`. */
export function wpDateTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

export function dayStartMs(ymd: string): number {
  return ymdToDay(ymd) * DAY_MS;
}

export { DAY_MS };
