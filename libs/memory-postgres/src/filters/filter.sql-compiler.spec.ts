import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import fc from 'fast-check';
import pg from 'pg';
import {
  FILTER_FIELDS,
  MemoryException,
  MemoryExceptionCode,
  matchesFilter,
  operatorsForField,
  parseFilter,
  type FieldKind,
  type FilterField,
  type FilterOperator,
  type Memory,
} from '@engram/memory-core';
import { compileFilter } from './filter.sql-compiler.js';
import { SqlParams } from './sql-params.js';

/**
 * The compiled SQL must agree with `matchesFilter` on every row. Each filter runs, as a column of a SELECT over all
 * fixtures, against a real server PostgreSQL and against PGlite; the evaluator runs on the memories as each database
 * hands them back (the drivers' own parsing of real, timestamptz, jsonb, text[]), which is what a provider returns.
 */

// ---------------------------------------------------------------------------------------------- databases

type Row = Record<string, unknown>;

interface Db {
  readonly name: 'postgres' | 'pglite';
  query(sql: string, params?: readonly unknown[]): Promise<Row[]>;
}

const TENANT = '00000000-0000-4000-8000-000000000000';
const ID = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

const CREATE_TABLE = `CREATE TABLE memories (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  user_id text,
  agent_id text,
  run_id text,
  namespace text NOT NULL,
  content text NOT NULL,
  memory_type text NOT NULL,
  status text NOT NULL,
  importance smallint NOT NULL,
  confidence real NOT NULL,
  access_count integer NOT NULL DEFAULT 0,
  metadata jsonb NOT NULL DEFAULT '{}',
  categories text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  accessed_at timestamptz,
  expires_at timestamptz,
  PRIMARY KEY (tenant_id, id)
)`;

interface Fixture {
  n: number;
  user_id?: string | null;
  agent_id?: string | null;
  run_id?: string | null;
  namespace?: string;
  content?: string;
  memory_type?: string;
  status?: string;
  importance?: number;
  /** Text, so that 'NaN' can be given. */
  confidence?: string;
  access_count?: number;
  /** JSON text. */
  metadata?: string;
  categories?: (string | null)[];
  created_at?: string;
  updated_at?: string;
  accessed_at?: string | null;
  expires_at?: string | null;
  /** Timestamps PGlite's driver cannot read back (it parses years 0–99 and BC dates wrongly). */
  pgOnly?: true;
}

const json = (value: unknown): string => JSON.stringify(value);

