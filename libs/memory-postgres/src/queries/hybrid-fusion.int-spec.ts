import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fuseHybrid, newId } from '@engram/memory-core';
import { testDatabaseUrl } from '@engram/testing';
import { SqlParams } from '../filters/sql-params.js';
import { PgSqlExecutor } from '../sql/pg.sql-executor.js';
import { PgliteSqlExecutor } from '../sql/pglite.sql-executor.js';
import type { SqlExecutor } from '../sql/sql-executor.js';
import { hybridFusion } from './search.queries.js';

/** One candidate's signals, as the search statement's `signals` CTE holds them. */
interface Signal {
  id: string;
  kw: number | null;
  cos: number | null;
  spk: boolean;
  emb: number[] | null;
}

const DIMENSIONS = 8;

/** A small deterministic generator: the same candidates on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

/**
 * Candidates with every case the fusion distinguishes: keyword only (no vector yet), vector only, both, the
 * speaker signal, a zero vector, and ties. Values are multiples of 1/16 so that float4 vectors hold them exactly.
 */
function candidates(seed: number, count: number): Signal[] {
  const next = random(seed);
  const step = (max: number) => Math.round(next() * max * 16) / 16;
  return Array.from({ length: count }, (_, i): Signal => {
    const kind = i % 5;
    const emb =
      kind === 0
        ? null
        : i === 7
          ? new Array<number>(DIMENSIONS).fill(0)
          : Array.from({ length: DIMENSIONS }, () => step(2) - 1);
    return {
      id: newId(),
      kw: kind === 1 ? null : next() < 0.3 ? null : step(12) + 1 / 16,
      cos: emb === null ? null : i === 7 ? 0 : step(1),
      spk: next() < 0.4,
      emb,
    };
  }).filter((signal) => signal.kw !== null || signal.cos !== null);
}

describe.each([
  ['PostgreSQL', async (): Promise<SqlExecutor> => new PgSqlExecutor({ connectionString: testDatabaseUrl(), max: 1 })],
  ['PGlite', (): Promise<SqlExecutor> => PgliteSqlExecutor.open()],
])('the hybrid fusion in SQL on %s', (_, open) => {
  let sql: SqlExecutor;

  beforeAll(async () => {
    sql = await open();
    await sql.query('CREATE EXTENSION IF NOT EXISTS vector');
  });

  afterAll(async () => {
    await sql.close();
  });

  it.each([1, 2, 3, 4, 5])('should score every candidate as fuseHybrid does (candidates #%i)', async (seed) => {
    const signals = candidates(seed, 40);
    const p = new SqlParams();
    const rows = p.add(JSON.stringify(signals.map((s) => ({ ...s, emb: s.emb && `[${s.emb.join(',')}]` }))));
    const ctes = hybridFusion(p);
    const result = await sql.query<{ id: string; relevance: number }>(
      `WITH signals AS MATERIALIZED (
        SELECT id, 5::smallint AS importance, now() AS created_at, kw, cos, spk, emb::vector(${DIMENSIONS}) AS emb
        FROM jsonb_to_recordset(${rows}::text::jsonb) AS x(id uuid, kw float8, cos float8, spk boolean, emb text)
      ), ${ctes.join(',\n')}
      SELECT id::text AS id, relevance FROM relevance`,
      p.values,
    );

    const expected = fuseHybrid(
      {
        keyword: new Map(signals.flatMap((s) => (s.kw === null ? [] : [[s.id, s.kw] as const]))),
        vector: new Map(signals.flatMap((s) => (s.cos === null ? [] : [[s.id, s.cos] as const]))),
        speaker: new Set(signals.filter((s) => s.spk).map((s) => s.id)),
        vectors: new Map(signals.flatMap((s) => (s.emb === null ? [] : [[s.id, s.emb] as const]))),
      },
      10,
    );
    expect(result).toHaveLength(expected.size);
    for (const row of result) expect(Number(row.relevance)).toBeCloseTo(expected.get(row.id) ?? Number.NaN, 6);
  });
});
