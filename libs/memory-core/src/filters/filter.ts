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
export const FILTER_LIMITS = { maxDepth: 8, maxConditions: 100, maxInValues: 1000 } as const;
