import { MemoryException, MemoryExceptionCode } from '../memory.exception.js';
import {
  FILTER_FIELDS,
  FILTER_LIMITS,
  FILTER_OPERATORS,
  METADATA_KEY_PATTERN,
  operatorsForField,
  type Filter,
  type FilterField,
  type FilterOperator,
  type FilterScalar,
  type FilterValue,
  type MemoryFilterField,
} from './filter.js';

/**
 * Validates the API's filter JSON and builds the typed tree. The grammar:
 *
 * - `{"and": [F, ...]}`, `{"or": [F, ...]}` (non-empty arrays), `{"not": F}` (one object);
 * - `{"<field>": {"<op>": value, ...}}`: several operators on one field are ANDed;
 * - `{"<field>": value}`: shorthand for `eq` (a scalar, or `null`);
 * - an object with several keys is the AND of its entries, in key order (`{"a": ..., "b": ..., "or": [...]}`).
 *
 * `<field>` is a key of FILTER_FIELDS or `metadata.<key>[.<key>...]` (keys: `[A-Za-z0-9_-]+`).
 *
 * Values, by the kind of the field:
 * - `string`: strings; `gt/gte/lt/lte` compare code points, and are refused on `content`.
 * - `number`: finite numbers.
 * - `date`: ISO-8601 strings (`2024-05-01`, `2024-05-01T10:00:00Z`, `...+02:00`; no offset means UTC;
 *   fractions below the millisecond are dropped) or epoch milliseconds (integers); they become `Date`s.
 * - `string[]` (`categories`): `eq`/`ne`/`contains`/`icontains` take one string (one element), `in`/`nin` a list
 *   of strings (the array has any / none of them); no ordering.
 * - `json` (metadata): any scalar (string, number, boolean) for `eq`/`ne`/`in`/`nin`; numbers or strings for
 *   the ordering operators; a scalar for `contains` (array element, or substring when a string); a string
 *   for `icontains`. Arrays and objects are never values.
 *
 * `null` is accepted only by `eq` / `ne` (is null / is not null). `in` / `nin` take a non-empty array of at most
 * FILTER_LIMITS.maxInValues non-null scalars. `exists` takes a boolean.
 *
 * Every mistake throws MemoryException(INVALID_FILTER) whose message starts with the path of the offending part
 * (`filters.and[1].importance.gt: ...`) and whose details are `{ path }`.
 */
export function parseFilter(input: unknown): Filter {
  return parseNode(input, ROOT_PATH, 0, { conditions: 0 });
}

const ROOT_PATH = 'filters';
const LOGICAL_KEYS = ['and', 'or', 'not'] as const;
const ALLOWED_FIELDS = `${Object.keys(FILTER_FIELDS).join(', ')}, metadata.<key>`;
const ALLOWED_OPERATORS = FILTER_OPERATORS.join(', ');

interface ParseContext {
  conditions: number;
}

function parseNode(input: unknown, path: string, depth: number, ctx: ParseContext): Filter {
  if (!isPlainObject(input)) {
    fail(path, `a filter must be an object, got ${describe(input)}`);
  }
  const keys = Object.keys(input);
  if (keys.length === 0) {
    fail(path, 'empty filter object; give a field condition such as {"importance": {"gte": 5}}, or and / or / not');
  }
  const parts = keys.map((key) => parseEntry(key, input[key], joinKey(path, key), depth, ctx));
  return parts.length === 1 ? parts[0]! : { kind: 'and', filters: parts };
}

