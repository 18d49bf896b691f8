import { ymdToDay } from "./dates.ts";
import { roomTotal } from "./pricing.ts";

export function roomTotalFor(nightlyPrices: number[], checkIn: string, checkOut: string): number {
  const start = ymdToDay(checkIn);
  const nights = ymdToDay(checkOut) - start;
  return Math.round(nightlyPrices.reduce((sum, p) => sum + roomTotal(p, start, nights), 0) * 100) / 100;
}
