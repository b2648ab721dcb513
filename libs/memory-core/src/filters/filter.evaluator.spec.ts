import { describe, expect, it } from '@jest/globals';
import type { Memory } from '../memory.js';
import { OSS_TENANT_ID } from '../tenant.js';
import { FILTER_FIELDS, type Filter } from './filter.js';
import { matchesFilter, resolveFilterField } from './filter.evaluator.js';
import { parseFilter } from './filter.parser.js';

function memory(overrides: Partial<Memory> = {}): Memory {
  return {
    id: '01900000-0000-7000-8000-000000000001',
    tenantId: OSS_TENANT_ID,
    userId: 'alice',
    agentId: null,
    runId: 'run-1',
    namespace: 'default',
    content: 'Alice likes 100% dark Chocolate_bars',
    memoryType: 'preference',
    importance: 7,
    confidence: 0.8,
    metadata: {
      source: 'chat',
      score: 42,
      ratio: 0.5,
      flag: true,
      off: false,
      nothing: null,
      numeric_string: '10',
      when: '2024-05-01T10:00:00Z',
      tags: ['red', 'Blue', 3, true, null, { k: 'v' }],
      empty_list: [],
      empty_object: {},
      empty_string: '',
      nested: { level: { deep: 'x', n: 5 }, list: [{ a: 1 }] },
    },
    categories: ['food', 'Health'],
    status: 'ready',
    failureReason: null,
    embeddingModel: null,
    embeddingDimensions: null,
    embedding: null,
    contentHash: 'hash',
    createdAt: new Date('2024-05-01T10:00:00.000Z'),
    updatedAt: new Date('2024-06-01T00:00:00.000Z'),
    accessedAt: null,
    accessCount: 3,
    expiresAt: null,
    ...overrides,
  };
}

const subject = memory();

/** Evaluates the JSON filter against `target` (the default memory unless given). */
function matches(input: unknown, target: Memory = subject): boolean {
  return matchesFilter(target, parseFilter(input));
}

type Row = [filter: unknown, expected: boolean];

function truthTable(rows: Row[]): void {
  it.each(rows)('%j → %p', (filter, expected) => {
    expect(matches(filter)).toBe(expected);
  });
}

describe('matchesFilter: logic', () => {
  truthTable([
    [{ and: [{ user_id: 'alice' }, { importance: 7 }] }, true],
    [{ and: [{ user_id: 'alice' }, { importance: 8 }] }, false],
    [{ or: [{ user_id: 'bob' }, { importance: 7 }] }, true],
    [{ or: [{ user_id: 'bob' }, { importance: 8 }] }, false],
    [{ not: { user_id: 'bob' } }, true],
    [{ not: { user_id: 'alice' } }, false],
    [{ not: { not: { user_id: 'alice' } } }, true],
    // implicit ANDs
    [{ user_id: 'alice', importance: 7 }, true],
    [{ user_id: 'alice', importance: 6 }, false],
    [{ importance: { gte: 3, lte: 7 } }, true],
    [{ importance: { gte: 3, lt: 7 } }, false],
    [{ user_id: 'alice', or: [{ importance: 1 }, { categories: 'food' }] }, true],
    [
      {
        and: [
          { or: [{ memory_type: 'fact' }, { memory_type: 'preference' }] },
          { not: { status: { in: ['failed', 'pending'] } } },
          { created_at: { gte: '2024-01-01', lt: '2025-01-01' } },
        ],
      },
      true,
    ],
  ]);

  it('negates a false condition on a missing field to true (two-valued logic)', () => {
    expect(matches({ expires_at: { gt: '2024-01-01' } })).toBe(false);
    expect(matches({ not: { expires_at: { gt: '2024-01-01' } } })).toBe(true);
    expect(matches({ 'metadata.missing': { contains: 'x' } })).toBe(false);
    expect(matches({ not: { 'metadata.missing': { contains: 'x' } } })).toBe(true);
  });

  it('evaluates a hand-built tree', () => {
    const filter: Filter = {
      kind: 'or',
      filters: [
        { kind: 'condition', field: { kind: 'column', name: 'importance', type: 'number' }, op: 'lt', value: 5 },
        {
          kind: 'condition',
          field: { kind: 'metadata', path: ['nested', 'level', 'n'], type: 'json' },
          op: 'eq',
          value: 5,
        },
      ],
    };
    expect(matchesFilter(subject, filter)).toBe(true);
  });
});

