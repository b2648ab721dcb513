import { ACCESS_SCOPES } from '@engram/memory-core';
import { z } from 'zod';

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const createTenantSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  quotas: z
    .strictObject({
      max_memories: count.optional(),
      max_requests_per_month: count.optional(),
      requests_per_minute: count.optional(),
      max_embedding_tokens_per_month: count.optional(),
    })
    .optional(),
});
export type CreateTenantBody = z.output<typeof createTenantSchema>;

export const createApiKeySchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  scopes: z.array(z.enum(ACCESS_SCOPES)).min(1, 'give at least one scope'),
  expires_at: z.iso
    .datetime({ offset: true, message: 'must be an ISO-8601 date-time' })
    .refine((value) => new Date(value).getTime() > Date.now(), 'must be in the future')
    .nullable()
    .optional(),
});
export type CreateApiKeyBody = z.output<typeof createApiKeySchema>;

export const tenantIdSchema = z.uuid({ message: 'must be a tenant id (a UUID)' });
export const apiKeyIdSchema = z.string().regex(/^[0-9a-f]{16}$/, 'must be an API key id');
