import {
  FILTER_FIELDS,
  FILTER_OPERATORS,
  MemoryException,
  MemoryExceptionCode,
  parseFilter,
  type Filter,
  type MemoryScope,
  type TenantId,
} from '@engram/memory-core';

/**
 * mem0's filter language, translated into Engram's (API.md, "Filters") and parsed by the one parser
 * (`parseFilter`), so that validation and semantics are Engram's, and then into the scopes a read runs in.
 *
 * mem0's grammar: `{"AND": [F, ...]}`, `{"OR": [F, ...]}`, `{"NOT": [F, ...]}` (or `{"NOT": F}`); a field condition
 * `{"<field>": value}` (equality; a list means `in`) or `{"<field>": {"<op>": value}}` with the operators eq, ne, in,
 * nin, gt, gte, lt, lte, contains, icontains; the value `"*"` is a wildcard that matches everything; an object with
 * several keys is the AND of its entries. Fields, each also in camelCase (`userId`):
 *
 * | mem0 | Engram |
 * |---|---|
 * | `user_id`, `agent_id`, `run_id` | the same columns (and they scope the read: see `scopedReads`) |
 * | `app_id` | `namespace` (mem0's app is where a memory came from) |
 * | `created_at`, `updated_at` | the same dates |
 * | `expiration_date` | `expires_at` |
 * | `categories` | `categories` (a bare value: the memory has that category) |
 * | `keywords` | `content` (a bare value: `icontains`) |
 * | `metadata: {"k": v}` | `metadata.k` (nested objects are nested keys; `{"k": {"op": v}}` an operator) |
 * | Engram's own fields (`importance`, `memory_type`, `metadata.k`, …) | themselves |
 *
 * An unknown field or operator is a 400 (Engram never ignores a filter it does not understand).
 */

/** Engram's filter JSON (the input of `parseFilter`), or TRUE: a wildcard, which constrains nothing. */
type Translated = Record<string, unknown> | typeof TRUE;
const TRUE = null;

const LOGICAL: Readonly<Record<string, 'and' | 'or' | 'not'>> = {
  AND: 'and',
  and: 'and',
  OR: 'or',
  or: 'or',
  NOT: 'not',
  not: 'not',
};

type Mem0Field = 'content' | 'categories' | 'metadata' | keyof typeof FILTER_FIELDS;

const MEM0_FIELDS: Readonly<Record<string, Mem0Field>> = {
  userId: 'user_id',
  agentId: 'agent_id',
  runId: 'run_id',
  app_id: 'namespace',
  appId: 'namespace',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  expiration_date: 'expires_at',
  expirationDate: 'expires_at',
  keywords: 'content',
  memoryType: 'memory_type',
  metadata: 'metadata',
};

const KNOWN_FIELDS = 'user_id, agent_id, app_id, run_id, created_at, updated_at, categories, keywords, metadata';
const WILDCARD = '*';
const OPERATORS: ReadonlySet<string> = new Set(FILTER_OPERATORS);

/** mem0 filters (and the top-level entity ids of the older routes) as an Engram filter; undefined when none. */
export function translateMem0Filters(filters: unknown): Filter | undefined {
  if (filters === undefined || filters === null) return undefined;
  const translated = translateNode(filters, 'filters');
  return translated === TRUE ? undefined : parseFilter(translated);
}

function translateNode(node: unknown, path: string): Translated {
  if (!isPlainObject(node)) fail(path, 'a filter must be an object');
  const keys = Object.keys(node);
  if (keys.length === 0) return TRUE;
  return and(keys.map((key) => translateEntry(key, node[key], `${path}.${key}`)));
}

function translateEntry(key: string, value: unknown, path: string): Translated {
  const logical = LOGICAL[key];
  if (logical === 'and' || logical === 'or') {
    const children = Array.isArray(value) ? value : [value];
    if (children.length === 0) fail(path, `"${key}" needs at least one filter`);
    const translated = children.map((child, i) => translateNode(child, `${path}[${i}]`));
    return logical === 'and' ? and(translated) : or(translated);
  }
  if (logical === 'not') {
    const children = Array.isArray(value) ? value : [value];
    const inner = and(children.map((child, i) => translateNode(child, `${path}[${i}]`)));
    if (inner === TRUE) fail(path, 'NOT of a wildcard matches nothing');
    return { not: inner };
  }
  const field = fieldOf(key, path);
  if (field === 'metadata') return translateMetadata(value, 'metadata', path);
  return translateCondition(field, value, path);
}

