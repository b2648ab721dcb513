/* @license Enterprise */

/** A billing period: a calendar month in UTC, named `YYYY-MM`. */
export interface UsagePeriod {
  id: string;
  start: Date;
  /** The next period's start (exclusive). */
  end: Date;
}

const PERIOD_ID = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function periodOf(at: Date): UsagePeriod {
  return periodFrom(at.getUTCFullYear(), at.getUTCMonth());
}

/** The period named `YYYY-MM`; null for anything else. */
export function parsePeriod(id: string): UsagePeriod | null {
  const match = PERIOD_ID.exec(id);
  return match ? periodFrom(Number(match[1]), Number(match[2]) - 1) : null;
}

function periodFrom(year: number, month: number): UsagePeriod {
  const start = new Date(Date.UTC(year, month, 1));
  const end = new Date(Date.UTC(year, month + 1, 1));
  return { id: `${year.toString().padStart(4, '0')}-${String(month + 1).padStart(2, '0')}`, start, end };
}