const FIXTURES: Fixture[] = [
  {
    n: 1,
    user_id: 'alice',
    run_id: 'run-1',
    content: 'Alice likes 100% dark Chocolate_bars',
    memory_type: 'preference',
    importance: 7,
    confidence: '0.8',
    access_count: 3,
    metadata: json({
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
    }),
    categories: ['food', 'Health'],
    created_at: '2024-05-01 10:00:00.123456+00',
    updated_at: '2024-06-01 00:00:00+00',
  },
  {
    n: 2,
    user_id: 'bob',
    agent_id: 'agent-x',
    content: 'Bob: 50_50 split, 100 percent',
    importance: 3,
    confidence: '0.3',
    access_count: 10,
    metadata: json({ source: 'email', score: '42', tags: 'red', nested: { level: 'flat' }, numeric_string: 10 }),
    categories: ['Food', 'work'],
    created_at: '2024-05-01 10:00:00.123+00',
    accessed_at: '2024-05-02 00:00:00+00',
    expires_at: '2030-01-01 00:00:00+00',
  },
  {
    n: 3,
    user_id: null,
    agent_id: 'agent-x',
    run_id: 'run-2',
    content: 'Straße İstanbul ΣΟΦΟΣ café',
    status: 'pending',
    importance: 10,
    confidence: '1',
    metadata: json({
      source: 'Chat',
      score: 42.0,
      ratio: 1e-7,
      tags: ['RED', 'blue', 'Straße'],
      nested: { level: { deep: 'X', n: '5' } },
      when: '2024-05-01T09:59:59Z',
    }),
    categories: ['ÄPFEL', 'straße', 'ΣΑΣ'],
    created_at: '2024-05-01 09:59:59.999999+00',
  },
  {
    n: 4,
    user_id: '',
    content: '',
    importance: 1,
    confidence: '0',
    metadata: '{}',
    categories: [],
    created_at: '1969-12-31 23:59:59.9995+00',
  },
  {
    n: 5,
    user_id: 'alice ',
    namespace: 'Default',
    content: 'ALICE LIKES TEA',
    metadata: json({ nested: null, flag: 'true', score: 41.999999, when: '2024-05-01' }),
    categories: ['', 'x'],
  },
  {
    n: 6,
    user_id: 'Alice',
    metadata: json({ nested: { level: null }, tags: [], '0': 'zero', arr: [{ '0': 1 }, 'red'] }),
    categories: ['a%b', 'c_d'],
  },
  {
    n: 7,
    content: 'percent % and underscore _ only',
    metadata: json({ score: true, flag: false, tags: [['red']], nested: { list: [{ a: 1 }] } }),
  },
  { n: 8, metadata: json({ score: [42], tags: [{ k: 'red' }], source: ['chat'] }) },
  {
    n: 9,
    metadata: json({ score: { v: 42 }, big: 1e21, neg: -5, zero: 0, tiny: 5e-324, source: null }),
  },
  { n: 10, metadata: '{"__proto__": {"x": 1}, "constructor": "c", "toString": 1}' },
  {
    n: 11,
    content: '😀 emoji and \uE000 private',
    metadata: json({ uni: '😀', s: 'ﬃ' }),
    categories: ['😀'],
  },
  { n: 12, content: '\uE000', metadata: json({ uni: '\uE000', pattern: '100%_done' }) },
  { n: 13, metadata: json({ uni: 'äbc', pattern: '100 done' }) },
  { n: 14, metadata: json({ uni: 'abc', s: 'FFI' }) },
  { n: 15, metadata: json({ uni: 'ABC', when: '2023-12-31T23:59:59Z' }) },
  { n: 16, confidence: 'NaN', expires_at: 'infinity', accessed_at: '-infinity' },
  { n: 17, confidence: '0.1', importance: 2, access_count: 1_000_000 },
  { n: 18, confidence: '0.7', user_id: 'carol', agent_id: 'Agent-X' },
  { n: 19, confidence: '1e-7', created_at: '2000-01-01 00:00:00+00', updated_at: '2000-01-01 00:00:00.000999+00' },
  { n: 20, created_at: '1900-01-01 00:00:00.5+00', metadata: '[]' },
  { n: 21, metadata: '"scalar"', content: 'MiXeD CaSe ǅ Ǆ ǆ', categories: ['MiXeD'] },
  { n: 22, metadata: json({ nested: { level: { deep: ['x', 'y'] } }, tags: ['red', 'red'] }) },
  { n: 23, run_id: 'run-1', metadata: json({ nested: 'string', source: 'chat' }) },
  { n: 24, categories: [null, 'food'], metadata: json({ tags: ['ΣΑΣ', 'İ'] }) },
  {
    n: 25,
    user_id: 'bob',
    created_at: '2024-05-01 10:00:00.124+00',
    metadata: json({ score: 43, ratio: 0.5000001, when: '2024-05-01T10:00:00.000Z' }),
  },
  { n: 26, expires_at: '275760-09-13 00:00:00+00', accessed_at: '275760-09-13 00:00:00.001+00' },
  { n: 27, expires_at: '275760-09-13 00:00:00.0005+00', accessed_at: '275760-09-12 23:59:59.999+00' },
  { n: 28, importance: 6, content: "'; DROP TABLE memories; --", metadata: json({ q: "'; DROP TABLE memories; --" }) },
  { n: 29, created_at: '0001-01-01 00:00:00+00', pgOnly: true },
  { n: 30, created_at: '0044-03-15 12:00:00+00 BC', accessed_at: '4714-11-24 00:00:00+00 BC', pgOnly: true },
];

async function createSchema(db: Db): Promise<Memory[]> {
  await db.query(CREATE_TABLE);
  for (const f of FIXTURES) {
    if (f.pgOnly && db.name !== 'postgres') continue;
    await db.query(
      `INSERT INTO memories (tenant_id, id, user_id, agent_id, run_id, namespace, content, memory_type, status,
         importance, confidence, access_count, metadata, categories, created_at, updated_at, accessed_at, expires_at)
       VALUES ($1::uuid, $2::uuid, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text,
         $10::smallint, $11::real, $12::integer, $13::jsonb, $14::text[], $15::timestamptz, $16::timestamptz,
         $17::timestamptz, $18::timestamptz)`,
      [
        TENANT,
        ID(f.n),
        f.user_id === undefined ? 'alice' : f.user_id,
        f.agent_id ?? null,
        f.run_id ?? null,
        f.namespace ?? 'default',
        f.content ?? `memory ${f.n}`,
        f.memory_type ?? 'fact',
        f.status ?? 'ready',
        f.importance ?? 5,
        f.confidence ?? '0.5',
        f.access_count ?? 0,
        f.metadata ?? '{}',
        f.categories ?? [],
        f.created_at ?? '2024-01-01 00:00:00+00',
        f.updated_at ?? '2024-01-01 00:00:00+00',
        f.accessed_at ?? null,
        f.expires_at ?? null,
      ],
    );
  }
  const rows = await db.query('SELECT * FROM memories ORDER BY id');
  return rows.map(toMemory);
}