function parseEntry(key: string, value: unknown, path: string, depth: number, ctx: ParseContext): Filter {
  if (key === 'and' || key === 'or') {
    checkDepth(path, depth);
    if (!Array.isArray(value)) {
      fail(path, `"${key}" takes a non-empty array of filters, got ${describe(value)}`);
    }
    if (value.length === 0) {
      fail(path, `"${key}" needs at least one filter, got an empty array`);
    }
    if (value.length > FILTER_LIMITS.maxConditions) {
      failTooManyConditions(path);
    }
    const filters = value.map((item, i) => parseNode(item, `${path}[${i}]`, depth + 1, ctx));
    return { kind: key, filters };
  }
  if (key === 'not') {
    checkDepth(path, depth);
    if (Array.isArray(value)) {
      fail(path, '"not" takes one filter object, not an array; to negate several, use {"not": {"and": [...]}}');
    }
    return { kind: 'not', filter: parseNode(value, path, depth + 1, ctx) };
  }
  const field = parseField(key, path);
  return parseCondition(field, value, path, ctx);
}

function checkDepth(path: string, depth: number): void {
  if (depth >= FILTER_LIMITS.maxDepth) {
    fail(path, `filter is too deep: and / or / not may nest at most ${FILTER_LIMITS.maxDepth} levels`);
  }
}

function failTooManyConditions(path: string): never {
  fail(path, `too many conditions: a filter may have at most ${FILTER_LIMITS.maxConditions}`);
}

function parseField(key: string, path: string): FilterField {
  if (Object.hasOwn(FILTER_FIELDS, key)) {
    const name = key as MemoryFilterField;
    return { kind: 'column', name, type: FILTER_FIELDS[name] };
  }
  if (key === 'metadata') {
    fail(path, 'name a metadata key: "metadata.<key>" (nested: "metadata.<key>.<key>")');
  }
  if (key.startsWith('metadata.')) {
    return { kind: 'metadata', path: parseMetadataPath(key.slice('metadata.'.length), path), type: 'json' };
  }
  if ((FILTER_OPERATORS as readonly string[]).includes(key)) {
    fail(path, `operator "${key}" must be inside a field: {"<field>": {"${key}": value}}`);
  }
  const hint = suggestField(key);
  fail(path, `unknown field ${quote(key)}${hint ? ` (did you mean "${hint}"?)` : ''}; allowed: ${ALLOWED_FIELDS}`);
}

function parseMetadataPath(rest: string, path: string): string[] {
  const keys = rest.split('.');
  if (keys.length > FILTER_LIMITS.maxMetadataPathKeys) {
    fail(path, `metadata path is too long: at most ${FILTER_LIMITS.maxMetadataPathKeys} keys`);
  }
  keys.forEach((key, i) => {
    if (key === '') {
      fail(path, `metadata key ${i + 1} is empty; write "metadata.<key>[.<key>...]"`);
    }
    if (key.length > FILTER_LIMITS.maxMetadataKeyLength) {
      fail(path, `metadata key ${quote(key)} is longer than ${FILTER_LIMITS.maxMetadataKeyLength} characters`);
    }
    if (!METADATA_KEY_PATTERN.test(key)) {
      fail(path, `metadata key ${quote(key)} may contain only letters, digits, "_" and "-"`);
    }
  });
  return keys;
}

function parseCondition(field: FilterField, value: unknown, path: string, ctx: ParseContext): Filter {
  if (isPlainObject(value)) {
    const ops = Object.keys(value);
    if (ops.length === 0) {
      fail(path, `no operator; give {"<op>": value} with <op> one of ${ALLOWED_OPERATORS}`);
    }
    const conditions = ops.map((op) => parseOperator(field, op, value[op], joinKey(path, op), ctx));
    return conditions.length === 1 ? conditions[0]! : { kind: 'and', filters: conditions };
  }
  if (Array.isArray(value)) {
    fail(
      path,
      `a bare array is not a value; use {"in": [...]} to match any of several values` +
        (field.type === 'string[]' ? ' or {"contains": "<element>"} for one element' : ''),
    );
  }
  return parseOperator(field, 'eq', value, path, ctx);
}

