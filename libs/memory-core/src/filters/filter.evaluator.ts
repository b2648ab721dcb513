/**
 * Evaluates a parsed filter against a Memory. The rules below are THE semantics of the filter language: the local
 * provider runs this code, and the Postgres compiler must produce SQL that gives the same answer on every memory.
 *
 * Logic
 * - Every condition is two-valued: true or false, never "unknown". `and` / `or` / `not` are plain boolean logic,
 *   so `not` of a false condition is true even when the field is missing. (SQL: wrap each condition so that it
 *   never yields NULL, e.g. `COALESCE(<cond>, false)`, before `NOT`, `AND`, `OR`.)
 *
 * Missing values
 * - A value is missing when the field is null/undefined, or the metadata path does not lead to a value, or leads
 *   to JSON null. Missing and null are the same thing.
 * - On a missing value: `eq null`, `ne <x>` (x not null), `nin [...]` and `exists: false` are TRUE; every other
 *   condition (`eq x`, `ne null`, `in`, `gt/gte/lt/lte`, `contains`, `icontains`, `exists: true`) is FALSE.
 * - In general `ne x` ≡ `not (eq x)`, `nin L` ≡ `not (in L)`, `eq null` ≡ `exists: false` ≡ `not (ne null)`.
 *
 * Columns (snake_case field → Memory property: MEMORY_FIELD_PROPERTY)
 * - string: `eq`/`in` compare exactly (case-sensitive). `gt/gte/lt/lte` compare by Unicode code point (SQL:
 *   `COLLATE "C"`). `contains` is a case-sensitive substring test (SQL: `strpos(col, $1) > 0`, not LIKE, so `%`
 *   and `_` are literal); `icontains` the same on `toLowerCase()` of both sides (SQL: `lower()`).
 * - number: numeric comparison.
 * - date: compared by instant (epoch milliseconds); filter values are Dates.
 * - string[] (categories): `eq x` / `contains x`: the array has the element x; `ne x`: it has not; `icontains x`:
 *   some element equals x case-insensitively (both lower-cased); `in L`: the array has at least one element of L
 *   (SQL: `&&`); `nin L`: it has none. An empty array is a value (not missing): `exists: true` holds for it.
 *
 * Metadata (`metadata.a.b` → `memory.metadata.a.b`)
 * - The path walks into JSON objects only: a key applied to an array, a string or any non-object gives "missing"
 *   (no array indexing, even for keys such as `0`). (SQL: strict jsonpath, or `#>` with a typeof check per level.)
 * - Values compare by JSON type, with no coercion: number with number, string with string, boolean with boolean.
 *   A number never equals, nor orders against, a string (`1` vs `"1"`: `eq` false, `ne` true, `gt` false).
 * - `eq x` / `in L`: the value is a scalar of the same JSON type and equal to x (to one element of L). An array or
 *   object value never equals a scalar (use `contains` for arrays).
 * - `gt/gte/lt/lte`: both numbers (numeric order) or both strings (code point order; ISO-8601 date strings in
 *   the same format thus order by time). Anything else, including booleans, is false.
 * - `contains x`: on an array value, some element is a scalar of x's JSON type equal to x; on a string value with
 *   a string x, a case-sensitive substring test; otherwise false.
 * - `icontains x` (x a string): on an array value, some string element equals x case-insensitively; on a string
 *   value, a case-insensitive substring test; otherwise false.
 * - `exists: true`: the path leads to a value that is not JSON null (an empty object, array or string counts).
 */
import type { Memory } from '../memory.js';
import {
  MEMORY_FIELD_PROPERTY,
  type Filter,
  type FilterField,
  type FilterOperator,
  type FilterScalar,
  type FilterValue,
} from './filter.js';

type Condition = Extract<Filter, { kind: 'condition' }>;

export function matchesFilter(memory: Memory, filter: Filter): boolean {
  switch (filter.kind) {
    case 'and':
      return filter.filters.every((f) => matchesFilter(memory, f));
    case 'or':
      return filter.filters.some((f) => matchesFilter(memory, f));
    case 'not':
      return !matchesFilter(memory, filter.filter);
    case 'condition':
      return matchesCondition(memory, filter);
  }
}

/** The raw value a filter field names on a memory; `undefined` when the path leads nowhere. */
export function resolveFilterField(memory: Memory, field: FilterField): unknown {
  if (field.kind === 'column') {
    return memory[MEMORY_FIELD_PROPERTY[field.name]];
  }
  let current: unknown = memory.metadata;
  for (const key of field.path) {
    if (!isJsonObject(current) || !Object.hasOwn(current, key)) {
      return undefined;
    }
    current = current[key];
  }
  return current;
}