/** A row as a provider maps it: the driver's values, camelCased. */
function toMemory(row: Row): Memory {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    userId: row.user_id,
    agentId: row.agent_id,
    runId: row.run_id,
    namespace: row.namespace,
    content: row.content,
    memoryType: row.memory_type,
    importance: row.importance,
    confidence: row.confidence,
    metadata: row.metadata,
    categories: row.categories,
    status: row.status,
    failureReason: null,
    embeddingModel: null,
    embeddingDimensions: null,
    embedding: null,
    contentHash: 'hash',
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    accessedAt: row.accessed_at,
    accessCount: row.access_count,
    expiresAt: row.expires_at,
  } as Memory;
}

async function openPostgres(): Promise<{ db: Db; client: pg.Client; drop: () => Promise<void> }> {
  const database = `engram_filters_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database });
  await client.connect();
  const db: Db = {
    name: 'postgres',
    query: async (sql, params = []) => (await client.query(sql, [...params])).rows as Row[],
  };
  return {
    db,
    client,
    drop: async () => {
      await client.end().catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    },
  };
}

function openPglite(): { db: Db; close: () => Promise<void> } {
  const lite = new PGlite();
  return {
    db: { name: 'pglite', query: async (sql, params = []) => (await lite.query<Row>(sql, [...params])).rows },
    close: () => lite.close(),
  };
}

// ---------------------------------------------------------------------------------------------- checking

interface Mismatch {
  filter: string;
  sql: string;
  params?: unknown[];
  error?: string;
  /** Rows where SQL and evaluator disagree: id → [sql, evaluator]. */
  rows?: Record<string, [unknown, boolean]>;
}

const BATCH = 40;

/** Runs every filter as one column of a SELECT over all rows and compares each cell with `matchesFilter`. */
async function compare(db: Db, memories: readonly Memory[], inputs: readonly unknown[]): Promise<Mismatch[]> {
  const mismatches: Mismatch[] = [];
  const byId = new Map(memories.map((m) => [m.id, m]));
  for (let start = 0; start < inputs.length; start += BATCH) {
    const batch = inputs.slice(start, start + BATCH);
    const filters = batch.map((input) => parseFilter(input));
    const params = new SqlParams();
    const sqls = filters.map((f) => compileFilter(f, params));
    let rows: Row[];
    try {
      rows = await db.query(
        `SELECT id::text AS id, ${sqls.map((s, i) => `${s} AS r${i}`).join(', ')} FROM memories m ORDER BY id`,
        params.values,
      );
    } catch {
      // Find the filter that fails, and say why.
      for (const [i, filter] of filters.entries()) {
        const one = new SqlParams();
        const sql = compileFilter(filter, one);
        try {
          await db.query(`SELECT ${sql} AS r FROM memories m`, one.values);
        } catch (error) {
          mismatches.push({ filter: json(batch[i]), sql, params: one.values, error: (error as Error).message });
        }
      }
      continue;
    }
    expect(rows).toHaveLength(memories.length);
    filters.forEach((filter, i) => {
      const wrong: Record<string, [unknown, boolean]> = {};
      for (const row of rows) {
        const expected = matchesFilter(byId.get(row.id as string)!, filter);
        const actual = row[`r${i}`];
        if (actual !== expected) wrong[row.id as string] = [actual, expected];
      }
      if (Object.keys(wrong).length > 0) {
        const one = new SqlParams();
        mismatches.push({ filter: json(batch[i]), sql: compileFilter(filter, one), params: one.values, rows: wrong });
      }
    });
  }
  return mismatches;
}

// ---------------------------------------------------------------------------------------------- the filter table

const STRINGS = [
  'alice',
  'Alice',
  'ALICE',
  'alice ',
  '',
  'bob',
  'carol',
  'agent-x',
  'Agent-X',
  'run-1',
  'run-2',
  'default',
  'Default',
  'ready',
  'pending',
  'fact',
  'preference',
  'zzz',
  'a',
  'B',
  'memory 1',
  '100%',
  '%',
  '_',
  '50_50',
  'chocolate_bars',
  'Chocolate_bars',
  'CHOCOLATE',
  'straße',
  'STRASSE',
  'İstanbul',
  'i̇stanbul',
  'istanbul',
  'σοφος',
  'ΣΟΦΟΣ',
  'σοφοσ',
  'café',
  'CAFÉ',
  'ǆ',
  'Ǆ',
  '😀',
  '\uE000',
  '\uFFFF',
  'a\u0000b',
  '\u0000',
  'alice\u0000',
  'memory\u0000',
  ID(1),
  ID(1).toUpperCase(),
  ID(1).slice(0, 8),
  '8000-00000000002',
  'not-a-uuid',
  "'; DROP TABLE memories; --",
];
const STRING_LISTS = [
  ['alice', 'bob'],
  ['ALICE', 'x'],
  ['alice\u0000', 'bob'],
  [ID(1), 'nope', ID(2)],
  [ID(3)],
  ['', 'Default'],
  ['\u0000'],
];
const NUMBERS = [0, -0, 1, 2, 3, 3.5, 5, 6.5, 7, 10, 11, -1, 0.8, 0.3, 0.30000001, 0.1, 0.7, 0.5, 1e-7, 1e300, -1e300];
const NUMBER_LISTS = [
  [3, 7],
  [3.5, 7.5],
  [0.8, 0.3],
  [1e300, 10],
  [0.1, 1e-7],
  [1_000_000, 999_999.5],
];
const DATES: unknown[] = [
  '2024-05-01T10:00:00.123Z',
  '2024-05-01T10:00:00.122Z',
  '2024-05-01T10:00:00.124Z',
  '2024-05-01T10:00:00Z',
  '2024-05-01T09:59:59.999Z',
  '2024-05-01',
  '2024-05-01T12:00:00.123+02:00',
  '2024-06-01T00:00:00Z',
  '1969-12-31T23:59:59.999Z',
  '1969-12-31T23:59:59.998Z',
  '1970-01-01',
  '1900-01-01T00:00:00.500Z',
  '2000-01-01',
  '2030-01-01',
  '0001-01-01',
  '9999-12-31T23:59:59.999Z',
  0,
  -1,
  -500,
  8.64e15,
  8.64e15 - 1,
  -8.64e15,
  -210_866_803_200_000,
  -62_135_596_800_000,
];
const DATE_LISTS = [
  ['2024-05-01T10:00:00.123Z', '2000-01-01'],
  ['2024-05-01T10:00:00.122Z', '2024-05-01T10:00:00.124Z'],
  [8.64e15, -8.64e15],
  [0, '1900-01-01T00:00:00.500Z'],
];
const CATEGORIES = [
  'food',
  'Food',
  'FOOD',
  'health',
  'Health',
  'work',
  '',
  'x',
  'straße',
  'STRASSE',
  'Straße',
  'äpfel',
  'ÄPFEL',
  'σας',
  'ΣΑΣ',
  'σασ',
  'a%b',
  '%',
  '_',
  'c_d',
  '😀',
  'mixed',
  'MiXeD',
  'x\u0000',
  'nope',
];
const CATEGORY_LISTS = [['food', 'nope'], ['FOOD'], ['', 'zzz'], ['a%b', '😀'], ['x\u0000', 'work'], ['x\u0000']];
const METADATA_PATHS = [
  'source',
  'score',
  'ratio',
  'flag',
  'off',
  'nothing',
  'numeric_string',
  'when',
  'tags',
  'empty_list',
  'empty_object',
  'empty_string',
  'nested',
  'nested.level',
  'nested.level.deep',
  'nested.level.n',
  'nested.list',
  'nested.list.a',
  'nested.list.0',
  'arr',
  'arr.0',
  '0',
  'missing',
  'big',
  'neg',
  'zero',
  'tiny',
  '__proto__',
  '__proto__.x',
  'constructor',
  'toString',
  'uni',
  's',
  'pattern',
  'q',
];
const METADATA_VALUES = [
  'chat',
  'Chat',
  'CHAT',
  'cha',
  'email',
  'red',
  'RED',
  'Blue',
  'x',
  'X',
  '5',
  '10',
  '42',
  'flat',
  'c',
  'zero',
  '',
  '%',
  '_',
  '100%_',
  'ä',
  'ÄBC',
  'abc',
  'b',
  'ab',
  '😀',
  '\uE000',
  'ﬃ',
  'FFI',
  'ffi',
  'a\u0000',
  'ΣΑΣ',
  'σας',
  'i̇',
  '2024-05-01',
  '2024-05-01T10:00:00Z',
  'true',
  42,
  41.999999,
  42.0000001,
  43,
  0.5,
  1e-7,
  1e21,
  5e-324,
  0,
  -5,
  -0,
  1,
  3,
  5,
  10,
  1e300,
  true,
  false,
];
const METADATA_LISTS = [
  ['chat', 'email'],
  ['CHAT', 42],
  [42, '42'],
  [true, 'true'],
  [5, '5'],
  ['red', 3],
  [1e21, -5],
  ['a\u0000', 'x'],
  [false, 0, ''],
];

function kindOf(field: string): FieldKind {
  return Object.hasOwn(FILTER_FIELDS, field) ? FILTER_FIELDS[field as keyof typeof FILTER_FIELDS] : 'json';
}

function filterField(field: string): FilterField {
  return field.startsWith('metadata.')
    ? { kind: 'metadata', path: field.slice('metadata.'.length).split('.'), type: 'json' }
    : { kind: 'column', name: field as keyof typeof FILTER_FIELDS, type: kindOf(field) };
}

function valuesFor(kind: FieldKind, op: FilterOperator): readonly unknown[] {
  const pools: Record<FieldKind, { scalars: readonly unknown[]; lists: readonly unknown[][] }> = {
    string: { scalars: STRINGS, lists: STRING_LISTS },
    number: { scalars: NUMBERS, lists: NUMBER_LISTS },
    date: { scalars: DATES, lists: DATE_LISTS },
    'string[]': { scalars: CATEGORIES, lists: CATEGORY_LISTS },
    json: { scalars: METADATA_VALUES, lists: METADATA_LISTS },
  };
  const { scalars, lists } = pools[kind];
  switch (op) {
    case 'exists':
      return [true, false];
    case 'eq':
    case 'ne':
      return [null, ...scalars];
    case 'in':
    case 'nin':
      return lists;
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'contains':
    case 'icontains':
      return scalars;
  }
}

/** Every operator valid on every field, with every value of the field's pool the parser accepts. */
function leafFilters(fields: readonly string[]): unknown[] {
  const out: unknown[] = [];
  for (const field of fields) {
    for (const op of operatorsForField(filterField(field))) {
      for (const value of valuesFor(kindOf(field), op)) {
        const input = { [field]: { [op]: value } };
        if (parses(input)) out.push(input);
      }
    }
  }
  return out;
}

const COLUMN_FIELDS = Object.keys(FILTER_FIELDS);
const METADATA_FIELDS = METADATA_PATHS.map((p) => `metadata.${p}`);

const COMPOSITES: unknown[] = [
  { and: [{ user_id: 'alice' }, { importance: { gte: 5 } }] },
  { or: [{ user_id: null }, { 'metadata.source': { icontains: 'CHAT' } }] },
  { not: { user_id: 'alice' } },
  { not: { 'metadata.nested.level.deep': 'x' } },
  { not: { expires_at: { gt: '2024-01-01' } } },
  { not: { accessed_at: { exists: true } } },
  { not: { or: [{ categories: { contains: 'food' } }, { confidence: { lt: 0.5 } }] } },
  { not: { not: { agent_id: { exists: true } } } },
  { user_id: 'alice', 'metadata.score': { gte: 40, lt: 43 }, or: [{ status: 'ready' }, { status: 'pending' }] },
  { and: [{ not: { 'metadata.missing': { exists: true } } }, { 'metadata.tags': { nin: ['red'] } }] },
  {
    or: [
      { and: [{ importance: { gt: 6.5 } }, { not: { content: { icontains: 'ALICE' } } }] },
      { created_at: { lte: '2000-01-01' } },
    ],
  },
  { not: { and: [{ 'metadata.score': { ne: 42 } }, { 'metadata.tags': { icontains: 'blue' } }] } },
  { not: { 'metadata.tags': { contains: 'red' } } },
  { not: { categories: { icontains: 'ÄPFEL' } } },
  { not: { confidence: 0.8 } },
  { not: { 'metadata.q': "'; DROP TABLE memories; --" } },
  // Eight levels: the most the parser allows.
  {
    not: {
      or: [
        { not: { and: [{ not: { or: [{ not: { and: [{ user_id: 'alice' }, { importance: { lte: 7 } }] } }] } }] } },
        { 'metadata.nested.level.n': { gte: 5 } },
      ],
    },
  },
  { and: [{ id: { in: [ID(1), ID(2), ID(3)] } }, { not: { id: ID(2) } }] },
  { or: [{ expires_at: null }, { expires_at: { gt: '2025-01-01' } }] },
];

// ---------------------------------------------------------------------------------------------- properties

const ALPHABET = [
  'a',
  'A',
  'b',
  'x',
  '%',
  '_',
  ' ',
  'ß',
  'ẞ',
  'İ',
  'i',
  'Σ',
  'σ',
  'ς',
  'é',
  'É',
  '😀',
  '\uE000',
  '0',
  '\u0000',
];
const stringArb = fc.oneof(
  fc.constantFrom(...STRINGS, ...CATEGORIES, ...METADATA_VALUES.filter((v) => typeof v === 'string')),
  fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 5 }),
);
const numberArb = fc.oneof(
  fc.constantFrom(...NUMBERS, 42, 41.999999, 43, 1e21, -5),
  fc.integer({ min: -3, max: 12 }),
  fc.double({ min: -50, max: 50, noNaN: true, noDefaultInfinity: true }),
);
const dateArb = fc.oneof(
  fc.constantFrom(...DATES),
  fc.integer({ min: -3e12, max: 3e12 }),
  fc.constantFrom(1_714_557_600_122, 1_714_557_600_123, 1_714_557_600_124),
  fc.date({ min: new Date(-3e12), max: new Date(3e12), noInvalidDate: true }).map((d) => d.toISOString()),
);
const jsonScalarArb = fc.oneof(stringArb, numberArb, fc.boolean());

function scalarArb(kind: FieldKind): fc.Arbitrary<unknown> {
  switch (kind) {
    case 'string':
    case 'string[]':
      return stringArb;
    case 'number':
      return numberArb;
    case 'date':
      return dateArb;
    case 'json':
      return jsonScalarArb;
  }
}

function valueArb(kind: FieldKind, op: FilterOperator): fc.Arbitrary<unknown> {
  switch (op) {
    case 'exists':
      return fc.boolean();
    case 'eq':
    case 'ne':
      return fc.oneof(scalarArb(kind), fc.constant(null));
    case 'in':
    case 'nin':
      return fc.array(scalarArb(kind), { minLength: 1, maxLength: 4 });
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return kind === 'json' ? fc.oneof(stringArb, numberArb) : scalarArb(kind);
    case 'contains':
      return kind === 'json' ? jsonScalarArb : stringArb;
    case 'icontains':
      return stringArb;
  }
}

const leafArb: fc.Arbitrary<unknown> = fc
  .constantFrom(...COLUMN_FIELDS, ...METADATA_FIELDS)
  .chain((field) =>
    fc
      .constantFrom(...operatorsForField(filterField(field)))
      .chain((op) => valueArb(kindOf(field), op).map((value) => ({ [field]: { [op]: value } }))),
  );

const filterArb: fc.Arbitrary<unknown> = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', maxDepth: 5, depthIdentifier: 'filter' },
    leafArb,
    fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((filters) => ({ and: filters })),
    fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((filters) => ({ or: filters })),
    tie('node').map((filter) => ({ not: filter })),
  ),
})).node;

function parses(input: unknown): boolean {
  try {
    parseFilter(input);
    return true;
  } catch {
    return false;
  }
}

async function assertProperty(db: Db, memories: readonly Memory[], numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(filterArb, async (input) => {
      // Generated values are of the field's kind, so nearly all parse; a few nest deeper than the parser allows.
      fc.pre(parses(input));
      expect(await compare(db, memories, [input])).toEqual([]);
    }),
    { numRuns },
  );
}

// ---------------------------------------------------------------------------------------------- SQL text

/** The only literals the compiler writes; everything else a filter holds must be a placeholder. */
const ALLOWED_LITERALS = new Set([
  "'NaN'",
  "'-infinity'",
  "'275760-09-13 00:00:00.001+00'",
  "'null'",
  "'number'",
  "'string'",
  "'array'",
  "'{}'",
  "'milliseconds'",
  "'UTC'",
  '"C"',
  '"und-x-icu"',
]);

function assertOnlyPlaceholders(sql: string): void {
  const literals = sql.match(/'[^']*'|"[^"]*"/g) ?? [];
  for (const literal of literals) {
    expect(ALLOWED_LITERALS.has(literal) ? literal : `unexpected literal ${literal} in ${sql}`).toBe(literal);
  }
  const rest = sql
    .replace(/'[^']*'|"[^"]*"/g, '')
    .replace(/\$\d+/g, '')
    .replace(/float8|SELECT 1 | > 0\b/g, '');
  expect(rest).not.toMatch(/\d/);
  expect(rest).not.toMatch(/--|;|\/\*/);
}

// ---------------------------------------------------------------------------------------------- tests

const ALL_LEAVES = [...leafFilters(COLUMN_FIELDS), ...leafFilters(METADATA_FIELDS)];

describe('SqlParams', () => {
  it('numbers placeholders from startAt and keeps the values in order', () => {
    const params = new SqlParams(3);
    expect(params.add('a')).toBe('$3');
    expect(params.add(['b'])).toBe('$4');
    expect(params.values).toEqual(['a', ['b']]);
    expect(new SqlParams().add(1)).toBe('$1');
    expect(() => new SqlParams(0)).toThrow(RangeError);
  });
});

describe('compileFilter: SQL text', () => {
  it('holds no value: only columns, operators, placeholders and fixed literals', () => {
    expect(ALL_LEAVES.length).toBeGreaterThan(3000);
    for (const input of [...ALL_LEAVES, ...COMPOSITES]) {
      const params = new SqlParams();
      assertOnlyPlaceholders(compileFilter(parseFilter(input), params));
    }
  });

  it('keeps injection attempts in the parameters', () => {
    const evil = "'; DROP TABLE memories; --";
    for (const input of [
      { content: evil },
      { content: { contains: evil } },
      { user_id: { in: [evil, 'x'] } },
      { user_id: { gt: evil } },
      { 'metadata.q': evil },
      { 'metadata.q': { in: [evil, 1] } },
      { 'metadata.q': { icontains: evil } },
      { 'metadata.q': { lt: evil } },
      { categories: { icontains: evil } },
    ]) {
      const params = new SqlParams();
      const sql = compileFilter(parseFilter(input), params);
      expect(sql).not.toContain('DROP');
      expect(JSON.stringify(params.values)).toMatch(/drop table memories/i);
      assertOnlyPlaceholders(sql);
    }
  });

  it('refuses hostile metadata keys in the parser, and binds path keys even when a tree bypasses it', () => {
    for (const key of ["metadata.'; DROP TABLE memories; --", 'metadata.a"b', 'metadata.a b', 'metadata.a->>b']) {
      expect(() => parseFilter({ [key]: 1 })).toThrow(MemoryException);
    }
    const evilKey = "x'); DROP TABLE memories; --";
    const params = new SqlParams();
    const sql = compileFilter(
      {
        kind: 'or',
        filters: (['eq', 'gt', 'contains', 'icontains', 'exists'] as const).map((op) => ({
          kind: 'condition' as const,
          field: { kind: 'metadata' as const, path: [evilKey, 'b'], type: 'json' as const },
          op,
          value: op === 'exists' ? true : op === 'gt' ? 1 : 'v',
        })),
      },
      params,
    );
    expect(sql).not.toContain('DROP');
    assertOnlyPlaceholders(sql);
  });

  it('validates the alias', () => {
    const filter = parseFilter({ user_id: 'alice' });
    expect(compileFilter(filter, new SqlParams(), 'mem_1')).toContain('mem_1.user_id');
    for (const alias of ['m; DROP TABLE memories', 'm.x', '"m"', '', '1m', 'm m', '__filter_el']) {
      expect(() => compileFilter(filter, new SqlParams(), alias)).toThrow(/alias/);
    }
  });

  it('refuses unpaired surrogates, which Postgres cannot hold and the drivers would silently replace', () => {
    for (const input of [{ content: { contains: '\uD83D' } }, { 'metadata.a': { in: ['x', '\uDE00y'] } }]) {
      let error: unknown;
      try {
        compileFilter(parseFilter(input), new SqlParams());
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(MemoryException);
      expect((error as MemoryException).code).toBe(MemoryExceptionCode.INVALID_FILTER);
    }
    // A well-formed pair is fine.
    expect(() => compileFilter(parseFilter({ content: { contains: '😀' } }), new SqlParams())).not.toThrow();
  });

  it('writes the index-friendly forms for the common conditions', () => {
    const sqlOf = (input: unknown): string => compileFilter(parseFilter(input), new SqlParams());
    expect(sqlOf({ user_id: 'alice' })).toBe('(m.user_id IS NOT NULL AND m.user_id = $1::text)');
    expect(sqlOf({ importance: { gte: 5 } })).toBe('(m.importance IS NOT NULL AND m.importance >= $1::bigint)');
    expect(sqlOf({ categories: { contains: 'food' } })).toBe(
      '(m.categories IS NOT NULL AND m.categories @> ARRAY[$1::text])',
    );
    expect(sqlOf({ 'metadata.a.b': 'x' })).toBe('(m.metadata IS NOT NULL AND m.metadata @> $1::jsonb)');
    const params = new SqlParams();
    compileFilter(parseFilter({ 'metadata.a.b': 'x' }), params);
    expect(params.values).toEqual(['{"a":{"b":"x"}}']);
  });
});

/** Both databases run the same suite. */
interface Opened {
  db: Db;
  close: () => Promise<void>;
  /** The server connection, for EXPLAIN (postgres only). */
  client?: pg.Client;
}

function databaseSuite(name: Db['name'], open: () => Promise<Opened>): void {
  describe(`compileFilter agrees with matchesFilter on ${name}`, () => {
    let db: Db;
    let client: pg.Client | undefined;
    let close: () => Promise<void> = async () => undefined;
    let memories: Memory[];

    beforeAll(async () => {
      ({ db, close, client } = await open());
      memories = await createSchema(db);
    }, 60_000);

    afterAll(async () => {
      await close();
    }, 60_000);

    it('loads the fixtures', () => {
      expect(memories.length).toBe(FIXTURES.filter((f) => name === 'postgres' || !f.pgOnly).length);
    });

    it.each([
      ['string columns', ['id', 'user_id', 'agent_id', 'run_id', 'namespace', 'content', 'memory_type', 'status']],
      ['number columns', ['importance', 'confidence', 'access_count']],
      ['date columns', ['created_at', 'updated_at', 'accessed_at', 'expires_at']],
      ['categories', ['categories']],
      ['metadata', METADATA_FIELDS],
    ])(
      'every operator and value on the %s',
      async (_label, fields) => {
        const inputs = leafFilters(fields as string[]);
        expect(inputs.length).toBeGreaterThan(0);
        expect(await compare(db, memories, inputs)).toEqual([]);
      },
      120_000,
    );

    it('and / or / not, nested', async () => {
      expect(await compare(db, memories, COMPOSITES)).toEqual([]);
    });

    it('every leaf negated', async () => {
      const sample = ALL_LEAVES.filter((_, i) => i % 7 === 0).map((leaf) => ({ not: leaf }));
      expect(await compare(db, memories, sample)).toEqual([]);
    });

    it('random filters (fast-check)', async () => {
      // FILTER_PROPERTY_RUNS raises the count for a longer hunt.
      const runs = Number(process.env.FILTER_PROPERTY_RUNS) || (name === 'postgres' ? 400 : 150);
      await assertProperty(db, memories, runs);
    }, 180_000);

    it('leaves the table in place after injection attempts', async () => {
      const evil = "'; DROP TABLE memories; --";
      const params = new SqlParams();
      const sql = compileFilter(parseFilter({ or: [{ content: evil }, { 'metadata.q': { contains: evil } }] }), params);
      const rows = await db.query(`SELECT id::text AS id FROM memories m WHERE ${sql}`, params.values);
      expect(rows.map((r) => r.id)).toEqual([ID(28)]);
      expect(await db.query('SELECT count(*)::int AS n FROM memories')).toEqual([{ n: memories.length }]);
    });

    if (name === 'postgres') {
      it('serves the common conditions from btree and GIN indexes', async () => {
        const server = client!;
        await server.query('CREATE INDEX ix_user ON memories (user_id)');
        await server.query('CREATE INDEX ix_importance ON memories (importance)');
        await server.query('CREATE INDEX ix_created ON memories (created_at)');
        await server.query('CREATE INDEX ix_categories ON memories USING gin (categories)');
        await server.query('CREATE INDEX ix_metadata ON memories USING gin (metadata jsonb_path_ops)');
        await server.query('ANALYZE memories');
        const explain = async (input: unknown): Promise<string> => {
          const params = new SqlParams();
          const sql = compileFilter(parseFilter(input), params);
          await server.query('BEGIN');
          try {
            await server.query('SET LOCAL enable_seqscan = off');
            const result = await server.query(`EXPLAIN SELECT id FROM memories m WHERE ${sql}`, params.values);
            return result.rows.map((r: Row) => r['QUERY PLAN']).join('\n');
          } finally {
            await server.query('ROLLBACK');
          }
        };
        const cases: [unknown, string][] = [
          [{ user_id: 'alice' }, 'ix_user'],
          [{ user_id: { in: ['alice', 'bob'] } }, 'ix_user'],
          [{ importance: { gte: 5 } }, 'ix_importance'],
          [{ importance: { gt: 6.5, lte: 9 } }, 'ix_importance'],
          [{ created_at: { gte: '2024-01-01' } }, 'ix_created'],
          [{ created_at: '2024-05-01T10:00:00.123Z' }, 'ix_created'],
          [{ categories: 'food' }, 'ix_categories'],
          [{ categories: { in: ['food', 'work'] } }, 'ix_categories'],
          [{ 'metadata.source': 'chat' }, 'ix_metadata'],
          [{ 'metadata.nested.level.deep': 'x' }, 'ix_metadata'],
          [{ 'metadata.tags': { contains: 3 } }, 'ix_metadata'],
          [{ 'metadata.source': { in: ['chat', 'email'] } }, 'ix_metadata'],
          [{ and: [{ user_id: 'alice' }, { 'metadata.flag': true }] }, 'ix_'],
        ];
        for (const [input, index] of cases) {
          const plan = await explain(input);
          expect(plan.includes(index) ? index : `${json(input)} → ${plan}`).toBe(index);
        }
      });
    }
  });
}

databaseSuite('postgres', async () => {
  const { db, client, drop } = await openPostgres();
  return { db, close: drop, client };
});

databaseSuite('pglite', async () => openPglite());
