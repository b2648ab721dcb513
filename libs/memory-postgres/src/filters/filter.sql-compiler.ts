/**
 * Compiles a parsed filter (see `parseFilter`) to a parameterised SQL boolean expression over the `memories` table.
 * The expression gives, on every row, exactly the answer `matchesFilter` (filter.evaluator.ts, whose top comment is
 * the specification) gives on the memory the provider reads back from that row. Values only ever travel as bind
 * parameters (`SqlParams`): the SQL text holds column names, operators, placeholders and a few fixed literals.
 *
 * The expression is never NULL: every condition is written so that a NULL column makes it false, not unknown
 * (`col IS NOT NULL AND col = $1`, or `COALESCE(..., false)` where no index could serve it anyway), so `NOT`, `AND`
 * and `OR` are two-valued as the evaluator's are. The `IS NOT NULL AND` form is preferred over COALESCE for the
 * common conditions because a COALESCE around `col = $1` hides it from every index.
 *
 * Index-friendly forms (for the planner, with the usual indexes):
 * - string column `eq` / `in`: `m.user_id = $1::text`, `m.user_id = ANY($1::text[])` (btree);
 * - `id` `eq` / `in`: `m.id = $1::uuid` (the primary key; a value that is not a lower-case canonical uuid can
 *   equal no stored id, as the driver reads uuids back in that form, and compiles to FALSE);
 * - integer columns: `m.importance >= $1::bigint` (btree; a fractional bound is rounded to the equivalent integer);
 * - dates: ranges `m.created_at >= $1::timestamptz AND m.created_at < $2::timestamptz` (btree);
 * - categories: `m.categories @> ARRAY[$1::text]` (eq / contains), `m.categories && $1::text[]` (in) (GIN);
 * - metadata `eq` / `in` and `contains` of a number or boolean, and the array half of `contains` of a string:
 *   `m.metadata @> $1::jsonb` with the value nested under its path (GIN, jsonb_ops or jsonb_path_ops). Nested
 *   containment matches a scalar only against the same scalar (a nested array holding it does not match: the
 *   "array contains a primitive" exception of `@>` applies at the top level only, and metadata is an object), so
 *   it is exactly the evaluator's `eq`.
 */
import {
  MemoryException,
  MemoryExceptionCode,
  FILTER_FIELDS,
  type Filter,
  type FilterField,
  type FilterScalar,
  type FilterValue,
  type MemoryFilterField,
} from '@engram/memory-core';
import type { SqlParams } from './sql-params.js';

/**
 * The collation whose `lower()` lower-cases as JavaScript's `toLowerCase()` does (full Unicode case mapping,
 * final sigma, `İ` → `i̇`): ICU's root locale. The libc collations (`C.UTF-8`, `en_US.UTF-8`) map one character to
 * one and ignore context; `C` lower-cases ASCII only. Postgres built with ICU (the official and pgvector images,
 * Debian's packages, PGlite) always has it.
 */
export const LOWER_COLLATION = 'und-x-icu';

/** The table alias: an identifier written into the SQL, so strictly a plain one. */
const ALIAS_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Alias of the compiler's own subqueries (`unnest`, `jsonb_array_elements`); callers may not use the prefix. */
const ELEMENT = '__filter_el';

type Condition = Extract<Filter, { kind: 'condition' }>;
type ColumnField = Extract<FilterField, { kind: 'column' }>;
type MetadataField = Extract<FilterField, { kind: 'metadata' }>;
type OrderOperator = 'gt' | 'gte' | 'lt' | 'lte';
type Comparable = string | number | boolean | null;

const SQL_ORDER: Readonly<Record<OrderOperator, string>> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };
const TRUE = 'TRUE';
const FALSE = 'FALSE';

/** How each filterable column is stored. */
type Storage = 'text' | 'uuid' | 'integer' | 'real' | 'timestamptz' | 'text[]';
const COLUMN_STORAGE: { readonly [F in MemoryFilterField]: Storage } = {
  id: 'uuid',
  user_id: 'text',
  agent_id: 'text',
  run_id: 'text',
  namespace: 'text',
  content: 'text',
  memory_type: 'text',
  status: 'text',
  importance: 'integer',
  confidence: 'real',
  access_count: 'integer',
  categories: 'text[]',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
  accessed_at: 'timestamptz',
  expires_at: 'timestamptz',
};