describe('matchesFilter: string columns', () => {
  truthTable([
    [{ user_id: 'alice' }, true],
    [{ user_id: 'Alice' }, false],
    [{ user_id: { eq: 'alice' } }, true],
    [{ user_id: { ne: 'alice' } }, false],
    [{ user_id: { ne: 'bob' } }, true],
    [{ user_id: { in: ['bob', 'alice'] } }, true],
    [{ user_id: { in: ['bob'] } }, false],
    [{ user_id: { nin: ['bob'] } }, true],
    [{ user_id: { nin: ['alice', 'bob'] } }, false],
    [{ memory_type: { gt: 'fact' } }, true],
    [{ memory_type: { gt: 'preference' } }, false],
    [{ memory_type: { gte: 'preference' } }, true],
    [{ memory_type: { lt: 'preference' } }, false],
    [{ memory_type: { lt: 'z' } }, true],
    [{ memory_type: { lte: 'preference' } }, true],
    [{ memory_type: { lt: 'prefer' } }, false],
    [{ memory_type: { gt: 'prefer' } }, true],
    [{ memory_type: { gt: 'Z' } }, true], // lower case sorts after upper case (code points)
    [{ content: { contains: 'dark' } }, true],
    [{ content: { contains: 'chocolate' } }, false],
    [{ content: { icontains: 'chocolate' } }, true],
    [{ content: { icontains: 'ALICE LIKES' } }, true],
    [{ content: { contains: '100%' } }, true],
    [{ content: { contains: '100%dark' } }, false],
    [{ content: { contains: 'e_b' } }, true],
    [{ content: { contains: 'e%b' } }, false], // % and _ are literal, not wildcards
    [{ content: { contains: '' } }, true],
    [{ content: { exists: true } }, true],
    [{ content: { exists: false } }, false],
    [{ status: 'ready' }, true],
    [{ namespace: { ne: null } }, true],
    [{ namespace: null }, false],
  ]);

  it('orders strings by code point, not by UTF-16 unit', () => {
    const astral = memory({ memoryType: '\u{1F600}' }); // 😀, U+1F600 (a surrogate pair in UTF-16)
    expect(matches({ memory_type: { gt: '\uFFFD' } }, astral)).toBe(true);
    expect(matches({ memory_type: { lt: '\uFFFD' } }, astral)).toBe(false);
    expect(matches({ memory_type: { gt: 'z' } }, astral)).toBe(true);
    expect(matches({ memory_type: { lt: '\u{1F601}' } }, astral)).toBe(true);
  });
});

describe('matchesFilter: nullable string columns', () => {
  // agentId is null on the subject; runId is 'run-1'
  truthTable([
    [{ agent_id: 'bot' }, false],
    [{ agent_id: null }, true],
    [{ agent_id: { eq: null } }, true],
    [{ agent_id: { ne: null } }, false],
    [{ agent_id: { ne: 'bot' } }, true],
    [{ agent_id: { in: ['bot'] } }, false],
    [{ agent_id: { nin: ['bot'] } }, true],
    [{ agent_id: { gt: '' } }, false],
    [{ agent_id: { gte: '' } }, false],
    [{ agent_id: { lt: 'z' } }, false],
    [{ agent_id: { lte: 'z' } }, false],
    [{ agent_id: { contains: '' } }, false],
    [{ agent_id: { icontains: '' } }, false],
    [{ agent_id: { exists: true } }, false],
    [{ agent_id: { exists: false } }, true],
    [{ run_id: null }, false],
    [{ run_id: { ne: null } }, true],
    [{ run_id: { exists: true } }, true],
    [{ run_id: { exists: false } }, false],
  ]);
});

