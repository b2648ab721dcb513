/* @license Enterprise */
import { z } from 'zod';
import { AUDIT_EXPORT_FORMATS } from './audit-export.js';

/** A point in time: an ISO-8601 date-time with its offset, or a date (its start, UTC). */
const instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()], { message: 'must be an ISO-8601 date or date-time' })
  .transform((value) => new Date(value));

export const auditExportQuerySchema = z
  .strictObject({
    from: instant.optional(),
    to: instant.optional(),
    format: z.enum(AUDIT_EXPORT_FORMATS).default('jsonl'),
  })
  .refine((query) => !query.from || !query.to || query.from < query.to, {
    message: 'from must be before to',
    path: ['to'],
  });
export type AuditExportQuery = z.output<typeof auditExportQuerySchema>;
