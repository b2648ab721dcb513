import { z } from 'zod';

/**
 * Request shapes of mem0's platform API, as its clients send them (snake_case; the JS client converts its options
 * itself, so a camelCase key is accepted too, as the same field). What Engram cannot honour is refused by name
 * (strict objects), never dropped silently; the options that only tune mem0's own pipeline (rerank, latest_only, …)
 * are accepted and have nothing to change here.
 */

const ownerId = z.string().min(1).max(255);

/** `user_id` etc. at the top level: the older routes scope by them; the v3 routes take them in `filters` too. */
const entityFields = {
  user_id: ownerId.optional(),
  agent_id: ownerId.optional(),
  run_id: ownerId.optional(),
  /** Kept as the memory's namespace. */
  app_id: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9._:-]+$/, 'must use only letters, digits and . _ : -')
    .optional(),
};
export type EntityFields = { user_id?: string; agent_id?: string; run_id?: string; app_id?: string };

/** Ignored: the tenant comes from the API key. */
const accountFields = {
  org_id: z.string().optional(),
  project_id: z.string().optional(),
  org_name: z.string().optional(),
  project_name: z.string().optional(),
};

const outputFormat = z.enum(['v1.0', 'v1.1']).optional();
const apiVersion = z.string().max(10).optional();

/** An expiry as mem0 writes it (`2025-12-31`) or an ISO date-time; null clears it. */
const expirationDate = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })], {
    message: 'must be a date (YYYY-MM-DD) or an ISO date-time',
  })
  .nullable()
  .optional();

const metadata = z.record(z.string(), z.unknown());

/** The one option whose null means something (no expiry); any other null is an option not given. */
const MEANINGFUL_NULLS: ReadonlySet<string> = new Set(['expiration_date']);

/**
 * The camelCase spelling of a top-level key becomes its snake_case one (`userId` → `user_id`), as mem0's JS client
 * does before sending; both spellings at once is a 400. A null option is left out, as mem0's clients leave out their
 * `None` options (`{"user_id": "alice", "agent_id": null}` scopes by the user alone).
 */
function snakeCaseKeys(value: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const snake = key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
    if (item === null && !MEANINGFUL_NULLS.has(snake)) continue;
    if (snake !== key && Object.hasOwn(value, snake)) {
      ctx.addIssue({ code: 'custom', message: `give ${snake} or ${key}, not both`, path: [key] });
      continue;
    }
    out[snake] = item;
  }
  return out;
}

const withSnakeCaseKeys = <S extends z.ZodType>(schema: S) => z.preprocess(snakeCaseKeys, schema);

/** A conversation turn. Images (mem0's multimodal content) are not stored: a 400 says so. */
export const mem0MessageSchema = z.object({
  role: z.enum(['user', 'assistant', 'system', 'tool']),
  content: z
    .string({ message: 'must be text: images and other multimodal content are not supported' })
    .min(1)
    .max(100_000),
  name: z.string().max(255).optional(),
});
export type Mem0Message = z.output<typeof mem0MessageSchema>;

/** A list of turns, or one text (a user's turn). */
const messages = z.preprocess(
  (value) => (typeof value === 'string' ? [{ role: 'user', content: value }] : value),
  z.array(mem0MessageSchema).min(1).max(1000),
);

/** `POST /v3/memories/add/` and the older `POST /v1/memories/`. */
export const mem0AddSchema = withSnakeCaseKeys(
  z.strictObject({
    messages,
    ...entityFields,
    ...accountFields,
    metadata: metadata.optional(),
    /** mem0 extracts facts by default, and so does Engram (InferenceService; `false` stores the messages as they are). */
    infer: z.boolean().default(true),
    async_mode: z.boolean().default(true),
    output_format: outputFormat,
    version: apiVersion,
    expiration_date: expirationDate,
  }),
);
export type Mem0AddBody = z.output<typeof mem0AddSchema>;

const filters = z.record(z.string(), z.unknown());
const fields = z.array(z.string().min(1).max(64)).max(50).optional();
const categories = z.array(z.string().min(1).max(100)).min(1).max(50).optional();

/** The options that tune mem0's own ranking or pipeline; Engram's search has nothing to change for them. */
const mem0OnlyOptions = {
  rerank: z.boolean().optional(),
  keyword_search: z.boolean().optional(),
  filter_memories: z.boolean().optional(),
  latest_only: z.boolean().optional(),
  show_expired: z.boolean().optional(),
  reference_date: z.union([z.string(), z.number()]).optional(),
  source: z.string().max(100).optional(),
  enable_graph: z.literal(false).optional(),
};