function parseOperator(field: FilterField, op: string, raw: unknown, path: string, ctx: ParseContext): Filter {
  if (!(FILTER_OPERATORS as readonly string[]).includes(op)) {
    const hint = suggestOperator(op);
    fail(
      path,
      `unknown operator ${quote(op)}${hint ? ` (did you mean "${hint}"?)` : ''}; allowed: ${ALLOWED_OPERATORS}`,
    );
  }
  const operator = op as FilterOperator;
  const allowed = operatorsForField(field);
  if (!allowed.includes(operator)) {
    fail(path, `operator "${operator}" does not apply to ${describeField(field)}; allowed: ${allowed.join(', ')}`);
  }
  ctx.conditions += 1;
  if (ctx.conditions > FILTER_LIMITS.maxConditions) {
    failTooManyConditions(path);
  }
  return { kind: 'condition', field, op: operator, value: parseValue(field, operator, raw, path) };
}

function parseValue(field: FilterField, op: FilterOperator, raw: unknown, path: string): FilterValue {
  if (raw === undefined) {
    fail(path, `missing value for "${op}"`);
  }
  switch (op) {
    case 'exists':
      if (typeof raw !== 'boolean') {
        fail(path, `"exists" takes true or false, got ${describe(raw)}`);
      }
      return raw;
    case 'eq':
    case 'ne':
      if (raw === null) {
        return null;
      }
      if (field.type === 'string[]' && Array.isArray(raw)) {
        fail(
          path,
          `"${op}" on ${describeField(field)} takes one element (true when the array has it); ` +
            'use "in" / "nin" for several',
        );
      }
      return parseScalar(field, raw, path);
    case 'in':
    case 'nin':
      return parseList(field, op, raw, path);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      if (field.type === 'json') {
        if (typeof raw === 'number' || typeof raw === 'string') {
          return parseScalar(field, raw, path);
        }
        fail(path, `"${op}" on ${describeField(field)} takes a number or a string, got ${describe(raw)}`);
      }
      return parseScalar(field, raw, path);
    case 'contains':
      if (field.type === 'json') {
        if (raw === null) {
          fail(path, `"contains" takes a string, a number or a boolean, got null`);
        }
        return parseScalar(field, raw, path);
      }
      return parseString(raw, path, `"contains" on ${describeField(field)} takes a string`);
    case 'icontains':
      return parseString(raw, path, `"icontains" on ${describeField(field)} takes a string`);
  }
}

function parseList(field: FilterField, op: 'in' | 'nin', raw: unknown, path: string): readonly FilterScalar[] {
  if (!Array.isArray(raw)) {
    fail(path, `"${op}" takes a non-empty array of values, got ${describe(raw)}`);
  }
  if (raw.length === 0) {
    fail(path, `"${op}" needs at least one value, got an empty array`);
  }
  if (raw.length > FILTER_LIMITS.maxInValues) {
    fail(path, `"${op}" takes at most ${FILTER_LIMITS.maxInValues} values, got ${raw.length}`);
  }
  return raw.map((item: unknown, i) => {
    const here = `${path}[${i}]`;
    if (item === null) {
      fail(here, `"${op}" values may not be null; use {"eq": null} / {"ne": null} to test for null`);
    }
    if (item === undefined) {
      fail(here, 'missing value');
    }
    return parseScalar(field, item, here);
  });
}

/** One non-null value of the field's type (for `string[]`, of its elements). */
function parseScalar(field: FilterField, raw: unknown, path: string): FilterScalar {
  const of = describeField(field);
  switch (field.type) {
    case 'string':
    case 'string[]':
      return parseString(raw, path, `${of} takes a string`);
    case 'number':
      if (typeof raw !== 'number' || !Number.isFinite(raw)) {
        fail(path, `${of} takes a number, got ${describe(raw)}`);
      }
      return raw;
    case 'date':
      return parseDate(raw, path, of);
    case 'json':
      if (typeof raw === 'string') {
        return parseString(raw, path, `${of} takes a scalar`);
      }
      if ((typeof raw === 'number' && Number.isFinite(raw)) || typeof raw === 'boolean') {
        return raw;
      }
      fail(path, `${of} takes a string, a number or a boolean, got ${describe(raw)}`);
  }
}