function fieldOf(key: string, path: string): Mem0Field | `metadata.${string}` {
  if (Object.hasOwn(MEM0_FIELDS, key)) return MEM0_FIELDS[key];
  if (Object.hasOwn(FILTER_FIELDS, key)) return key as keyof typeof FILTER_FIELDS;
  if (key.startsWith('metadata.')) return key as `metadata.${string}`;
  fail(path, `unknown filter field "${key}"; mem0's fields are ${KNOWN_FIELDS} (or a metadata key: {"metadata": {…}})`);
}

function translateCondition(field: string, value: unknown, path: string): Translated {
  if (value === WILDCARD) return TRUE;
  if (isPlainObject(value)) {
    for (const op of Object.keys(value)) {
      if (!OPERATORS.has(op))
        fail(`${path}.${op}`, `unknown operator "${op}"; allowed: ${FILTER_OPERATORS.join(', ')}`);
    }
    return { [field]: value };
  }
  if (Array.isArray(value)) return { [field]: { in: value } };
  if (field === 'content') return { content: { icontains: value } };
  if (field === 'categories') return { categories: { contains: value } };
  return { [field]: { eq: value } };
}

/** `{"metadata": {"a": 1, "b": {"gt": 2}, "c": {"d": "x"}}}` → `metadata.a`, `metadata.b`, `metadata.c.d`. */
function translateMetadata(value: unknown, prefix: string, path: string): Translated {
  if (!isPlainObject(value)) fail(path, 'metadata takes an object of keys and values: {"metadata": {"key": "value"}}');
  const parts = Object.entries(value).map(([key, item]) => {
    const field = `${prefix}.${key}`;
    const isOperatorObject =
      isPlainObject(item) && Object.keys(item).length > 0 && Object.keys(item).every((k) => OPERATORS.has(k));
    return isPlainObject(item) && !isOperatorObject
      ? translateMetadata(item, field, `${path}.${key}`)
      : translateCondition(field, item, `${path}.${key}`);
  });
  return and(parts);
}

function and(parts: readonly Translated[]): Translated {
  const constraining = parts.filter((part): part is Record<string, unknown> => part !== TRUE);
  if (constraining.length === 0) return TRUE;
  return constraining.length === 1 ? constraining[0] : { and: constraining };
}

function or(parts: readonly Translated[]): Translated {
  if (parts.some((part) => part === TRUE)) return TRUE;
  return parts.length === 1 ? parts[0] : { or: parts };
}

