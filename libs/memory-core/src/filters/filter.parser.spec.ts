import { describe, expect, it } from '@jest/globals';
import { MemoryException, MemoryExceptionCode } from '../memory.exception.js';
import {
  FILTER_FIELDS,
  FILTER_LIMITS,
  FILTER_OPERATORS,
  MEMORY_FIELD_PROPERTY,
  operatorsForField,
  type Filter,
  type FilterField,
} from './filter.js';
import { parseFilter } from './filter.parser.js';

/** Parses and returns the INVALID_FILTER exception, failing the test when the filter is accepted. */
function rejection(input: unknown): MemoryException {
  try {
    parseFilter(input);
  } catch (error) {
    expect(error).toBeInstanceOf(MemoryException);
    const exception = error as MemoryException;
    expect(exception.code).toBe(MemoryExceptionCode.INVALID_FILTER);
    return exception;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

/** Asserts the filter is refused at `path`, with a message naming that path and containing every fragment. */
function expectInvalid(input: unknown, path: string, ...fragments: string[]): void {
  const exception = rejection(input);
  expect(exception.details).toEqual({ path });
  expect(exception.message.startsWith(`${path}: `)).toBe(true);
  for (const fragment of fragments) {
    expect(exception.message).toContain(fragment);
  }
}

const column = (name: keyof typeof FILTER_FIELDS): FilterField => ({ kind: 'column', name, type: FILTER_FIELDS[name] });
const metadata = (...path: string[]): FilterField => ({ kind: 'metadata', path, type: 'json' });
const cond = (field: FilterField, op: (typeof FILTER_OPERATORS)[number], value: unknown): Filter =>
  ({ kind: 'condition', field, op, value }) as Filter;

/** An operator, a value it refuses, and fragments of the message. */
type InvalidRow = [op: string, value: unknown, ...fragments: string[]];

/** Nests `inner` in `levels` `not`s. */
function nestNots(levels: number, inner: unknown): unknown {
  let filter = inner;
  for (let i = 0; i < levels; i += 1) filter = { not: filter };
  return filter;
}

describe('parseFilter: structure', () => {
  it('reads {"<field>": {"<op>": value}} as one condition', () => {
    expect(parseFilter({ importance: { gte: 5 } })).toEqual(cond(column('importance'), 'gte', 5));
  });

  it('reads the shorthand {"<field>": value} as eq', () => {
    expect(parseFilter({ user_id: 'alice' })).toEqual(cond(column('user_id'), 'eq', 'alice'));
    expect(parseFilter({ importance: 3 })).toEqual(cond(column('importance'), 'eq', 3));
    expect(parseFilter({ 'metadata.flag': true })).toEqual(cond(metadata('flag'), 'eq', true));
  });

  it('reads the shorthand {"<field>": null} as eq null', () => {
    expect(parseFilter({ agent_id: null })).toEqual(cond(column('agent_id'), 'eq', null));
  });

  it('reads several fields in one object as their AND, in key order', () => {
    expect(parseFilter({ user_id: 'alice', importance: { gt: 2 }, 'metadata.a': 'x' })).toEqual({
      kind: 'and',
      filters: [
        cond(column('user_id'), 'eq', 'alice'),
        cond(column('importance'), 'gt', 2),
        cond(metadata('a'), 'eq', 'x'),
      ],
    });
  });

  it('reads several operators on one field as their AND', () => {
    expect(parseFilter({ importance: { gte: 3, lte: 7 } })).toEqual({
      kind: 'and',
      filters: [cond(column('importance'), 'gte', 3), cond(column('importance'), 'lte', 7)],
    });
  });

  it('builds and / or / not trees', () => {
    const filter = parseFilter({
      and: [{ or: [{ memory_type: 'fact' }, { categories: { contains: 'food' } }] }, { not: { status: 'failed' } }],
    });
    expect(filter).toEqual({
      kind: 'and',
      filters: [
        {
          kind: 'or',
          filters: [cond(column('memory_type'), 'eq', 'fact'), cond(column('categories'), 'contains', 'food')],
        },
        { kind: 'not', filter: cond(column('status'), 'eq', 'failed') },
      ],
    });
  });

  it('keeps a one-element and / or as it was written', () => {
    expect(parseFilter({ or: [{ id: 'x' }] })).toEqual({ kind: 'or', filters: [cond(column('id'), 'eq', 'x')] });
  });

  it('ANDs logical keys with field keys in the same object', () => {
    expect(parseFilter({ user_id: 'alice', or: [{ importance: 1 }, { importance: 2 }] })).toEqual({
      kind: 'and',
      filters: [
        cond(column('user_id'), 'eq', 'alice'),
        { kind: 'or', filters: [cond(column('importance'), 'eq', 1), cond(column('importance'), 'eq', 2)] },
      ],
    });
  });

  it('accepts objects from JSON.parse and null-prototype objects', () => {
    expect(parseFilter(JSON.parse('{"not": {"run_id": {"exists": true}}}'))).toEqual({
      kind: 'not',
      filter: cond(column('run_id'), 'exists', true),
    });
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { namespace: 'default' });
    expect(parseFilter(bare)).toEqual(cond(column('namespace'), 'eq', 'default'));
  });

  it('does not modify its input', () => {
    const input = { and: [{ created_at: { gte: '2024-01-01' } }, { importance: { in: [1, 2] } }] };
    const copy = structuredClone(input);
    parseFilter(input);
    expect(input).toEqual(copy);
  });
});

describe('parseFilter: structural mistakes', () => {
  it.each([
    [null, 'null'],
    [[{ id: 'x' }], 'an array'],
    ['importance > 3', 'a string'],
    [42, 'a number'],
    [true, 'a boolean'],
    [undefined, 'nothing'],
    [new Date(0), 'a Date'],
  ])('refuses a non-object filter: %p', (input, what) => {
    expectInvalid(input, 'filters', 'must be an object', what);
  });

  it('refuses an empty object', () => {
    expectInvalid({}, 'filters', 'empty filter object');
    expectInvalid({ and: [{ id: 'x' }, {}] }, 'filters.and[1]', 'empty filter object');
  });

  it.each(['and', 'or'])('refuses %s with anything but a non-empty array', (key) => {
    expectInvalid({ [key]: [] }, `filters.${key}`, `"${key}" needs at least one filter`, 'empty array');
    expectInvalid({ [key]: { id: 'x' } }, `filters.${key}`, 'non-empty array', 'an object');
    expectInvalid({ [key]: null }, `filters.${key}`, 'non-empty array', 'null');
    expectInvalid({ [key]: 'x' }, `filters.${key}`, 'non-empty array');
  });

  it.each(['and', 'or'])('refuses a non-object inside %s, naming its index', (key) => {
    expectInvalid({ [key]: [{ id: 'x' }, 'oops'] }, `filters.${key}[1]`, 'must be an object', '"oops"');
    expectInvalid({ [key]: [{ id: 'x' }, [{ id: 'y' }]] }, `filters.${key}[1]`, 'must be an object', 'an array');
  });

  it('refuses not with an array, and not with a non-object', () => {
    expectInvalid({ not: [{ id: 'x' }] }, 'filters.not', '"not" takes one filter object, not an array');
    expectInvalid({ not: 'x' }, 'filters.not', 'must be an object');
    expectInvalid({ not: {} }, 'filters.not', 'empty filter object');
  });

  it('names the full path of a nested mistake', () => {
    expectInvalid(
      { and: [{ id: 'x' }, { or: [{ not: { importance: { gt: 'high' } } }] }] },
      'filters.and[1].or[0].not.importance.gt',
      'takes a number',
      '"high"',
    );
  });
});

describe('parseFilter: fields', () => {
  it.each(Object.keys(FILTER_FIELDS) as (keyof typeof FILTER_FIELDS)[])('accepts the column %s', (name) => {
    expect(parseFilter({ [name]: { exists: true } })).toEqual(cond(column(name), 'exists', true));
  });

  it('maps every filter field to a Memory property', () => {
    expect(Object.keys(MEMORY_FIELD_PROPERTY).sort()).toEqual(Object.keys(FILTER_FIELDS).sort());
    expect(MEMORY_FIELD_PROPERTY.user_id).toBe('userId');
    expect(MEMORY_FIELD_PROPERTY.created_at).toBe('createdAt');
    expect(MEMORY_FIELD_PROPERTY.access_count).toBe('accessCount');
  });

  it('reads metadata.<key> paths, nested too', () => {
    expect(parseFilter({ 'metadata.source': 'chat' })).toEqual(cond(metadata('source'), 'eq', 'chat'));
    expect(parseFilter({ 'metadata.a.b-c.D_9': { exists: false } })).toEqual(
      cond(metadata('a', 'b-c', 'D_9'), 'exists', false),
    );
  });

  it('refuses an unknown field, naming it and listing the allowed ones', () => {
    const exception = rejection({ and: [{ id: 'x' }, { colour: 'red' }] });
    expect(exception.details).toEqual({ path: 'filters.and[1].colour' });
    expect(exception.message).toContain('filters.and[1].colour');
    expect(exception.message).toContain('unknown field "colour"');
    for (const name of Object.keys(FILTER_FIELDS)) {
      expect(exception.message).toContain(name);
    }
    expect(exception.message).toContain('metadata.<key>');
  });

  it('suggests the snake_case name for a camelCase field', () => {
    expectInvalid({ userId: 'alice' }, 'filters.userId', 'unknown field "userId"', 'did you mean "user_id"?');
    expectInvalid({ createdAt: { gt: 0 } }, 'filters.createdAt', 'did you mean "created_at"?');
  });

  it('suggests the logical key for $and / AND', () => {
    expectInvalid({ $and: [{ id: 'x' }] }, 'filters.$and', 'unknown field "$and"', 'did you mean "and"?');
    expectInvalid({ OR: [{ id: 'x' }] }, 'filters.OR', 'did you mean "or"?');
  });

  it('refuses an operator used where a field is expected', () => {
    expectInvalid({ eq: 'x' }, 'filters.eq', 'operator "eq" must be inside a field');
  });

  it('does not take inherited object properties for fields', () => {
    expectInvalid({ toString: 'x' }, 'filters.toString', 'unknown field "toString"');
    expectInvalid({ constructor: { eq: 1 } }, 'filters.constructor', 'unknown field "constructor"');
    expectInvalid(JSON.parse('{"__proto__": {"eq": 1}}'), 'filters.__proto__', 'unknown field "__proto__"');
  });

  it('refuses "metadata" without a key', () => {
    expectInvalid({ metadata: { source: 'chat' } }, 'filters.metadata', 'name a metadata key', 'metadata.<key>');
  });

  it.each([
    ['metadata.', 'metadata key 1 is empty'],
    ['metadata..a', 'metadata key 1 is empty'],
    ['metadata.a.', 'metadata key 2 is empty'],
    ['metadata.a..b', 'metadata key 2 is empty'],
  ])('refuses an empty metadata key in %p', (key, message) => {
    expectInvalid({ [key]: 1 }, `filters.${key}`, message);
  });

  it.each([
    ['metadata.a b', 'a b'],
    ["metadata.it's", "it's"],
    ['metadata.a$', 'a$'],
    ['metadata.café', 'café'],
    ['metadata.x.{1}', '{1}'],
    ['metadata.a"b', 'a\\"b'],
    ['metadata.a/b', 'a/b'],
    ['metadata.a[0]', 'a[0]'],
  ])('refuses the metadata key in %p', (key, bad) => {
    const exception = rejection({ [key]: 1 });
    expect(exception.message).toContain(`metadata key "${bad}" may contain only letters, digits, "_" and "-"`);
  });

  it('brackets a key that does not read as a name in the path', () => {
    expectInvalid({ 'metadata.a b': 1 }, 'filters["metadata.a b"]', 'may contain only');
    expectInvalid({ 'my field': 1 }, 'filters["my field"]', 'unknown field "my field"');
  });

  it('limits the length and the number of metadata keys', () => {
    const longKey = 'k'.repeat(FILTER_LIMITS.maxMetadataKeyLength);
    expect(parseFilter({ [`metadata.${longKey}`]: 1 })).toEqual(cond(metadata(longKey), 'eq', 1));
    expect(rejection({ [`metadata.${longKey}k`]: 1 }).message).toContain(
      `longer than ${FILTER_LIMITS.maxMetadataKeyLength} characters`,
    );

    const keys = Array.from({ length: FILTER_LIMITS.maxMetadataPathKeys }, (_, i) => `k${i}`);
    expect(parseFilter({ [`metadata.${keys.join('.')}`]: 1 })).toEqual(cond(metadata(...keys), 'eq', 1));
    expect(rejection({ [`metadata.${keys.join('.')}.extra`]: 1 }).message).toContain(
      `metadata path is too long: at most ${FILTER_LIMITS.maxMetadataPathKeys} keys`,
    );
  });

  it('shortens a huge unknown field name in the message', () => {
    const exception = rejection({ ['x'.repeat(10_000)]: 1 });
    expect(exception.message.length).toBeLessThan(600);
    expect(exception.message).toContain('unknown field "xxxx');
  });
});

describe('parseFilter: operators', () => {
  it('refuses an unknown operator, naming it and listing the allowed ones', () => {
    const exception = rejection({ and: [{ id: 'x' }, { importance: { between: [1, 3] } }] });
    expect(exception.details).toEqual({ path: 'filters.and[1].importance.between' });
    expect(exception.message).toContain('filters.and[1].importance.between: unknown operator "between"');
    expect(exception.message).toContain(`allowed: ${FILTER_OPERATORS.join(', ')}`);
  });

  it.each([
    ['$eq', 'eq'],
    ['EQ', 'eq'],
    ['$in', 'in'],
    ['neq', 'ne'],
    ['not_in', 'nin'],
    ['ge', 'gte'],
    ['ilike', 'icontains'],
  ])('suggests "%s" → "%s"', (op, hint) => {
    expectInvalid({ importance: { [op]: 1 } }, `filters.importance.${op}`, `did you mean "${hint}"?`);
  });

  it('refuses an empty operator object', () => {
    expectInvalid({ importance: {} }, 'filters.importance', 'no operator', FILTER_OPERATORS.join(', '));
  });

  it('refuses a bare array as a shorthand value, pointing to in / contains', () => {
    expectInvalid({ memory_type: ['a', 'b'] }, 'filters.memory_type', 'a bare array is not a value', '"in"');
    expectInvalid({ categories: ['a'] }, 'filters.categories', '"in"', '"contains"');
  });

  it('refuses a missing value', () => {
    expectInvalid({ importance: { eq: undefined } }, 'filters.importance.eq', 'missing value');
    expectInvalid({ importance: undefined }, 'filters.importance', 'missing value');
  });

  it('lists the operators each field accepts', () => {
    expect(operatorsForField(column('importance'))).toEqual([
      'eq',
      'ne',
      'in',
      'nin',
      'gt',
      'gte',
      'lt',
      'lte',
      'exists',
    ]);
    expect(operatorsForField(column('content'))).toEqual(['eq', 'ne', 'in', 'nin', 'contains', 'icontains', 'exists']);
    expect(operatorsForField(column('memory_type'))).toEqual(FILTER_OPERATORS);
    expect(operatorsForField(column('categories'))).toEqual([
      'eq',
      'ne',
      'in',
      'nin',
      'contains',
      'icontains',
      'exists',
    ]);
    expect(operatorsForField(metadata('x'))).toEqual(FILTER_OPERATORS);
  });
});

describe('parseFilter: values by field kind', () => {
  const may1 = new Date('2024-05-01T00:00:00.000Z');

  describe('string fields', () => {
    it.each([
      ['eq', 'fact'],
      ['ne', 'fact'],
      ['eq', null],
      ['ne', null],
      ['eq', ''],
      ['in', ['fact', 'preference']],
      ['nin', ['fact']],
      ['gt', 'm'],
      ['gte', 'm'],
      ['lt', 'm'],
      ['lte', 'm'],
      ['contains', 'act'],
      ['icontains', 'ACT'],
      ['exists', false],
    ])('accepts memory_type %s %p', (op, value) => {
      expect(parseFilter({ memory_type: { [op]: value } })).toEqual(cond(column('memory_type'), op as 'eq', value));
    });

    it.each<InvalidRow>([
      ['eq', 3, 'memory_type (a string) takes a string', 'a number (3)'],
      ['ne', true, 'takes a string', 'a boolean (true)'],
      ['in', 'fact', '"in" takes a non-empty array', 'a string ("fact")'],
      ['in', [], '"in" needs at least one value'],
      ['nin', [], '"nin" needs at least one value'],
      ['gt', 5, 'takes a string', 'a number (5)'],
      ['contains', 5, '"contains" on memory_type (a string) takes a string', 'a number (5)'],
      ['icontains', null, '"icontains" on memory_type (a string) takes a string', 'null'],
      ['exists', 'yes', '"exists" takes true or false', 'a string ("yes")'],
      ['exists', null, '"exists" takes true or false', 'null'],
    ])('refuses memory_type %s %p', (op, value, ...fragments: string[]) => {
      expectInvalid({ memory_type: { [op]: value } }, `filters.memory_type.${op}`, ...fragments);
    });

    it('reads an object value as operators, not as a shorthand value', () => {
      expectInvalid({ memory_type: { a: 1 } }, 'filters.memory_type.a', 'unknown operator "a"');
    });

    it.each(['gt', 'gte', 'lt', 'lte'])('refuses %s on content, and lists what content accepts', (op) => {
      expectInvalid(
        { content: { [op]: 'm' } },
        `filters.content.${op}`,
        `operator "${op}" does not apply to content (a string)`,
        'allowed: eq, ne, in, nin, contains, icontains, exists',
      );
    });

    it('accepts contains / icontains / eq on content', () => {
      expect(parseFilter({ content: { contains: 'choc', icontains: 'CHOC' } })).toEqual({
        kind: 'and',
        filters: [cond(column('content'), 'contains', 'choc'), cond(column('content'), 'icontains', 'CHOC')],
      });
    });

    it('refuses an in list with a value of the wrong type, naming its index', () => {
      expectInvalid({ user_id: { in: ['a', 'b', 7] } }, 'filters.user_id.in[2]', 'takes a string', 'a number (7)');
    });

    it('limits the length of strings', () => {
      const max = 'x'.repeat(FILTER_LIMITS.maxStringLength);
      expect(parseFilter({ content: { contains: max } })).toEqual(cond(column('content'), 'contains', max));
      expectInvalid(
        { content: { contains: `${max}x` } },
        'filters.content.contains',
        `longer than ${FILTER_LIMITS.maxStringLength} characters`,
      );
    });
  });

  describe('number fields', () => {
    it.each([
      ['eq', 5],
      ['ne', 0.5],
      ['eq', null],
      ['ne', null],
      ['in', [1, 2, 3]],
      ['nin', [-1]],
      ['gt', 3],
      ['gte', 3],
      ['lt', 7.5],
      ['lte', 7],
      ['exists', true],
    ])('accepts importance %s %p', (op, value) => {
      expect(parseFilter({ importance: { [op]: value } })).toEqual(cond(column('importance'), op as 'eq', value));
    });

    it.each<InvalidRow>([
      ['gt', '3', 'importance (a number) takes a number', 'a string ("3")'],
      ['lte', null, 'takes a number', 'null'],
      ['eq', true, 'takes a number', 'a boolean (true)'],
      ['eq', Number.NaN, 'takes a number', 'NaN'],
      ['gte', Number.POSITIVE_INFINITY, 'takes a number', 'Infinity'],
      ['in', [1, '2'], 'takes a number', 'a string ("2")'],
      ['in', 1, '"in" takes a non-empty array', 'a number (1)'],
      ['exists', 1, '"exists" takes true or false'],
    ])('refuses importance %s %p', (op, value, ...fragments: string[]) => {
      expectInvalid(
        { importance: { [op]: value } },
        `filters.importance.${op}${op === 'in' && Array.isArray(value) ? '[1]' : ''}`,
        ...fragments,
      );
    });

    it.each(['contains', 'icontains'])('refuses %s on numbers', (op) => {
      expectInvalid(
        { confidence: { [op]: '0.5' } },
        `filters.confidence.${op}`,
        `operator "${op}" does not apply to confidence (a number)`,
        'allowed: eq, ne, in, nin, gt, gte, lt, lte, exists',
      );
    });

    it('accepts the shorthand on access_count', () => {
      expect(parseFilter({ access_count: 0 })).toEqual(cond(column('access_count'), 'eq', 0));
    });
  });

  describe('date fields', () => {
    it.each([
      ['2024-05-01', '2024-05-01T00:00:00.000Z'],
      ['2024-05-01T10:20:30Z', '2024-05-01T10:20:30.000Z'],
      ['2024-05-01T10:20:30z', '2024-05-01T10:20:30.000Z'],
      ['2024-05-01T10:20:30.123Z', '2024-05-01T10:20:30.123Z'],
      ['2024-05-01T10:20:30.1Z', '2024-05-01T10:20:30.100Z'],
      ['2024-05-01T10:20:30.123456789Z', '2024-05-01T10:20:30.123Z'],
      ['2024-05-01T10:20:30,5Z', '2024-05-01T10:20:30.500Z'],
      ['2024-05-01T10:20Z', '2024-05-01T10:20:00.000Z'],
      ['2024-05-01T10:20:30', '2024-05-01T10:20:30.000Z'],
      ['2024-05-01 10:20:30Z', '2024-05-01T10:20:30.000Z'],
      ['2024-05-01T12:20:30+02:00', '2024-05-01T10:20:30.000Z'],
      ['2024-05-01T05:20:30-0500', '2024-05-01T10:20:30.000Z'],
      ['2024-05-01T00:30:00+05:30', '2024-04-30T19:00:00.000Z'],
      ['2024-02-29', '2024-02-29T00:00:00.000Z'],
      ['2000-02-29', '2000-02-29T00:00:00.000Z'],
      ['0050-01-01', '0050-01-01T00:00:00.000Z'],
    ])('reads the ISO-8601 string %p as a Date', (text, iso) => {
      const filter = parseFilter({ created_at: { gte: text } });
      expect(filter).toEqual(cond(column('created_at'), 'gte', new Date(iso)));
      expect((filter as { value: unknown }).value).toBeInstanceOf(Date);
    });

    it('reads epoch milliseconds as a Date', () => {
      expect(parseFilter({ updated_at: { lt: may1.getTime() } })).toEqual(cond(column('updated_at'), 'lt', may1));
      expect(parseFilter({ updated_at: { gt: 0 } })).toEqual(cond(column('updated_at'), 'gt', new Date(0)));
      expect(parseFilter({ updated_at: { gt: -86_400_000 } })).toEqual(
        cond(column('updated_at'), 'gt', new Date('1969-12-31T00:00:00Z')),
      );
    });

    it('accepts a Date (from code), copying it', () => {
      const date = new Date(may1);
      const filter = parseFilter({ expires_at: { lte: date } }) as { value: Date };
      expect(filter.value).toEqual(may1);
      expect(filter.value).not.toBe(date);
    });

    it.each(['eq', 'ne', 'gt', 'gte', 'lt', 'lte'])('accepts %s on dates', (op) => {
      expect(parseFilter({ accessed_at: { [op]: '2024-05-01' } })).toEqual(
        cond(column('accessed_at'), op as 'eq', may1),
      );
    });

    it('reads in / nin lists of dates, mixing strings and numbers', () => {
      expect(parseFilter({ created_at: { in: ['2024-05-01', may1.getTime() + 1] } })).toEqual(
        cond(column('created_at'), 'in', [may1, new Date(may1.getTime() + 1)]),
      );
      expect(parseFilter({ created_at: { nin: ['2024-05-01'] } })).toEqual(cond(column('created_at'), 'nin', [may1]));
    });

    it('accepts null and exists on dates', () => {
      expect(parseFilter({ expires_at: null })).toEqual(cond(column('expires_at'), 'eq', null));
      expect(parseFilter({ expires_at: { ne: null } })).toEqual(cond(column('expires_at'), 'ne', null));
      expect(parseFilter({ expires_at: { exists: true } })).toEqual(cond(column('expires_at'), 'exists', true));
    });

    it.each([
      'tomorrow',
      '2024',
      '2024-05',
      '2024-5-1',
      '01/05/2024',
      '2024-02-30',
      '2023-02-29',
      '1900-02-29',
      '2024-13-01',
      '2024-00-10',
      '2024-04-31',
      '2024-05-01T24:00:00Z',
      '2024-05-01T10:60Z',
      '2024-05-01T10:20:60Z',
      '2024-05-01T10Z',
      '2024-05-01T10:20:30+24:00',
      '2024-05-01T10:20:30 +02:00',
      'Wed, 01 May 2024 10:00:00 GMT',
      ' 2024-05-01',
      '',
    ])('refuses the date string %p', (text) => {
      expectInvalid(
        { created_at: { gt: text } },
        'filters.created_at.gt',
        'created_at (a date) takes an ISO-8601 date',
        JSON.stringify(text),
      );
    });

    it.each([
      [1.5, 'not a whole number of milliseconds'],
      [8.64e15 + 1, 'not a whole number of milliseconds in range'],
      [Number.NaN, 'not a whole number'],
      [true, 'a boolean (true)'],
      [[2024, 5, 1], 'an array'],
      [{ $date: '2024-05-01' }, 'got an object'],
      [new Date(Number.NaN), 'an invalid Date'],
    ])('refuses the date value %p', (value, fragment) => {
      const input = { created_at: { gt: value } };
      const exception = rejection(input);
      expect(exception.message).toContain(fragment);
    });

    it.each(['contains', 'icontains'])('refuses %s on dates', (op) => {
      expectInvalid(
        { created_at: { [op]: '2024' } },
        `filters.created_at.${op}`,
        `operator "${op}" does not apply to created_at (a date)`,
      );
    });

    it('names the index of a bad date in a list', () => {
      expectInvalid({ created_at: { in: ['2024-05-01', 'soon'] } }, 'filters.created_at.in[1]', '"soon"');
    });
  });

  describe('string[] fields (categories)', () => {
    it.each([
      ['eq', 'food'],
      ['ne', 'food'],
      ['eq', null],
      ['ne', null],
      ['in', ['food', 'health']],
      ['nin', ['food']],
      ['contains', 'food'],
      ['icontains', 'FOOD'],
      ['exists', true],
    ])('accepts categories %s %p', (op, value) => {
      expect(parseFilter({ categories: { [op]: value } })).toEqual(cond(column('categories'), op as 'eq', value));
    });

    it('accepts the shorthand with one category', () => {
      expect(parseFilter({ categories: 'food' })).toEqual(cond(column('categories'), 'eq', 'food'));
    });

    it.each(['gt', 'gte', 'lt', 'lte'])('refuses %s on categories', (op) => {
      expectInvalid(
        { categories: { [op]: 'a' } },
        `filters.categories.${op}`,
        `operator "${op}" does not apply to categories (an array of strings)`,
        'allowed: eq, ne, in, nin, contains, icontains, exists',
      );
    });

    it.each<InvalidRow>([
      ['eq', ['food'], '"eq" on categories (an array of strings) takes one element', '"in" / "nin"'],
      ['ne', ['food'], '"ne" on categories (an array of strings) takes one element'],
      ['contains', ['food'], '"contains" on categories (an array of strings) takes a string', 'an array'],
      ['icontains', 1, '"icontains" on categories (an array of strings) takes a string', 'a number (1)'],
      ['contains', null, 'takes a string', 'null'],
      ['eq', 1, 'categories (an array of strings) takes a string', 'a number (1)'],
    ])('refuses categories %s %p', (op, value, ...fragments: string[]) => {
      expectInvalid({ categories: { [op]: value } }, `filters.categories.${op}`, ...fragments);
    });

    it('refuses an in list of non-strings', () => {
      expectInvalid({ categories: { in: ['a', ['b']] } }, 'filters.categories.in[1]', 'takes a string', 'an array');
    });
  });

  describe('metadata (json)', () => {
    it.each([
      ['eq', 'chat'],
      ['eq', 3],
      ['eq', 2.5],
      ['eq', true],
      ['eq', null],
      ['ne', false],
      ['ne', null],
      ['in', ['a', 1, true]],
      ['nin', [1, 2]],
      ['gt', 3],
      ['gte', '2024-05-01'],
      ['lt', -1],
      ['lte', 'm'],
      ['contains', 'x'],
      ['contains', 3],
      ['contains', false],
      ['icontains', 'X'],
      ['exists', true],
      ['exists', false],
    ])('accepts metadata.x %s %p', (op, value) => {
      expect(parseFilter({ 'metadata.x': { [op]: value } })).toEqual(cond(metadata('x'), op as 'eq', value));
    });

    it('keeps date-like strings as strings in metadata', () => {
      expect(parseFilter({ 'metadata.when': { gte: '2024-05-01' } })).toEqual(
        cond(metadata('when'), 'gte', '2024-05-01'),
      );
    });

    it.each<InvalidRow>([
      ['eq', [1], 'metadata.x takes a string, a number or a boolean', 'an array'],
      ['ne', { a: 1 }, 'takes a string, a number or a boolean', 'an object'],
      ['gt', true, '"gt" on metadata.x takes a number or a string', 'a boolean (true)'],
      ['lte', null, '"lte" on metadata.x takes a number or a string', 'null'],
      ['gte', [1], 'takes a number or a string', 'an array'],
      ['contains', null, '"contains" takes a string, a number or a boolean', 'null'],
      ['contains', ['a'], 'takes a string, a number or a boolean', 'an array'],
      ['icontains', 1, '"icontains" on metadata.x takes a string', 'a number (1)'],
      ['exists', 'true', '"exists" takes true or false'],
    ])('refuses metadata.x %s %p', (op, value, ...fragments: string[]) => {
      expectInvalid({ 'metadata.x': { [op]: value } }, `filters.metadata.x.${op}`, ...fragments);
    });

    it('refuses null and non-scalars in metadata in / nin lists, naming the index', () => {
      expectInvalid({ 'metadata.x': { in: [1, null] } }, 'filters.metadata.x.in[1]', 'may not be null', '{"eq": null}');
      expectInvalid({ 'metadata.x': { nin: [{}] } }, 'filters.metadata.x.nin[0]', 'a string, a number or a boolean');
    });

    it('reads an object value on metadata as operators', () => {
      expectInvalid({ 'metadata.x': { a: 1 } }, 'filters.metadata.x.a', 'unknown operator "a"');
    });
  });

  describe('null', () => {
    it.each(Object.keys(FILTER_FIELDS) as (keyof typeof FILTER_FIELDS)[])('is accepted by eq and ne on %s', (name) => {
      expect(parseFilter({ [name]: { eq: null, ne: null } })).toEqual({
        kind: 'and',
        filters: [cond(column(name), 'eq', null), cond(column(name), 'ne', null)],
      });
    });

    it.each(['in', 'nin'])('is refused in %s lists', (op) => {
      expectInvalid({ user_id: { [op]: ['a', null] } }, `filters.user_id.${op}[1]`, 'may not be null');
    });

    it.each(['gt', 'contains', 'icontains', 'exists'])('is refused by %s', (op) => {
      const field = op === 'gt' ? 'memory_type' : 'content';
      expectInvalid({ [field]: { [op]: null } }, `filters.${field}.${op}`, 'null');
    });
  });
});

describe('parseFilter: limits', () => {
  it(`accepts and / or / not nested ${FILTER_LIMITS.maxDepth} levels deep`, () => {
    const deep = nestNots(FILTER_LIMITS.maxDepth, { id: 'x' });
    expect(() => parseFilter(deep)).not.toThrow();
  });

  it(`refuses nesting deeper than ${FILTER_LIMITS.maxDepth}`, () => {
    const path = `filters${'.not'.repeat(FILTER_LIMITS.maxDepth + 1)}`;
    expectInvalid(nestNots(FILTER_LIMITS.maxDepth + 1, { id: 'x' }), path, 'too deep', `${FILTER_LIMITS.maxDepth}`);
  });

  it('counts and / or levels too, naming where the limit was crossed', () => {
    let filter: unknown = { id: 'x' };
    for (let i = 0; i < FILTER_LIMITS.maxDepth; i += 1)
      filter = i % 2 ? { and: [filter] } : { or: [{ id: 'y' }, filter] };
    expect(() => parseFilter(filter)).not.toThrow();
    // the ninth level is the innermost "or", reached through the and / or chain built above
    expectInvalid({ and: [filter] }, 'filters.and[0].and[0].or[1].and[0].or[1].and[0].or[1].and[0].or', 'too deep');
  });

  it('does not count implicit ANDs as levels', () => {
    const deep = nestNots(FILTER_LIMITS.maxDepth, { id: 'x', importance: { gte: 1, lte: 9 } });
    expect(() => parseFilter(deep)).not.toThrow();
  });

  it('refuses a deeply nested hostile filter without overflowing the stack', () => {
    expect(rejection(nestNots(100_000, { id: 'x' })).message).toContain('too deep');
  });

  it(`accepts ${FILTER_LIMITS.maxConditions} conditions and refuses one more`, () => {
    const conditions = Array.from({ length: FILTER_LIMITS.maxConditions }, (_, i) => ({ importance: i }));
    expect(() => parseFilter({ or: conditions })).not.toThrow();
    expectInvalid(
      { and: [{ or: conditions }, { id: 'x' }] },
      'filters.and[1].id',
      `too many conditions: a filter may have at most ${FILTER_LIMITS.maxConditions}`,
    );
  });

  it('counts every operator of a condition object as a condition', () => {
    const half = Array.from({ length: FILTER_LIMITS.maxConditions / 2 }, () => ({ importance: { gte: 1, lte: 9 } }));
    expect(() => parseFilter({ and: half })).not.toThrow();
    expectInvalid(
      { and: [...half, { importance: { gte: 1 } }] },
      `filters.and[${half.length}].importance.gte`,
      'too many conditions',
    );
  });

  it('refuses an over-long and / or array up front', () => {
    const many = Array.from({ length: FILTER_LIMITS.maxConditions + 1 }, () => 'not even a filter');
    expectInvalid({ or: many }, 'filters.or', 'too many conditions');
  });

  it(`accepts ${FILTER_LIMITS.maxInValues} values in an in list and refuses one more`, () => {
    const values = Array.from({ length: FILTER_LIMITS.maxInValues }, (_, i) => `id-${i}`);
    expect(() => parseFilter({ id: { in: values } })).not.toThrow();
    expectInvalid(
      { id: { nin: [...values, 'one-more'] } },
      'filters.id.nin',
      `"nin" takes at most ${FILTER_LIMITS.maxInValues} values, got ${FILTER_LIMITS.maxInValues + 1}`,
    );
  });
});