describe('matchesFilter: number columns', () => {
  truthTable([
    [{ importance: 7 }, true],
    [{ importance: { eq: 7 } }, true],
    [{ importance: { eq: 7.0001 } }, false],
    [{ importance: { ne: 7 } }, false],
    [{ importance: { ne: 6 } }, true],
    [{ importance: { in: [1, 7] } }, true],
    [{ importance: { in: [1, 2] } }, false],
    [{ importance: { nin: [1, 2] } }, true],
    [{ importance: { nin: [7] } }, false],
    [{ importance: { gt: 6 } }, true],
    [{ importance: { gt: 7 } }, false],
    [{ importance: { gte: 7 } }, true],
    [{ importance: { gte: 8 } }, false],
    [{ importance: { lt: 8 } }, true],
    [{ importance: { lt: 7 } }, false],
    [{ importance: { lte: 7 } }, true],
    [{ importance: { lte: 6 } }, false],
    [{ confidence: { gt: 0.5, lt: 0.9 } }, true],
    [{ confidence: { eq: 0.8 } }, true],
    [{ access_count: { gte: 3 } }, true],
    [{ access_count: { exists: true } }, true],
    [{ access_count: null }, false],
  ]);

  it('treats zero as a value, not as missing', () => {
    const zero = memory({ accessCount: 0 });
    expect(matches({ access_count: 0 }, zero)).toBe(true);
    expect(matches({ access_count: { exists: true } }, zero)).toBe(true);
    expect(matches({ access_count: { lt: 1 } }, zero)).toBe(true);
  });
});

describe('matchesFilter: date columns', () => {
  // createdAt 2024-05-01T10:00:00.000Z, updatedAt 2024-06-01, accessedAt and expiresAt null
  const created = Date.parse('2024-05-01T10:00:00.000Z');

  truthTable([
    [{ created_at: '2024-05-01T10:00:00Z' }, true],
    [{ created_at: '2024-05-01T12:00:00+02:00' }, true],
    [{ created_at: created }, true],
    [{ created_at: created + 1 }, false],
    [{ created_at: { ne: '2024-05-01T10:00:00Z' } }, false],
    [{ created_at: { ne: '2024-05-01' } }, true],
    [{ created_at: { in: ['2024-01-01', created] } }, true],
    [{ created_at: { in: ['2024-01-01', '2024-05-01'] } }, false],
    [{ created_at: { nin: ['2024-01-01'] } }, true],
    [{ created_at: { nin: [created] } }, false],
    [{ created_at: { gt: '2024-05-01' } }, true],
    [{ created_at: { gt: '2024-05-01T10:00:00Z' } }, false],
    [{ created_at: { gt: '2024-05-01T09:59:59.999Z' } }, true],
    [{ created_at: { gte: '2024-05-01T10:00:00Z' } }, true],
    [{ created_at: { gte: created + 1 } }, false],
    [{ created_at: { lt: '2024-05-02' } }, true],
    [{ created_at: { lt: created } }, false],
    [{ created_at: { lte: created } }, true],
    [{ created_at: { lte: '2024-05-01' } }, false],
    [{ updated_at: { gt: '2024-05-31T23:59:59Z', lt: '2024-06-01T00:00:00.001Z' } }, true],
    [{ created_at: { exists: true } }, true],
    [{ created_at: null }, false],
    // missing (null) dates
    [{ expires_at: null }, true],
    [{ expires_at: { exists: false } }, true],
    [{ expires_at: { exists: true } }, false],
    [{ expires_at: { ne: null } }, false],
    [{ expires_at: '2024-05-01' }, false],
    [{ expires_at: { ne: '2024-05-01' } }, true],
    [{ expires_at: { in: ['2024-05-01'] } }, false],
    [{ expires_at: { nin: ['2024-05-01'] } }, true],
    [{ expires_at: { gt: 0 } }, false],
    [{ expires_at: { gte: 0 } }, false],
    [{ expires_at: { lt: '9999-12-31' } }, false],
    [{ expires_at: { lte: '9999-12-31' } }, false],
    [{ or: [{ expires_at: null }, { expires_at: { gt: '2024-05-01' } }] }, true],
  ]);

  it('compares by instant, whatever Date object holds it', () => {
    const m = memory({ expiresAt: new Date(created) });
    expect(matches({ expires_at: { eq: new Date(created) } }, m)).toBe(true);
    expect(matches({ expires_at: { in: [new Date(created)] } }, m)).toBe(true);
    expect(matches({ expires_at: { lte: '2024-05-01T10:00:00Z' } }, m)).toBe(true);
  });

  it('treats an invalid Date on the memory as missing', () => {
    const m = memory({ accessedAt: new Date(Number.NaN) });
    expect(matches({ accessed_at: { exists: false } }, m)).toBe(true);
    expect(matches({ accessed_at: { lt: '9999-01-01' } }, m)).toBe(false);
  });
});

