/* @license Enterprise */
import { describe, expect, it } from '@jest/globals';
import { parsePeriod, periodOf } from './usage-period.js';

describe('usage periods', () => {
  it('is the calendar month in UTC, whatever the local time zone', () => {
    const period = periodOf(new Date('2026-03-31T23:30:00-05:00'));
    expect(period.id).toBe('2026-04');
    expect(period.start.toISOString()).toBe('2026-04-01T00:00:00.000Z');
    expect(period.end.toISOString()).toBe('2026-05-01T00:00:00.000Z');
  });

  it('rolls over the year', () => {
    expect(periodOf(new Date('2026-12-15T00:00:00Z')).end.toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });

  it('parses YYYY-MM and nothing else', () => {
    expect(parsePeriod('2025-02')?.start.toISOString()).toBe('2025-02-01T00:00:00.000Z');
    for (const bad of ['2025-13', '2025-00', '2025-2', '25-02', '2025-02-01', '']) expect(parsePeriod(bad)).toBeNull();
  });
});
