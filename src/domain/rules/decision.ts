/** Why a rule decided what it did. `blocking` reasons are the ones that stop the course. */
export interface Reason {
  code: string;
  message: string;
  blocking: boolean;
}

export interface Decision<D extends string> {
  decision: D;
  reasons: Reason[];
}

export const block = (code: string, message: string): Reason => ({ code, message, blocking: true });
export const note = (code: string, message: string): Reason => ({ code, message, blocking: false });

/** Parse an ISO string or Date; throws RangeError on an invalid time (rules never read the clock). */
export function toTime(value: Date | string, name = 'time'): number {
  const t = value instanceof Date ? value.getTime() : Date.parse(value);
  if (!Number.isFinite(t)) throw new RangeError(`${name} is not a valid date/time: ${String(value)}`);
  return t;
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
