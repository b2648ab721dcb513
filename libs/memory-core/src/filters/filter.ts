import type { Memory } from '../memory.js';

/**
 * The filter language of the API as a typed tree. Parsed and validated once at the edge
 * (`parseFilter`); providers only ever see a valid tree: the local provider evaluates it
 * (`matchesFilter`), the Postgres provider compiles it to parameterised SQL.
 */

export const FILTER_OPERATORS = [
  'eq',
  'ne',
  'in',
  'nin',
  'gt',
  'gte',
  'lt',
  'lte',
  'contains',
  'icontains',
  'exists',
] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

/** The kind of value a field holds; it decides which operators and values are valid. */
export type FieldKind = 'string' | 'number' | 'date' | 'string[]' | 'json';

/** The memory's own fields that filters may name, by their API (snake_case) name. */
export const FILTER_FIELDS = {
  id: 'string',
  user_id: 'string',
  agent_id: 'string',
  run_id: 'string',
  namespace: 'string',
  content: 'string',
  memory_type: 'string',
  status: 'string',
  importance: 'number',
  confidence: 'number',
  access_count: 'number',
  categories: 'string[]',
  created_at: 'date',
  updated_at: 'date',
  accessed_at: 'date',
  expires_at: 'date',
} as const satisfies Record<string, FieldKind>;
export type MemoryFilterField = keyof typeof FILTER_FIELDS;

export type FilterField =
  | { readonly kind: 'column'; readonly name: MemoryFilterField; readonly type: FieldKind }
  /** `metadata.a.b` → path ['a', 'b']; values are JSON, compared by their JSON type. */
  | { readonly kind: 'metadata'; readonly path: readonly string[]; readonly type: 'json' };

/** A comparison value after validation: dates are Date objects, lists are arrays of scalars. */
export type FilterScalar = string | number | boolean | null | Date;
export type FilterValue = FilterScalar | readonly FilterScalar[];

export type Filter =
  | { readonly kind: 'and'; readonly filters: readonly Filter[] }
  | { readonly kind: 'or'; readonly filters: readonly Filter[] }
  | { readonly kind: 'not'; readonly filter: Filter }
  | {
      readonly kind: 'condition';
      readonly field: FilterField;
      readonly op: FilterOperator;
      readonly value: FilterValue;
    };

/** Guards against filters built to exhaust the server. */
export const FILTER_LIMITS = {
  /** How many `and` / `or` / `not` may nest inside one another (implicit ANDs do not count). */
  maxDepth: 8,
  /** Field/operator pairs in the whole filter: `{"importance": {"gte": 3, "lte": 7}}` counts 2. */
  maxConditions: 100,
  /** Values in one `in` / `nin` list. */
  maxInValues: 1000,
  /** Keys in one `metadata.<key>[.<key>...]` path. */
  maxMetadataPathKeys: 8,
  /** Characters in one metadata key. */
  maxMetadataKeyLength: 128,
  /** Characters in one string value. */
  maxStringLength: 4096,
} as const;

/** A metadata key: it becomes a part of a JSON path in SQL, so it stays strictly this. */
export const METADATA_KEY_PATTERN = /^[A-Za-z0-9_-]+$/;

/** The Memory property behind each filter field (the API is snake_case, the model camelCase). */
export const MEMORY_FIELD_PROPERTY = {
  id: 'id',
  user_id: 'userId',
  agent_id: 'agentId',
  run_id: 'runId',
  namespace: 'namespace',
  content: 'content',
  memory_type: 'memoryType',
  status: 'status',
  importance: 'importance',
  confidence: 'confidence',
  access_count: 'accessCount',
  categories: 'categories',
  created_at: 'createdAt',
  updated_at: 'updatedAt',
  accessed_at: 'accessedAt',
  expires_at: 'expiresAt',
} as const satisfies { readonly [F in MemoryFilterField]: keyof Memory };

/**
 * The operators each kind of field accepts. One exception on top of this table: the ordering operators
 * (`gt`, `gte`, `lt`, `lte`) are refused on `content` (see `operatorsForField`).
 */
export const FILTER_OPERATORS_BY_KIND: { readonly [K in FieldKind]: readonly FilterOperator[] } = {
  string: FILTER_OPERATORS,
  number: ['eq', 'ne', 'in', 'nin', 'gt', 'gte', 'lt', 'lte', 'exists'],
  date: ['eq', 'ne', 'in', 'nin', 'gt', 'gte', 'lt', 'lte', 'exists'],
  'string[]': ['eq', 'ne', 'in', 'nin', 'contains', 'icontains', 'exists'],
  json: FILTER_OPERATORS,
};

const ORDERING_OPERATORS: readonly FilterOperator[] = ['gt', 'gte', 'lt', 'lte'];

/** The operators valid on one field. */
export function operatorsForField(field: FilterField): readonly FilterOperator[] {
  const byKind = FILTER_OPERATORS_BY_KIND[field.type];
  return field.kind === 'column' && field.name === 'content'
    ? byKind.filter((op) => !ORDERING_OPERATORS.includes(op))
    : byKind;
}