function parseString(raw: unknown, path: string, expected: string): string {
  if (typeof raw !== 'string') {
    fail(path, `${expected}, got ${describe(raw)}`);
  }
  if (raw.length > FILTER_LIMITS.maxStringLength) {
    fail(path, `string is longer than ${FILTER_LIMITS.maxStringLength} characters`);
  }
  return raw;
}

const MAX_EPOCH_MS = 8.64e15;
const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?)?$/;

function parseDate(raw: unknown, path: string, of: string): Date {
  const expected = `${of} takes an ISO-8601 date (e.g. "2024-05-01T10:00:00Z") or epoch milliseconds`;
  if (raw instanceof Date) {
    if (Number.isNaN(raw.getTime())) {
      fail(path, `${expected}, got an invalid Date`);
    }
    return new Date(raw.getTime());
  }
  if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw) || Math.abs(raw) > MAX_EPOCH_MS) {
      fail(path, `${expected}; ${raw} is not a whole number of milliseconds in range`);
    }
    return new Date(raw);
  }
  if (typeof raw !== 'string') {
    fail(path, `${expected}, got ${describe(raw)}`);
  }
  const date = isoToDate(raw);
  if (!date) {
    fail(path, `${expected}, got ${describe(raw)}`);
  }
  return date;
}

function isoToDate(text: string): Date | undefined {
  const m = ISO_DATE.exec(text);
  if (!m) {
    return undefined;
  }
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', , sign, oh = '0', om = '0'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const offsetHour = Number(oh);
  const offsetMinute = Number(om);
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    offsetHour > 23 ||
    offsetMinute > 59
  ) {
    return undefined;
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, Number(frac.padEnd(3, '0').slice(0, 3)));
  const offsetMs = (offsetHour * 60 + offsetMinute) * 60_000 * (sign === '-' ? -1 : 1);
  return new Date(date.getTime() - offsetMs);
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

function suggestField(key: string): string | undefined {
  const snake = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[\s-]+/g, '_')
    .toLowerCase();
  if (snake !== key && Object.hasOwn(FILTER_FIELDS, snake)) {
    return snake;
  }
  const logical = key.replace(/^\$/, '').toLowerCase();
  return LOGICAL_KEYS.find((k) => k === logical);
}

const OPERATOR_ALIASES: Readonly<Record<string, FilterOperator>> = {
  neq: 'ne',
  not_in: 'nin',
  notin: 'nin',
  ge: 'gte',
  le: 'lte',
  like: 'contains',
  ilike: 'icontains',
};

function suggestOperator(op: string): FilterOperator | undefined {
  const plain = op.replace(/^\$/, '').toLowerCase();
  const direct = FILTER_OPERATORS.find((known) => known === plain);
  return direct ?? (Object.hasOwn(OPERATOR_ALIASES, plain) ? OPERATOR_ALIASES[plain] : undefined);
}

function describeField(field: FilterField): string {
  if (field.kind === 'metadata') {
    return `metadata.${field.path.join('.')}`;
  }
  const kind = field.type === 'string[]' ? 'an array of strings' : `a ${field.type}`;
  return `${field.name} (${kind})`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string (${quote(value)})`;
  if (typeof value === 'number' || typeof value === 'boolean') return `a ${typeof value} (${String(value)})`;
  if (value instanceof Date) return 'a Date';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

const MAX_QUOTED = 64;

/** A name or value as JSON, shortened so that a hostile filter cannot blow up the error message. */
function quote(text: string): string {
  return JSON.stringify(text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text);
}

/** `filters.and[1].importance`; a key that does not read as a name is bracketed: `filters["a b"]`. */
function joinKey(path: string, key: string): string {
  return /^[A-Za-z_$][\w$.-]*$/.test(key) && key.length <= MAX_QUOTED ? `${path}.${key}` : `${path}[${quote(key)}]`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return false;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function fail(path: string, message: string): never {
  throw new MemoryException(MemoryExceptionCode.INVALID_FILTER, `${path}: ${message}`, { path });
}
