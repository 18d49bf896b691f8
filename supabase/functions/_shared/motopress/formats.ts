// The value formats of the mphb/v1 API that both booking validators check: the zod schemas
// (schemas.ts, which give a refused booking its reason) and the hand-written check (booking-check.ts).

export const BOOKING_STATUSES = [
  "pending-user",
  "pending-payment",
  "pending",
  "abandoned",
  "confirmed",
  "cancelled",
] as const;
export type BookingStatus = typeof BOOKING_STATUSES[number];

export const YMD = /^\d{4}-\d{2}-\d{2}$/;
export const NAIVE_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** `value` has the Y-m-d shape (checked before); arithmetic, not a Date: every night of every room is checked. */
export function isCalendarDate(value: string): boolean {
  const y = Number(value.slice(0, 4)), m = Number(value.slice(5, 7)), d = Number(value.slice(8, 10));
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return m >= 1 && m <= 12 && d >= 1 && d <= (m === 2 && leap ? 29 : DAYS_IN_MONTH[m - 1]);
}