/** Returns a SQL boolean expression, never NULL, true exactly on the rows whose memory `matchesFilter`. */
export function compileFilter(filter: Filter, params: SqlParams, alias = 'm'): string {
  if (!ALIAS_PATTERN.test(alias) || alias.toLowerCase().startsWith(ELEMENT)) {
    throw new Error(`compileFilter: the table alias must be a plain SQL identifier, got ${JSON.stringify(alias)}`);
  }
  return compileNode(filter, { params, alias });
}

interface Context {
  readonly params: SqlParams;
  readonly alias: string;
}

function compileNode(filter: Filter, ctx: Context): string {
  switch (filter.kind) {
    case 'and':
      return filter.filters.length === 0 ? TRUE : `(${filter.filters.map((f) => compileNode(f, ctx)).join(' AND ')})`;
    case 'or':
      return filter.filters.length === 0 ? FALSE : `(${filter.filters.map((f) => compileNode(f, ctx)).join(' OR ')})`;
    case 'not':
      return `(NOT ${compileNode(filter.filter, ctx)})`;
    case 'condition':
      return compileCondition(filter, ctx);
  }
}

/**
 * What one field can say in SQL. Each method returns a never-NULL expression; all but `missing` are false when
 * the value is missing. `ne`, `nin` and the `null` forms are derived from these (`ne x` ≡ `not (eq x)` ...).
 */
interface Target {
  present(): string;
  missing(): string;
  /** `eq` / `in`: the value equals one of `values` (already non-null). */
  equalsAny(values: readonly Comparable[]): string;
  order(op: OrderOperator, value: Comparable): string;
  /** `contains` / `icontains`; the needle is given as in the filter (a Date stays a Date, as for the evaluator). */
  contains(needle: FilterScalar, ignoreCase: boolean): string;
}

function compileCondition(condition: Condition, ctx: Context): string {
  const { op, value } = condition;
  checkValue(value);
  const target =
    condition.field.kind === 'column' ? columnTarget(condition.field, ctx) : metadataTarget(condition.field, ctx);
  switch (op) {
    case 'exists':
      return value === true ? target.present() : value === false ? target.missing() : FALSE;
    case 'eq':
      return value === null ? target.missing() : equalsAny(target, [value]);
    case 'ne':
      return value === null ? target.present() : not(equalsAny(target, [value]));
    case 'in':
      return equalsAny(target, Array.isArray(value) ? value : [value]);
    case 'nin':
      return not(equalsAny(target, Array.isArray(value) ? value : [value]));
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return Array.isArray(value) ? FALSE : target.order(op, toComparable(value as FilterScalar));
    case 'contains':
    case 'icontains':
      return Array.isArray(value) ? FALSE : target.contains(value as FilterScalar, op === 'icontains');
  }
  return assertNever(op);
}

/** `eq` / `in`: an array given to `eq`, or a null inside a list, equals nothing (the parser allows neither). */
function equalsAny(target: Target, values: readonly unknown[]): string {
  const scalars = values.filter((v): v is FilterScalar => v !== null && !Array.isArray(v)).map(toComparable);
  return scalars.length === 0 ? FALSE : target.equalsAny(scalars);
}

function not(sql: string): string {
  return sql === TRUE ? FALSE : sql === FALSE ? TRUE : `(NOT ${sql})`;
}

/** As the evaluator's `toComparable`: a Date compares as its epoch milliseconds. */
function toComparable(value: FilterScalar): Comparable {
  return value instanceof Date ? value.getTime() : value;
}

// ---------------------------------------------------------------------------------------------- columns

function columnTarget(field: ColumnField, ctx: Context): Target {
  if (!Object.hasOwn(COLUMN_STORAGE, field.name) || FILTER_FIELDS[field.name] !== field.type) {
    throw invalid(`unknown filter field ${JSON.stringify(field.name)} of type ${JSON.stringify(field.type)}`);
  }
  // The column name comes from the fixed table above, never from the filter.
  const column = `${ctx.alias}.${field.name}`;
  switch (COLUMN_STORAGE[field.name]) {
    case 'text':
      return textColumn(column, ctx.params);
    case 'uuid':
      return uuidColumn(column, ctx.params);
    case 'integer':
      return integerColumn(column, ctx.params);
    case 'real':
      return realColumn(column, ctx.params);
    case 'timestamptz':
      return dateColumn(column, ctx.params);
    case 'text[]':
      return arrayColumn(column, ctx.params);
  }
}

