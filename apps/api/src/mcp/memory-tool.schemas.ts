import { FILTER_FIELDS } from '@engram/memory-core';
import { z } from 'zod';
import {
  addMemorySchema,
  listQuerySchema,
  memoryIdSchema,
  searchSchema,
  updateMemorySchema,
} from '../memories/dto/memory.dto.js';

/**
 * The MCP tools' input and output shapes. Every field is the REST DTO's own schema (apps/api/src/memories/dto), so a
 * tool accepts exactly what the matching route accepts; here they only gain the descriptions a model reads.
 * Inputs are strict objects, as the DTOs are: a misspelt argument is an error the model can fix, not silently dropped.
 */

const add = addMemorySchema.shape;
const update = updateMemorySchema.shape;
const search = searchSchema.shape;

const FILTER_HELP =
  'Filter tree over the memories\' fields: {"and": [...]}, {"or": [...]}, {"not": {...}} around conditions ' +
  '{"<field>": {"<op>": value}} with op one of eq, ne, in, nin, gt, gte, lt, lte, contains, icontains, exists. ' +
  `Fields: ${Object.keys(FILTER_FIELDS).join(', ')}, or metadata.<key>. ` +
  'Example: {"and": [{"metadata.topic": {"eq": "travel"}}, {"importance": {"gte": 5}}]}.';

const scope = {
  user_id: add.user_id.describe(
    'The person the memory is about. At least one of user_id, agent_id or run_id is required.',
  ),
  agent_id: add.agent_id.describe('The agent the memory belongs to (e.g. memories of its own about the world).'),
  run_id: add.run_id.describe('One conversation or session, for memories that matter only within it.'),
  namespace: add.namespace.describe(
    'A named memory source (letters, digits and . _ : -). Left out, add_memory stores in "default" and the ' +
      'other tools look in every namespace of the scope.',
  ),
};

const fields = {
  metadata: add.metadata.describe('Free-form JSON object stored with the memory; filterable as metadata.<key>.'),
  memory_type: add.memory_type.describe('A kind label such as "fact", "preference" or "event"; "fact" by default.'),
  importance: add.importance.describe('1 (trivia) to 10 (essential); 5 by default.'),
  confidence: add.confidence.describe('0 to 1: how sure the source is; 1 by default.'),
  categories: add.categories.describe('Tags for the memory, such as ["travel", "food"].'),
  expires_at: add.expires_at.describe('ISO-8601 date-time after which the memory is forgotten; null never expires.'),
};

const wait = z
  .boolean()
  .optional()
  .describe(
    'Answer only once the memory is embedded and searchable by meaning (slower). Without it, keyword search ' +
      'finds the memory at once and meaning-based search within moments.',
  );

const memoryId = memoryIdSchema.describe(
  'The memory id (a UUID), as add_memory, search_memories or list_memories gave it.',
);

export const addMemoryInput = z.strictObject({
  content: add.content
    .unwrap()
    .describe(
      'The fact to remember: one self-contained statement, in the third person where it is about the user ' +
        '(e.g. "Alice is vegetarian and allergic to peanuts").',
    ),
  ...scope,
  ...fields,
  wait,
});

export const searchMemoriesInput = z.strictObject({
  query: search.query.describe('What to look for, in natural language (e.g. "what does Alice eat?").'),
  ...scope,
  filters: search.filters.describe(FILTER_HELP),
  limit: search.limit.describe('How many results at most, 1 to 100 (10 by default).'),
  threshold: search.threshold.describe('Drop results scoring below this (0 to 1).'),
  mode: search.mode.describe(
    'hybrid (meaning and keywords), vector (meaning only) or keyword (exact words only). Left out: the ' +
      "namespace's default mode when it is a declared source (see list_memory_sources), else hybrid.",
  ),
  recency_weight: search.recency_weight.describe('0 to 1: how much to favour recent memories.'),
  importance_weight: search.importance_weight.describe('0 to 1: how much to favour important memories.'),
});

export const getMemoryInput = z.strictObject({ id: memoryId });

export const listMemoriesInput = z.strictObject({
  ...scope,
  filters: search.filters.describe(FILTER_HELP),
  limit: listQuerySchema.shape.limit.describe('How many memories at most, 1 to 1000 (100 by default).'),
  cursor: listQuerySchema.shape.cursor.describe('The next_cursor of the previous page, to read the next one.'),
});

const NOT_CHANGES = new Set(['id', 'wait']);

export const updateMemoryInput = z
  .strictObject({
    id: memoryId,
    content: update.content.describe(
      "The corrected statement, replacing the old one (kept in the memory's history). The memory is re-embedded.",
    ),
    ...fields,
    wait,
  })
  .refine((input) => Object.entries(input).some(([key, value]) => !NOT_CHANGES.has(key) && value !== undefined), {
    message: 'give at least one field to change',
  });

export const deleteMemoryInput = z.strictObject({ id: memoryId });

export type AddMemoryInput = z.output<typeof addMemoryInput>;
export type SearchMemoriesInput = z.output<typeof searchMemoriesInput>;
export type ListMemoriesInput = z.output<typeof listMemoriesInput>;
export type UpdateMemoryInput = z.output<typeof updateMemoryInput>;

/**
 * A memory as the REST API presents it (`presentMemory`), so that clients read the same JSON from both. Loose: a field
 * the API gains later must not fail the clients that validate results against this schema.
 */
const memoryOutput = z.looseObject({
  id: z.string(),
  user_id: z.string().nullable(),
  agent_id: z.string().nullable(),
  run_id: z.string().nullable(),
  namespace: z.string(),
  content: z.string(),
  memory_type: z.string(),
  importance: z.number(),
  confidence: z.number(),
  metadata: z.record(z.string(), z.unknown()),
  categories: z.array(z.string()),
  status: z.enum(['pending', 'ready', 'failed']).describe('pending until embedded; ready once searchable by meaning'),
  failure_reason: z.string().nullable().optional(),
  created_at: z.string(),
  updated_at: z.string(),
  accessed_at: z.string().nullable(),
  access_count: z.number(),
  expires_at: z.string().nullable(),
});

export const oneMemoryOutput = z.object({ memory: memoryOutput });
export const searchOutput = z.object({
  results: z.array(z.object({ memory: memoryOutput, score: z.number().describe('relevance, higher is better') })),
});
export const listOutput = z.object({
  memories: z.array(memoryOutput),
  next_cursor: z.string().nullable().describe('pass as cursor for the next page; null on the last page'),
});
export const deletedOutput = z.object({ deleted: z.literal(true) });

export const listMemorySourcesInput = z.strictObject({});

/** A named memory source as `GET /v1/sources` presents it (`presentMemorySource`). */
export const sourcesOutput = z.object({
  sources: z.array(
    z.looseObject({
      name: z.string().describe('pass it as namespace to the other tools'),
      description: z.string(),
      default_ttl_seconds: z
        .number()
        .nullable()
        .describe('memories added without expires_at live this long; null: forever'),
      default_search_mode: z.enum(['hybrid', 'vector', 'keyword']).describe('the mode of a search that gives none'),
    }),
  ),
});