/** The entity ids a read names at the top level (the older routes), as mem0 filter conditions. */
export function entityConditions(entities: {
  user_id?: string;
  agent_id?: string;
  run_id?: string;
  app_id?: string;
}): Record<string, string>[] {
  return (['user_id', 'agent_id', 'run_id', 'app_id'] as const).flatMap((key) => {
    const value = entities[key];
    return value === undefined ? [] : [{ [key]: value }];
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Scopes

/** Who a read may be about: the owner fields one scope fixes. */
export interface ScopeKey {
  userId?: string;
  agentId?: string;
  runId?: string;
}

/** A read split into scopes that are disjoint (no memory falls in two), each with the filter to apply in it. */
export interface ScopedRead {
  scope: MemoryScope;
  filter: Filter;
}

/** More than this and the caller should list the ids it means more narrowly. */
export const MAX_SCOPES = 20;

const SCOPE_COLUMNS = { user_id: 'userId', agent_id: 'agentId', run_id: 'runId' } as const;

/**
 * The scopes a filtered read runs in. Engram reads only inside a scope that names a user, agent or run (as mem0's
 * platform requires "at least one positively-scoped entity ID"), so the filter must pin every result to one: an
 * entity's `eq` or `in` that holds for every match (at the top, or in every branch of an OR). Each scope gets the
 * whole filter (its entity conditions included), so the answer is exactly the filter's; a memory that two scopes
 * share is given to the first only (the later ones also exclude the earlier), so nothing is read twice.
 */
export function scopedReads(tenantId: TenantId, filter: Filter | undefined): ScopedRead[] {
  const keys = filter === undefined ? null : coverOf(filter);
  if (filter === undefined || keys === null) {
    throw new MemoryException(
      MemoryExceptionCode.SCOPE_REQUIRED,
      'filters must name at least one of user_id, agent_id or run_id with a value (eq or in) that every result has: ' +
        'e.g. {"user_id": "alice"} or {"AND": [{"user_id": "alice"}, ...]}; wildcards, ne and NOT do not scope a ' +
        'read, and an OR needs an entity in each branch',
    );
  }
  const minimal = withoutSubsumed(keys);
  if (minimal.length > MAX_SCOPES) {
    throw MemoryException.validation(
      `filters span ${minimal.length} users, agents or runs; at most ${MAX_SCOPES} may be read at once`,
    );
  }
  return minimal.map((key, i) => ({
    scope: { tenantId, ...key },
    filter:
      i === 0 ? filter : { kind: 'and', filters: [filter, ...minimal.slice(0, i).map((earlier) => not(earlier))] },
  }));
}

/**
 * The scope keys whose union holds every memory the filter matches, or null when the filter does not pin its matches
 * to users, agents or runs. An empty list means the filter matches nothing (`user_id = a AND user_id = b`).
 */
export function coverOf(filter: Filter): ScopeKey[] | null {
  switch (filter.kind) {
    case 'condition': {
      const { field, op, value } = filter;
      if (field.kind !== 'column' || !Object.hasOwn(SCOPE_COLUMNS, field.name)) return null;
      const property = SCOPE_COLUMNS[field.name as keyof typeof SCOPE_COLUMNS];
      if (op === 'eq' && typeof value === 'string') return [{ [property]: value }];
      if (op === 'in' && Array.isArray(value)) return [...new Set(value.map(String))].map((v) => ({ [property]: v }));
      return null;
    }
    case 'and': {
      const covers = filter.filters.map(coverOf).filter((cover): cover is ScopeKey[] => cover !== null);
      if (covers.length === 0) return null;
      return covers.reduce((acc, cover) => dedupe(acc.flatMap((a) => cover.flatMap((b) => merge(a, b) ?? []))));
    }
    case 'or': {
      const covers = filter.filters.map(coverOf);
      if (covers.some((cover) => cover === null)) return null;
      return dedupe((covers as ScopeKey[][]).flat());
    }
    case 'not':
      return null;
  }
}

/** Both keys at once, or null when they contradict (two different users). */
function merge(a: ScopeKey, b: ScopeKey): ScopeKey | null {
  const merged: ScopeKey = { ...a };
  for (const property of ['userId', 'agentId', 'runId'] as const) {
    const value = b[property];
    if (value === undefined) continue;
    if (merged[property] !== undefined && merged[property] !== value) return null;
    merged[property] = value;
  }
  return merged;
}

function dedupe(keys: readonly ScopeKey[]): ScopeKey[] {
  const seen = new Map<string, ScopeKey>();
  for (const key of keys) seen.set(JSON.stringify([key.userId, key.agentId, key.runId]), key);
  return [...seen.values()];
}

/** A key whose constraints include another's is inside it: reading the wider one reads it too. */
function withoutSubsumed(keys: readonly ScopeKey[]): ScopeKey[] {
  const within = (inner: ScopeKey, outer: ScopeKey) =>
    (['userId', 'agentId', 'runId'] as const).every((p) => outer[p] === undefined || outer[p] === inner[p]);
  return keys.filter(
    (key, i) => !keys.some((other, j) => j !== i && within(key, other) && (!within(other, key) || j < i)),
  );
}

/** "Not in this scope": the negation of the key's owner conditions. */
function not(key: ScopeKey): Filter {
  const conditions: Filter[] = (Object.keys(SCOPE_COLUMNS) as (keyof typeof SCOPE_COLUMNS)[]).flatMap((name) => {
    const value = key[SCOPE_COLUMNS[name]];
    return value === undefined
      ? []
      : [{ kind: 'condition', field: { kind: 'column', name, type: 'string' }, op: 'eq', value } satisfies Filter];
  });
  return { kind: 'not', filter: conditions.length === 1 ? conditions[0] : { kind: 'and', filters: conditions } };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function fail(path: string, message: string): never {
  throw new MemoryException(MemoryExceptionCode.INVALID_FILTER, `${path}: ${message}`, { path });
}
