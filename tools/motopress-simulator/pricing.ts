import { dayToYmd, ymdToDay } from "./dates.ts";

export const CLEANING_FEE = 25;
export const CITY_TAX_RATE = 0.025;

export interface RoomPrice {
  perDay: { date: string; price: number }[];
  fees: { label: string; price: number }[];
  taxes: { accommodation: { label: string; value: number }[]; services: []; fees: [] };
  total: number;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
// 1970-01-01 was a Thursday; Friday and Saturday nights cost more.
const isWeekendNight = (day: number) => {
  const weekday = (day + 4) % 7;
  return weekday === 5 || weekday === 6;
};

function nightly(base: number, day: number): number {
  return round2(isWeekendNight(day) ? base * 1.15 : base);
}

/** Total of one room's stay without building the breakdown; the generator calls this 50k times. */
export function roomTotal(nightlyPrice: number, startDay: number, nights: number): number {
  let sum = 0;
  for (let d = startDay; d < startDay + nights; d++) sum += nightly(nightlyPrice, d);
  return round2(sum + CLEANING_FEE + round2(sum * CITY_TAX_RATE));
}

/** MotoPress recomputes this breakdown from the *current* rate on every request (quirk Q4). */
export function roomPrice(nightlyPrice: number, checkIn: string, checkOut: string): RoomPrice {
  const start = ymdToDay(checkIn);
  const nights = Math.max(0, ymdToDay(checkOut) - start);
  const perDay: { date: string; price: number }[] = [];
  let sum = 0;
  for (let d = start; d < start + nights; d++) {
    const price = nightly(nightlyPrice, d);
    perDay.push({ date: dayToYmd(d), price });
    sum += price;
  }
  const tax = round2(sum * CITY_TAX_RATE);
  return {
    perDay,
    fees: [{ label: "Cleaning fee", price: CLEANING_FEE }],
    taxes: { accommodation: [{ label: "City tax", value: tax }], services: [], fees: [] },
    total: round2(sum + CLEANING_FEE + tax),
  };
}