function matchesCondition(memory: Memory, condition: Condition): boolean {
  const actual = normalise(resolveFilterField(memory, condition.field), condition.field);
  const { op, value } = condition;
  if (actual === undefined) {
    return missingMatches(op, value);
  }
  switch (op) {
    case 'exists':
      return value === true;
    case 'eq':
      return value !== null && equals(actual, value as FilterScalar, condition.field);
    case 'ne':
      return value === null || !equals(actual, value as FilterScalar, condition.field);
    case 'in':
      return anyEquals(actual, value, condition.field);
    case 'nin':
      return !anyEquals(actual, value, condition.field);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const order = compare(actual, value as FilterScalar);
      return order !== undefined && ORDER_TESTS[op](order);
    }
    case 'contains':
      return contains(actual, value as FilterScalar, false);
    case 'icontains':
      return contains(actual, value as FilterScalar, true);
  }
}

/** What a condition says about a missing value (see the rules at the top). */
function missingMatches(op: FilterOperator, value: FilterValue): boolean {
  switch (op) {
    case 'eq':
      return value === null;
    case 'ne':
      return value !== null;
    case 'nin':
      return true;
    case 'exists':
      return value === false;
    case 'in':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'contains':
    case 'icontains':
      return false;
  }
}

/**
 * The memory's value in a form the comparisons understand, or `undefined` when missing. Dates become epoch
 * milliseconds (as do the filter's Date values in `toComparable`); a column value of the wrong type counts as missing.
 */
function normalise(raw: unknown, field: FilterField): unknown {
  if (raw === null || raw === undefined) {
    return undefined;
  }
  switch (field.type) {
    case 'string':
      return typeof raw === 'string' ? raw : undefined;
    case 'number':
      return typeof raw === 'number' && !Number.isNaN(raw) ? raw : undefined;
    case 'date': {
      const time = raw instanceof Date ? raw.getTime() : NaN;
      return Number.isNaN(time) ? undefined : time;
    }
    case 'string[]':
      return Array.isArray(raw) ? raw : undefined;
    case 'json':
      return raw;
  }
}

function toComparable(value: FilterScalar): string | number | boolean | null {
  return value instanceof Date ? value.getTime() : value;
}

/** `eq`: on a `string[]` column, membership; on anything else, same JSON type and same value. */
function equals(actual: unknown, expected: FilterScalar, field: FilterField): boolean {
  if (field.type === 'string[]') {
    return (actual as readonly unknown[]).includes(expected);
  }
  return sameScalar(actual, toComparable(expected));
}

function anyEquals(actual: unknown, list: FilterValue, field: FilterField): boolean {
  const values = Array.isArray(list) ? (list as readonly FilterScalar[]) : [list as FilterScalar];
  return values.some((v) => equals(actual, v, field));
}

function sameScalar(a: unknown, b: unknown): boolean {
  return (typeof a === 'string' || typeof a === 'number' || typeof a === 'boolean') && a === b;
}

const ORDER_TESTS: Record<'gt' | 'gte' | 'lt' | 'lte', (order: number) => boolean> = {
  gt: (o) => o > 0,
  gte: (o) => o >= 0,
  lt: (o) => o < 0,
  lte: (o) => o <= 0,
};

/** Sign of actual − expected when both are numbers or both strings; `undefined` when they do not compare. */
function compare(actual: unknown, expected: FilterScalar): number | undefined {
  const other = toComparable(expected);
  if (typeof actual === 'number' && typeof other === 'number') {
    return actual === other ? 0 : actual < other ? -1 : 1;
  }
  if (typeof actual === 'string' && typeof other === 'string') {
    return compareCodePoints(actual, other);
  }
  return undefined;
}

function contains(actual: unknown, needle: FilterScalar, ignoreCase: boolean): boolean {
  if (Array.isArray(actual)) {
    if (!ignoreCase) {
      return actual.some((element) => sameScalar(element, needle));
    }
    const lower = String(needle).toLowerCase();
    return actual.some((element) => typeof element === 'string' && element.toLowerCase() === lower);
  }
  if (typeof actual === 'string' && typeof needle === 'string') {
    return ignoreCase ? actual.toLowerCase().includes(needle.toLowerCase()) : actual.includes(needle);
  }
  return false;
}

/**
 * Orders strings by Unicode code point, as Postgres does under `COLLATE "C"` (UTF-8 byte order). JavaScript's `<`
 * compares UTF-16 code units, which differs for characters above U+FFFF against U+E000..U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      return codePointRank(x) - codePointRank(y);
    }
  }
  return a.length - b.length;
}

/** Surrogates (U+D800..U+DFFF, i.e. code points above U+FFFF) rank after U+E000..U+FFFF. */
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