describe('matchesFilter: categories (string[])', () => {
  // categories: ['food', 'Health']
  truthTable([
    [{ categories: 'food' }, true],
    [{ categories: 'health' }, false],
    [{ categories: { eq: 'Health' } }, true],
    [{ categories: { ne: 'food' } }, false],
    [{ categories: { ne: 'sport' } }, true],
    [{ categories: { contains: 'food' } }, true],
    [{ categories: { contains: 'foo' } }, false], // an element, not a substring
    [{ categories: { contains: 'health' } }, false],
    [{ categories: { icontains: 'health' } }, true],
    [{ categories: { icontains: 'FOOD' } }, true],
    [{ categories: { icontains: 'heal' } }, false],
    [{ categories: { in: ['sport', 'food'] } }, true],
    [{ categories: { in: ['sport', 'travel'] } }, false],
    [{ categories: { nin: ['sport', 'travel'] } }, true],
    [{ categories: { nin: ['sport', 'Health'] } }, false],
    [{ categories: { exists: true } }, true],
    [{ categories: null }, false],
    [{ categories: { ne: null } }, true],
  ]);

  it('sees an empty array as present but containing nothing', () => {
    const none = memory({ categories: [] });
    expect(matches({ categories: { exists: true } }, none)).toBe(true);
    expect(matches({ categories: null }, none)).toBe(false);
    expect(matches({ categories: 'food' }, none)).toBe(false);
    expect(matches({ categories: { ne: 'food' } }, none)).toBe(true);
    expect(matches({ categories: { in: ['food'] } }, none)).toBe(false);
    expect(matches({ categories: { nin: ['food'] } }, none)).toBe(true);
    expect(matches({ categories: { icontains: 'food' } }, none)).toBe(false);
  });
});

