import { z } from 'zod';

/** Request shapes of the key-value routes (API.md "Key-value memory"); the provider re-checks keys and values. */

export const kvKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9._:/-]{1,512}$/, 'must be 1-512 characters of A-Z a-z 0-9 . _ : - /');
const tagsSchema = z.record(z.string().min(1).max(100), z.string().max(256));
const writeFields = {
  ttl_seconds: z.number().int().positive().optional(),
  tags: tagsSchema.optional(),
  user_id: z.string().min(1).max(255).optional(),
};

export const putKvSchema = z.strictObject({
  value: z.json(),
  ...writeFields,
  if_not_exists: z.boolean().optional(),
});
export type PutKvBody = z.output<typeof putKvSchema>;

export const listKvQuerySchema = z.strictObject({
  prefix: z.string().max(512).optional(),
  tag: z
    .string()
    .regex(/^[^:]+:.*$/, 'must be name:value')
    .optional(),
  cursor: z.string().max(2000).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type ListKvQuery = z.output<typeof listKvQuerySchema>;

export const kvKeysSchema = z.strictObject({ keys: z.array(kvKeySchema).min(1).max(1000) });

export const batchSetKvSchema = z.strictObject({
  entries: z
    .array(z.strictObject({ key: kvKeySchema, value: z.json(), ...writeFields }))
    .min(1)
    .max(1000),
});
export type BatchSetKvBody = z.output<typeof batchSetKvSchema>;