/** Presence for a column where only SQL NULL is missing. */
function nullable(column: string): Pick<Target, 'present' | 'missing'> {
  return { present: () => `(${column} IS NOT NULL)`, missing: () => `(${column} IS NULL)` };
}

function textColumn(column: string, params: SqlParams): Target {
  return {
    ...nullable(column),
    equalsAny(values) {
      const strings = storableStrings(values);
      if (strings.length === 0) return FALSE;
      return strings.length === 1
        ? `(${column} IS NOT NULL AND ${column} = ${params.add(strings[0])}::text)`
        : `(${column} IS NOT NULL AND ${column} = ANY(${params.add(strings)}::text[]))`;
    },
    order(op, value) {
      if (typeof value !== 'string') return FALSE;
      const bound = orderBound(op, value);
      return `(${column} IS NOT NULL AND ${column} COLLATE "C" ${SQL_ORDER[bound.op]} ${params.add(bound.value)}::text)`;
    },
    contains(needle, ignoreCase) {
      if (typeof needle !== 'string') return FALSE;
      const search = ignoreCase ? needle.toLowerCase() : needle;
      if (search.includes('\0')) return FALSE;
      const haystack = ignoreCase ? `lower(${column} COLLATE "${LOWER_COLLATION}")` : column;
      return `(${column} IS NOT NULL AND strpos(${haystack}, ${params.add(search)}::text) > 0)`;
    },
  };
}

/** As the driver reads a uuid back: lower-case, canonical. Only such a string can equal a stored id. */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function uuidColumn(column: string, params: SqlParams): Target {
  // Ordering and substring tests read the id as the memory shows it: its canonical text, whose code-point order is
  // the uuid's byte order. It is lower-case already, so `icontains` needs no lower() on the column side.
  const asText = textColumn(`${column}::text`, params);
  return {
    ...nullable(column),
    equalsAny(values) {
      const ids = values.filter((v): v is string => typeof v === 'string' && CANONICAL_UUID.test(v));
      if (ids.length === 0) return FALSE;
      return ids.length === 1
        ? `(${column} IS NOT NULL AND ${column} = ${params.add(ids[0])}::uuid)`
        : `(${column} IS NOT NULL AND ${column} = ANY(${params.add(ids)}::uuid[]))`;
    },
    order: (op, value) => asText.order(op, value),
    contains(needle, ignoreCase) {
      if (typeof needle !== 'string') return FALSE;
      return asText.contains(ignoreCase ? needle.toLowerCase() : needle, false);
    },
  };
}

/**
 * smallint / integer columns, compared with bigint parameters (the btree integer operator family spans int2, int4
 * and int8, so the index still serves). A fractional bound becomes the equivalent integer one (`> 6.5` ≡ `> 6`,
 * `>= 6.5` ≡ `>= 7`), a fractional `eq` matches nothing, and bounds beyond ±2^53 are clamped (no int4 reaches them).
 */
function integerColumn(column: string, params: SqlParams): Target {
  return {
    ...nullable(column),
    equalsAny(values) {
      const ints = values.filter((v): v is number => typeof v === 'number' && Number.isSafeInteger(v)).map(noNegZero);
      if (ints.length === 0) return FALSE;
      return ints.length === 1
        ? `(${column} IS NOT NULL AND ${column} = ${params.add(ints[0])}::bigint)`
        : `(${column} IS NOT NULL AND ${column} = ANY(${params.add(ints)}::bigint[]))`;
    },
    order(op, value) {
      if (typeof value !== 'number') return FALSE;
      const bound = op === 'gt' || op === 'lte' ? Math.floor(value) : Math.ceil(value);
      return `(${column} IS NOT NULL AND ${column} ${SQL_ORDER[op]} ${params.add(clampInteger(bound))}::bigint)`;
    },
    contains: () => FALSE,
  };
}

/**
 * `confidence` (real). The memory holds the float4 as the driver parses its text form (`0.8`, not the float4's
 * exact 0.800000011920929…), so the column is compared the same way: `(col::text)::float8`, the shortest decimal
 * that reads back as that float4, read as a double, just as `parseFloat` does. Comparing the float4 itself (or
 * casting the filter value to real) would disagree with the evaluator on values such as 0.8 or 0.80000001.
 * NaN counts as missing, as the evaluator's `normalise` has it (the schema's CHECK refuses NaN anyway).
 */
