/* @license Enterprise */
import { z } from 'zod';
import { parsePeriod } from './usage-period.js';

export const usageQuerySchema = z.strictObject({
  /** `YYYY-MM` (UTC); absent: the current month. */
  month: z
    .string()
    .transform((value, ctx) => {
      const period = parsePeriod(value);
      if (period === null) {
        ctx.addIssue({ code: 'custom', message: 'must be a month, YYYY-MM' });
        return z.NEVER;
      }
      return period;
    })
    .optional(),
});
export type UsageQuery = z.output<typeof usageQuerySchema>;

export const tenantIdSchema = z.uuid({ message: 'must be a tenant id (a UUID)' });
