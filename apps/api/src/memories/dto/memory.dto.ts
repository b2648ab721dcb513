import { z } from 'zod';

/**
 * Request shapes of the native memory API (API.md), as zod schemas: one definition gives the
 * validation, the TypeScript types and the OpenAPI schemas.
 */

const ownerId = z.string().min(1).max(255);
export const namespaceName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9._:-]+$/, 'must use only letters, digits and . _ : -');

export const scopeFields = {
  user_id: ownerId.optional(),
  agent_id: ownerId.optional(),
  run_id: ownerId.optional(),
  namespace: namespaceName.optional(),
};

const isoDate = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time' });

const memoryFields = {
  metadata: z.record(z.string(), z.unknown()).optional(),
  memory_type: z.string().min(1).max(64).optional(),
  importance: z.number().int().min(1).max(10).optional(),
  confidence: z.number().min(0).max(1).optional(),
  categories: z.array(z.string().min(1).max(100)).max(50).optional(),
  expires_at: isoDate.nullable().optional(),
};

export const messageSchema = z.strictObject({
  role: z.enum(['user', 'assistant', 'system', 'tool']),
  content: z.string().min(1).max(100_000),
  name: z.string().max(255).optional(),
});

export const addMemorySchema = z
  .strictObject({
    content: z.string().trim().min(1).max(100_000).optional(),
    messages: z.array(messageSchema).min(1).max(1000).optional(),
    ...scopeFields,
    ...memoryFields,
    infer: z.boolean().optional(),
  })
  .refine((body) => (body.content === undefined) !== (body.messages === undefined), {
    message: 'give exactly one of content or messages',
    path: ['content'],
  });
export type AddMemoryBody = z.output<typeof addMemorySchema>;

/** A batch stores memories as given: inference is one add at a time (each answers with its own event). */
export const batchAddSchema = z.strictObject({
  memories: z
    .array(
      addMemorySchema.refine((body) => body.infer !== true, {
        message: 'infer is not available in a batch; add the conversation with POST /v1/memories',
        path: ['infer'],
      }),
    )
    .min(1)
    .max(1000),
});

export const eventIdSchema = z.uuid({ message: 'must be a UUID' });

export const waitQuerySchema = z.strictObject({
  wait: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => value === 'true'),
});

export const updateMemorySchema = z
  .strictObject({
    content: z.string().trim().min(1).max(100_000).optional(),
    ...memoryFields,
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'give at least one field to change' });
export type UpdateMemoryBody = z.output<typeof updateMemorySchema>;

export const memoryIdSchema = z.uuid({ message: 'must be a UUID' });

const limit = (max: number, fallback: number) =>
  z.coerce
    .number({ message: 'must be a number' })
    .int('must be an integer')
    .min(1)
    .max(max, `must be at most ${max}`)
    .default(fallback);

export const listQuerySchema = z.strictObject({
  ...scopeFields,
  limit: limit(1000, 100),
  cursor: z.string().min(1).max(200).optional(),
  filters: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      try {
        return JSON.parse(value) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON-encoded filter' });
        return z.NEVER;
      }
    }),
});
export type ListQuery = z.output<typeof listQuerySchema>;

export const deleteByScopeQuerySchema = z.strictObject({ ...scopeFields });

/** Optional: a memory's history as one of its owners sees it (a deleted memory's too); absent, the tenant's view. */
export const historyQuerySchema = z.strictObject({ ...scopeFields });

export const searchSchema = z.strictObject({
  query: z.string().trim().min(1).max(10_000),
  ...scopeFields,
  filters: z.record(z.string(), z.unknown()).optional(),
  limit: z.number().int().min(1).max(100, 'must be at most 100').default(10),
  threshold: z.number().min(0).max(1).optional(),
  // No default here: absent, the namespace's declared source chooses, else hybrid (MemoryService.search).
  mode: z.enum(['hybrid', 'vector', 'keyword']).optional(),
  recency_weight: z.number().min(0).max(1).optional(),
  importance_weight: z.number().min(0).max(1).optional(),
});
export type SearchBody = z.output<typeof searchSchema>;