function realColumn(column: string, params: SqlParams): Target {
  const present = `${column} IS NOT NULL AND ${column} <> 'NaN'`;
  const value = `(${column}::text)::float8`;
  return {
    present: () => `(${present})`,
    missing: () => `(${column} IS NULL OR ${column} = 'NaN')`,
    equalsAny(values) {
      const numbers = values.filter((v): v is number => typeof v === 'number').map(noNegZero);
      if (numbers.length === 0) return FALSE;
      return numbers.length === 1
        ? `(${present} AND ${value} = ${params.add(numbers[0])}::float8)`
        : `(${present} AND ${value} = ANY(${params.add(numbers)}::float8[]))`;
    },
    order(op, bound) {
      if (typeof bound !== 'number') return FALSE;
      return `(${present} AND ${value} ${SQL_ORDER[op]} ${params.add(noNegZero(bound))}::float8)`;
    },
    contains: () => FALSE,
  };
}

/**
 * timestamptz columns. The memory holds a JavaScript Date, which the drivers build by truncating the stored
 * microseconds to the millisecond; the evaluator compares those milliseconds. So `eq t` is the half-open range
 * [t, t + 1 ms), `gt t` is `>= t + 1 ms`, `lte t` is `< t + 1 ms`: exact, and btree-friendly.
 *
 * A stored value the drivers cannot turn into a valid Date is missing to the evaluator: ±infinity, and instants
 * after JavaScript's last one (+275760-09-13). `present` therefore bounds the column on both sides.
 */