describe('matchesFilter: metadata', () => {
  describe('paths', () => {
    truthTable([
      [{ 'metadata.source': 'chat' }, true],
      [{ 'metadata.nested.level.deep': 'x' }, true],
      [{ 'metadata.nested.level.n': { gt: 4 } }, true],
      [{ 'metadata.nested.level': { exists: true } }, true],
      [{ 'metadata.nested.level.missing': { exists: true } }, false],
      [{ 'metadata.nested.level.deep.further': { exists: true } }, false], // "x" is not an object
      [{ 'metadata.nested.list.0.a': { exists: true } }, false], // no array indexing
      [{ 'metadata.nested.list.0': { exists: true } }, false],
      [{ 'metadata.tags.0': 'red' }, false],
      [{ 'metadata.missing.deeper': { exists: false } }, true],
      [{ 'metadata.missing.deeper': null }, true],
      [{ 'metadata.missing.deeper': { ne: 'x' } }, true],
    ]);

    it('does not read inherited properties', () => {
      expect(matches({ 'metadata.constructor': { exists: true } })).toBe(false);
      expect(matches({ 'metadata.toString': { exists: true } })).toBe(false);
      expect(matches({ 'metadata.source.length': { exists: true } })).toBe(false);
    });

    it('resolves fields to the raw value', () => {
      const filter = parseFilter({ and: [{ 'metadata.nested.level': { exists: true } }, { user_id: 'x' }] });
      const [meta, column] = (filter as unknown as { filters: Extract<Filter, { kind: 'condition' }>[] }).filters;
      expect(resolveFilterField(subject, meta!.field)).toEqual({ deep: 'x', n: 5 });
      expect(resolveFilterField(subject, column!.field)).toBe('alice');
    });

    it('maps every column to its Memory property', () => {
      for (const name of Object.keys(FILTER_FIELDS) as (keyof typeof FILTER_FIELDS)[]) {
        expect(resolveFilterField(subject, { kind: 'column', name, type: FILTER_FIELDS[name] })).not.toBeUndefined();
      }
    });
  });

  describe('missing and null values', () => {
    // metadata.absent does not exist; metadata.nothing is JSON null: both are "missing"
    it.each(['metadata.absent', 'metadata.nothing'])('%s', (field) => {
      const table: Row[] = [
        [{ [field]: null }, true],
        [{ [field]: { eq: null } }, true],
        [{ [field]: { ne: null } }, false],
        [{ [field]: 'x' }, false],
        [{ [field]: { ne: 'x' } }, true],
        [{ [field]: { ne: 0 } }, true],
        [{ [field]: { in: ['x', 1, false] } }, false],
        [{ [field]: { nin: ['x', 1, false] } }, true],
        [{ [field]: { gt: 0 } }, false],
        [{ [field]: { gte: '' } }, false],
        [{ [field]: { lt: 'z' } }, false],
        [{ [field]: { lte: 100 } }, false],
        [{ [field]: { contains: 'x' } }, false],
        [{ [field]: { icontains: '' } }, false],
        [{ [field]: { exists: true } }, false],
        [{ [field]: { exists: false } }, true],
      ];
      for (const [filter, expected] of table) {
        expect([filter, matches(filter)]).toEqual([filter, expected]);
      }
    });

    it('treats a non-object metadata as having no keys', () => {
      const odd = memory({ metadata: null as unknown as Record<string, unknown> });
      expect(matches({ 'metadata.source': { exists: false } }, odd)).toBe(true);
      expect(matches({ 'metadata.source': { ne: 'chat' } }, odd)).toBe(true);
    });
  });

  describe('strings', () => {
    truthTable([
      [{ 'metadata.source': { eq: 'chat' } }, true],
      [{ 'metadata.source': { eq: 'Chat' } }, false],
      [{ 'metadata.source': { ne: 'chat' } }, false],
      [{ 'metadata.source': { ne: 'email' } }, true],
      [{ 'metadata.source': { in: ['email', 'chat'] } }, true],
      [{ 'metadata.source': { nin: ['email', 'chat'] } }, false],
      [{ 'metadata.source': { gt: 'bat' } }, true],
      [{ 'metadata.source': { gte: 'chat' } }, true],
      [{ 'metadata.source': { lt: 'chat' } }, false],
      [{ 'metadata.source': { lte: 'chat' } }, true],
      [{ 'metadata.source': { contains: 'ha' } }, true],
      [{ 'metadata.source': { contains: 'HA' } }, false],
      [{ 'metadata.source': { icontains: 'HA' } }, true],
      [{ 'metadata.source': { exists: true } }, true],
      [{ 'metadata.empty_string': { exists: true } }, true],
      [{ 'metadata.empty_string': '' }, true],
      // date strings compare as strings
      [{ 'metadata.when': { gte: '2024-05-01' } }, true],
      [{ 'metadata.when': { lt: '2024-05-01T10:00:01Z' } }, true],
      [{ 'metadata.when': { gt: '2024-06' } }, false],
    ]);
  });

  describe('numbers', () => {
    truthTable([
      [{ 'metadata.score': 42 }, true],
      [{ 'metadata.score': { eq: 42.0 } }, true],
      [{ 'metadata.score': { ne: 42 } }, false],
      [{ 'metadata.score': { in: [1, 42] } }, true],
      [{ 'metadata.score': { nin: [1, 42] } }, false],
      [{ 'metadata.score': { gt: 41 } }, true],
      [{ 'metadata.score': { gt: 42 } }, false],
      [{ 'metadata.score': { gte: 42 } }, true],
      [{ 'metadata.score': { lt: 100 } }, true],
      [{ 'metadata.score': { lte: 41.9 } }, false],
      [{ 'metadata.ratio': { gt: 0.25, lt: 0.75 } }, true],
      [{ 'metadata.score': { contains: 42 } }, false], // contains is for arrays and strings
      [{ 'metadata.score': { icontains: '4' } }, false],
    ]);
  });

  describe('no coercion between JSON types', () => {
    truthTable([
      [{ 'metadata.score': '42' }, false],
      [{ 'metadata.score': { ne: '42' } }, true],
      [{ 'metadata.score': { in: ['42'] } }, false],
      [{ 'metadata.score': { nin: ['42'] } }, true],
      [{ 'metadata.score': { gt: '1' } }, false],
      [{ 'metadata.score': { lt: '99' } }, false],
      [{ 'metadata.numeric_string': 10 }, false],
      [{ 'metadata.numeric_string': '10' }, true],
      [{ 'metadata.numeric_string': { gt: 9 } }, false],
      [{ 'metadata.numeric_string': { lt: 9 } }, false],
      [{ 'metadata.numeric_string': { gt: '9' } }, false], // "10" < "9" as strings
      [{ 'metadata.numeric_string': { lt: '9' } }, true],
      [{ 'metadata.flag': true }, true],
      [{ 'metadata.flag': 'true' }, false],
      [{ 'metadata.flag': 1 }, false],
      [{ 'metadata.off': false }, true],
      [{ 'metadata.off': 0 }, false],
      [{ 'metadata.off': { ne: false } }, false],
      [{ 'metadata.off': { exists: true } }, true],
      [{ 'metadata.flag': { gt: 0 } }, false],
      [{ 'metadata.flag': { in: [true] } }, true],
    ]);
  });

  describe('arrays and objects', () => {
    // tags: ['red', 'Blue', 3, true, null, {k: 'v'}]
    truthTable([
      [{ 'metadata.tags': { contains: 'red' } }, true],
      [{ 'metadata.tags': { contains: 're' } }, false],
      [{ 'metadata.tags': { contains: 'blue' } }, false],
      [{ 'metadata.tags': { icontains: 'blue' } }, true],
      [{ 'metadata.tags': { icontains: 'BLU' } }, false],
      [{ 'metadata.tags': { contains: 3 } }, true],
      [{ 'metadata.tags': { contains: '3' } }, false],
      [{ 'metadata.tags': { icontains: '3' } }, false],
      [{ 'metadata.tags': { contains: true } }, true],
      [{ 'metadata.tags': { contains: false } }, false],
      [{ 'metadata.tags': 'red' }, false], // eq compares the whole value
      [{ 'metadata.tags': { ne: 'red' } }, true],
      [{ 'metadata.tags': { in: ['red'] } }, false],
      [{ 'metadata.tags': { nin: ['red'] } }, true],
      [{ 'metadata.tags': { gt: 'a' } }, false],
      [{ 'metadata.tags': { exists: true } }, true],
      [{ 'metadata.empty_list': { exists: true } }, true],
      [{ 'metadata.empty_list': { contains: 'x' } }, false],
      [{ 'metadata.empty_object': { exists: true } }, true],
      [{ 'metadata.nested': { eq: 'x' } }, false],
      [{ 'metadata.nested': { ne: 'x' } }, true],
      [{ 'metadata.nested': { contains: 'level' } }, false],
      [{ 'metadata.nested': { gt: 0 } }, false],
    ]);
  });
});