/** `POST /v3/memories/search/`, `/v2/memories/search/` and `/v1/memories/search/`. */
export const mem0SearchSchema = withSnakeCaseKeys(
  z
    .strictObject({
      query: z.string().trim().min(1).max(10_000),
      filters: filters.optional(),
      ...entityFields,
      ...accountFields,
      top_k: z.number().int().min(1).optional(),
      /** The oldest clients' name for top_k. */
      limit: z.number().int().min(1).optional(),
      threshold: z.number().min(0).max(1).optional(),
      fields,
      categories,
      metadata: metadata.optional(),
      output_format: outputFormat,
      version: apiVersion,
      ...mem0OnlyOptions,
    })
    .refine((body) => body.top_k === undefined || body.limit === undefined, {
      message: 'give top_k or limit, not both',
      path: ['limit'],
    }),
);
export type Mem0SearchBody = z.output<typeof mem0SearchSchema>;

const page = z.coerce.number({ message: 'must be a number' }).int('must be an integer').min(1);
/** Engram's list limit: a larger page is a 400, not a shorter page. */
const pageSize = z.coerce.number({ message: 'must be a number' }).int('must be an integer').min(1).max(1000);

/** `POST /v3/memories/` and `POST /v2/memories/` (their `page` / `page_size` travel in the query string). */
export const mem0ListBodySchema = withSnakeCaseKeys(
  z.strictObject({
    filters: filters.optional(),
    ...entityFields,
    ...accountFields,
    start_date: z.string().min(1).optional(),
    end_date: z.string().min(1).optional(),
    categories,
    fields,
    page: page.optional(),
    page_size: pageSize.optional(),
    output_format: outputFormat,
    version: apiVersion,
    latest_only: z.boolean().optional(),
    show_expired: z.boolean().optional(),
    enable_graph: z.literal(false).optional(),
  }),
);
export type Mem0ListBody = z.output<typeof mem0ListBodySchema>;

export const mem0PageQuerySchema = z.strictObject({
  page: page.optional(),
  page_size: pageSize.optional(),
});
export type Mem0PageQuery = z.output<typeof mem0PageQuerySchema>;

/** `GET /v1/memories/?user_id=…` (the oldest clients' list). */
export const mem0ListQuerySchema = withSnakeCaseKeys(
  z.strictObject({
    ...entityFields,
    ...accountFields,
    page: page.optional(),
    page_size: pageSize.optional(),
    output_format: outputFormat,
    version: apiVersion,
  }),
);
export type Mem0ListQuery = z.output<typeof mem0ListQuerySchema>;

/** `DELETE /v1/memories/?user_id=…`. */
export const mem0DeleteAllQuerySchema = withSnakeCaseKeys(z.strictObject({ ...entityFields, ...accountFields }));

export const mem0MemoryIdSchema = z.uuid({ message: 'must be a memory id (a UUID)' });

/** `PUT /v1/memories/{id}/`. */
export const mem0UpdateSchema = withSnakeCaseKeys(
  z
    .strictObject({
      text: z.string().trim().min(1).max(100_000).optional(),
      metadata: metadata.optional(),
      expiration_date: expirationDate,
      timestamp: z
        .unknown()
        .refine(() => false, 'is not supported: Engram keeps the time a memory was stored')
        .optional(),
    })
    .refine((body) => Object.values(body).some((value) => value !== undefined), {
      message: 'give at least one of text, metadata or expiration_date',
    }),
);
export type Mem0UpdateBody = z.output<typeof mem0UpdateSchema>;

/** `PUT /v1/batch/`. */
export const mem0BatchUpdateSchema = z.strictObject({
  memories: z
    .array(z.strictObject({ memory_id: mem0MemoryIdSchema, text: z.string().trim().min(1).max(100_000) }))
    .min(1)
    .max(1000),
});
export type Mem0BatchUpdateBody = z.output<typeof mem0BatchUpdateSchema>;

/** `DELETE /v1/batch/`. */
export const mem0BatchDeleteSchema = z.strictObject({
  memories: z
    .array(z.strictObject({ memory_id: mem0MemoryIdSchema }))
    .min(1)
    .max(1000),
});
export type Mem0BatchDeleteBody = z.output<typeof mem0BatchDeleteSchema>;

/** `GET /v1/entities/`. */
export const mem0EntitiesQuerySchema = withSnakeCaseKeys(
  z.strictObject({ page: page.optional(), page_size: pageSize.optional(), ...accountFields }),
);
export type Mem0EntitiesQuery = z.output<typeof mem0EntitiesQuerySchema>;

export const mem0EntityTypeSchema = z.enum(['user', 'agent', 'app', 'run'], {
  message: 'must be one of user, agent, app, run',
});
export type Mem0EntityType = z.output<typeof mem0EntityTypeSchema>;
export const mem0EntityNameSchema = ownerId;

/** mem0's event ids are UUIDs; Engram's are the id of the add's first memory. */
export const mem0EventIdSchema = z.uuid({ message: 'must be an event id (a UUID)' });