function dateColumn(column: string, params: SqlParams): Target {
  const above = `${column} > '-infinity'::timestamptz`;
  const below = `${column} < '${AFTER_LAST_JS_INSTANT}'::timestamptz`;
  const present = `(${column} IS NOT NULL AND ${above} AND ${below})`;
  /** `ms(col) >= bound` (bound in epoch ms, an integer). */
  const atLeast = (bound: number): string => {
    if (bound <= PG_MIN_MS) return present;
    if (bound > JS_MAX_MS) return FALSE;
    return `(${column} IS NOT NULL AND ${column} >= ${params.add(timestampText(bound))}::timestamptz AND ${below})`;
  };
  /** `ms(col) < bound`. */
  const before = (bound: number): string => {
    if (bound <= PG_MIN_MS) return FALSE;
    if (bound > JS_MAX_MS) return present;
    return `(${column} IS NOT NULL AND ${above} AND ${column} < ${params.add(timestampText(bound))}::timestamptz)`;
  };
  return {
    present: () => present,
    missing: () =>
      `(${column} IS NULL OR ${column} = '-infinity'::timestamptz OR ${column} >= '${AFTER_LAST_JS_INSTANT}'::timestamptz)`,
    equalsAny(values) {
      // Only whole milliseconds a stored value can have (PG_MIN_MS .. JS_MAX_MS) can be equal to one.
      const instants = values.filter(
        (v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= PG_MIN_MS && v <= JS_MAX_MS,
      );
      if (instants.length === 0) return FALSE;
      if (instants.length === 1) {
        const at = instants[0]!;
        const from = params.add(timestampText(at));
        const to = at === JS_MAX_MS ? `'${AFTER_LAST_JS_INSTANT}'` : params.add(timestampText(at + 1));
        return `(${column} IS NOT NULL AND ${column} >= ${from}::timestamptz AND ${column} < ${to}::timestamptz)`;
      }
      const list = params.add(instants.map(timestampText));
      return `(${column} IS NOT NULL AND date_trunc('milliseconds', ${column}, 'UTC') = ANY(${list}::timestamptz[]))`;
    },
    order(op, value) {
      if (typeof value !== 'number') return FALSE;
      switch (op) {
        case 'gt':
          return atLeast(Math.floor(value) + 1);
        case 'gte':
          return atLeast(Math.ceil(value));
        case 'lt':
          return before(Math.ceil(value));
        case 'lte':
          return before(Math.floor(value) + 1);
      }
    },
    contains: () => FALSE,
  };
}

/** The first instant a JavaScript Date cannot hold (8.64e15 ms + 1 ms), as a timestamptz literal. */
const AFTER_LAST_JS_INSTANT = '275760-09-13 00:00:00.001+00';
const JS_MAX_MS = 8.64e15;
/** Postgres's earliest timestamptz, 4714-11-24 00:00:00 BC (UTC). */
const PG_MIN_MS = -210_866_803_200_000;

/** An instant as timestamptz input Postgres reads in any session: explicit UTC offset, BC years spelt out. */
function timestampText(ms: number): string {
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  const day = `${pad(year > 0 ? year : 1 - year, 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  return `${day} ${time}.${pad(date.getUTCMilliseconds(), 3)}+00${year > 0 ? '' : ' BC'}`;
}

/**
 * categories (text[]): `eq x` / `contains x` — it has the element; `in L` — it shares one with L; `icontains x`
 * — some element lower-cases to x lower-cased.
 */
function arrayColumn(column: string, params: SqlParams): Target {
  const hasElement = (element: string): string =>
    `(${column} IS NOT NULL AND ${column} @> ARRAY[${params.add(element)}::text])`;
  return {
    ...nullable(column),
    equalsAny(values) {
      const strings = storableStrings(values);
      if (strings.length === 0) return FALSE;
      return strings.length === 1
        ? hasElement(strings[0]!)
        : `(${column} IS NOT NULL AND ${column} && ${params.add(strings)}::text[])`;
    },
    order: () => FALSE,
    contains(needle, ignoreCase) {
      if (!ignoreCase) {
        return typeof needle === 'string' && !needle.includes('\0') ? hasElement(needle) : FALSE;
      }
      const lower = String(needle).toLowerCase();
      if (lower.includes('\0')) return FALSE;
      return (
        `EXISTS (SELECT 1 FROM unnest(${column}) AS ${ELEMENT}(value) ` +
        `WHERE lower(${ELEMENT}.value COLLATE "${LOWER_COLLATION}") = ${params.add(lower)}::text)`
      );
    },
  };
}

// ---------------------------------------------------------------------------------------------- metadata

/**
 * `metadata.a.b`: `m.metadata -> $1::text -> $2::text`. `->` with a text key walks into objects only (on an array,
 * a string or JSON null it yields SQL NULL), which is the evaluator's walk; `#>` would index arrays with "0".
 * The value is missing when that is SQL NULL or JSON null. Comparisons go by `jsonb_typeof`, never by a cast that
 * could fail on another type.
 */
function metadataTarget(field: MetadataField, ctx: Context): Target {
  const { params, alias } = ctx;
  const metadata = `${alias}.metadata`;
  const path = field.path;
  if (path.length === 0) throw invalid('a metadata field needs a key');
  // Bound on first use only: Postgres refuses a statement with a parameter it cannot type, i.e. one never used.
  let walk: string | undefined;
  const value = (): string => (walk ??= `(${metadata}${path.map((key) => ` -> ${params.add(key)}::text`).join('')})`);
  const type = (): string => `jsonb_typeof(${value()})`;
  const text = (): string => `(${value()} #>> '{}')`;
  /** `m.metadata @> {"a": {"b": <leaf>}}`: the leaf (JSON text) sits at the path, the walk going through objects. */
  const containsDocument = (leaves: readonly string[]): string => {
    const documents = leaves.map((leaf) => path.reduceRight((inner, key) => `{${JSON.stringify(key)}:${inner}}`, leaf));
    if (documents.length > MAX_OR_TERMS) {
      // One parameter for a long list; `@> ANY(...)` is exact too, but no GIN index serves it.
      return `(${metadata} IS NOT NULL AND ${metadata} @> ANY(${params.add(documents)}::jsonb[]))`;
    }
    // A short list as an OR of containments, which a GIN index serves (BitmapOr).
    const terms = documents.map((document) => `${metadata} @> ${params.add(document)}::jsonb`);
    return `(${metadata} IS NOT NULL AND ${terms.length === 1 ? terms[0] : `(${terms.join(' OR ')})`})`;
  };
  return {
    present: () => `COALESCE(${type()} <> 'null', false)`,
    missing: () => `COALESCE(${type()}, 'null') = 'null'`,
    equalsAny(values) {
      const leaves = values.filter(isJsonScalar).filter(storable).map(jsonScalar);
      return leaves.length === 0 ? FALSE : containsDocument(leaves);
    },
    order(op, bound) {
      if (typeof bound === 'number') {
        return `COALESCE(${type()} = 'number' AND ${value()} ${SQL_ORDER[op]} ${params.add(jsonScalar(bound))}::jsonb, false)`;
      }
      if (typeof bound === 'string') {
        const sql = orderBound(op, bound);
        return `COALESCE(${type()} = 'string' AND ${text()} COLLATE "C" ${SQL_ORDER[sql.op]} ${params.add(sql.value)}::text, false)`;
      }
      return FALSE;
    },
    contains(needle, ignoreCase) {
      if (!ignoreCase) {
        // An array holding the scalar (same JSON type), or a string holding the string.
        if (!isJsonScalar(needle) || !storable(needle)) return FALSE;
        const inArray = containsDocument([`[${jsonScalar(needle)}]`]);
        if (typeof needle !== 'string') return inArray;
        return `(${inArray} OR COALESCE(${type()} = 'string' AND strpos(${text()}, ${params.add(needle)}::text) > 0, false))`;
      }
      // As the evaluator: an array's string elements against String(needle), a string only against a string.
      const lower = String(needle).toLowerCase();
      if (lower.includes('\0')) return FALSE;
      const kind = type();
      const placeholder = params.add(lower);
      const inArray =
        `EXISTS (SELECT 1 FROM jsonb_array_elements(${value()}) AS ${ELEMENT}(value) ` +
        `WHERE jsonb_typeof(${ELEMENT}.value) = 'string' ` +
        `AND lower((${ELEMENT}.value #>> '{}') COLLATE "${LOWER_COLLATION}") = ${placeholder}::text)`;
      const inString =
        typeof needle === 'string'
          ? `strpos(lower(${text()} COLLATE "${LOWER_COLLATION}"), ${placeholder}::text) > 0`
          : 'false';
      // CASE, not AND: jsonb_array_elements must never see a non-array.
      return `COALESCE(CASE ${kind} WHEN 'array' THEN ${inArray} WHEN 'string' THEN ${inString} ELSE false END, false)`;
    },
  };
}

/** Up to this many metadata `in` values compile to an OR of `@>` (index-friendly); more to one `@> ANY`. */
const MAX_OR_TERMS = 32;

function isJsonScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function jsonScalar(value: string | number | boolean): string {
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------- values

/**
 * Postgres text cannot hold U+0000, so a string containing it equals no stored string (and cannot be sent: the
 * server refuses it). Such values are dropped from `eq` / `in` and make `contains` false.
 */
function storable(value: string | number | boolean): boolean {
  return typeof value !== 'string' || !value.includes('\0');
}

function storableStrings(values: readonly Comparable[]): string[] {
  return values.filter((v): v is string => typeof v === 'string' && !v.includes('\0'));
}

/**
 * An ordering bound for a string. A bound holding U+0000 cannot be sent; as no stored string holds it, comparing
 * against its prefix p before the first U+0000 is equivalent: t > s ⇔ t > p, t >= s ⇔ t > p, t < s ⇔ t <= p,
 * t <= s ⇔ t <= p.
 */
function orderBound(op: OrderOperator, value: string): { op: OrderOperator; value: string } {
  const nul = value.indexOf('\0');
  if (nul < 0) return { op, value };
  const prefix = value.slice(0, nul);
  return op === 'gt' || op === 'gte' ? { op: 'gt', value: prefix } : { op: 'lte', value: prefix };
}

/**
 * Refuses what the parser never produces and SQL could not reproduce:
 * - strings with unpaired UTF-16 surrogates: Postgres cannot hold them and the drivers silently replace them with
 *   U+FFFD, while the evaluator compares UTF-16 code units (so, for it, `contains "\uD83D"` is true of "😀");
 * - numbers that are not finite.
 */
function checkValue(value: FilterValue): void {
  const values: readonly unknown[] = Array.isArray(value) ? value : [value];
  for (const v of values) {
    if (typeof v === 'string' && UNPAIRED_SURROGATE.test(v)) {
      throw invalid('a string value may not contain unpaired UTF-16 surrogates');
    }
    if (typeof v === 'number' && !Number.isFinite(v)) {
      throw invalid(`a number value must be finite, got ${String(v)}`);
    }
    if (v instanceof Date && Number.isNaN(v.getTime())) {
      throw invalid('a date value must be a valid Date');
    }
  }
}

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function noNegZero(n: number): number {
  return n === 0 ? 0 : n;
}

const MAX_BOUND = 2 ** 53;

function clampInteger(n: number): number {
  return noNegZero(Math.max(-MAX_BOUND, Math.min(MAX_BOUND, n)));
}

function invalid(message: string): MemoryException {
  return new MemoryException(MemoryExceptionCode.INVALID_FILTER, `filters: ${message}`, { path: 'filters' });
}

function assertNever(op: never): never {
  throw invalid(`unknown operator ${JSON.stringify(op)}`);
}
