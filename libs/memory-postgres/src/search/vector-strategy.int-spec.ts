import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OSS_TENANT_ID, parseFilter, type MemoryScope, type SearchQuery } from '@engram/memory-core';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';
import { openPostgresMemoryDatabase } from '../postgres-memory.factory.js';
import { PostgresMemoryProvider } from '../postgres.memory-provider.js';
import { PgSqlExecutor } from '../sql/pg.sql-executor.js';
import type { SqlExecutor } from '../sql/sql-executor.js';
import { vectorIndexName } from '../schema/vector-index.js';

/**
 * The vector leg's strategy, per scope size, on both engines: HNSW (with iterative scan) for a large scope, an
 * exact scan for a small one. Small numbers keep it fast: 8 dimensions, a crossover of 100 memories.
 */
const DIMENSIONS = 8;
const MODEL = 'test-model-8';
const CROSSOVER = 100;
const LARGE = { size: 600, scope: { tenantId: OSS_TENANT_ID, userId: 'large' } satisfies MemoryScope };
const SMALL = { size: 30, scope: { tenantId: OSS_TENANT_ID, userId: 'small' } satisfies MemoryScope };
const OTHERS = 1_500;
const SHARDS = 10;

interface Backend {
  /** The connection the provider uses. */
  sql: SqlExecutor;
  /** The owner's, for loading data and statistics. */
  owner: SqlExecutor;
  hnswDimensions: number[];
  close(): Promise<void>;
}

async function serverBackend(): Promise<Backend> {
  const database: ScratchDatabase = await createScratchDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'engram-strategy-'));
  const { sql, hnswDimensions } = await openPostgresMemoryDatabase({
    databaseUrl: database.url,
    dataDir,
    embedderDimensions: DIMENSIONS,
  });
  const owner = new PgSqlExecutor({ connectionString: database.url, max: 1 });
  return {
    sql,
    owner,
    hnswDimensions,
    close: async () => {
      await sql.close();
      await owner.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function pgliteBackend(): Promise<Backend> {
  const dataDir = await mkdtemp(join(tmpdir(), 'engram-strategy-pglite-'));
  const { sql, hnswDimensions } = await openPostgresMemoryDatabase({ dataDir, embedderDimensions: DIMENSIONS });
  return {
    sql,
    owner: sql,
    hnswDimensions,
    close: async () => {
      await sql.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Random vectors for three owners; metadata.shard splits every owner's memories in ten. */
async function load(owner: SqlExecutor): Promise<void> {
  await owner.query(
    `INSERT INTO memories (tenant_id, id, user_id, namespace, content, memory_type, importance, confidence, metadata,
       status, content_hash, created_at, updated_at, embedding, embedding_model, embedding_dimensions)
     SELECT $1::uuid, gen_random_uuid(),
       CASE WHEN g <= $2::int THEN 'large' WHEN g <= $2::int + $3::int THEN 'small' ELSE 'other-' || (g % 20) END,
       'default', 'note number ' || g, 'fact', 5, 1, jsonb_build_object('shard', g % ${SHARDS}), 'ready', 'h',
       now(), now(),
       (SELECT array_agg(random() - 0.5)::vector FROM generate_series(1, ${DIMENSIONS} + 0 * g) d), $4::text, ${DIMENSIONS}
     FROM generate_series(1, $2::int + $3::int + $5::int) g`,
    [OSS_TENANT_ID, LARGE.size, SMALL.size, MODEL, OTHERS],
  );
  await owner.query('ANALYZE memories');
}

function query(extra: Partial<SearchQuery> = {}): SearchQuery {
  const vector = Array.from({ length: DIMENSIONS }, (_, i) => Math.sin(i + 1));
  return { text: 'note', mode: 'vector', limit: 10, embedding: { vector, model: MODEL }, ...extra };
}

describe.each([
  ['PostgreSQL', serverBackend],
  ['PGlite', pgliteBackend],
])('the vector leg on %s', (_, open) => {
  let backend: Backend;
  let sut: PostgresMemoryProvider;
  /** Always scans exactly: the reference for what HNSW should find. */
  let exact: PostgresMemoryProvider;

  beforeAll(async () => {
    backend = await open();
    await load(backend.owner);
    sut = new PostgresMemoryProvider(backend.sql, {
      hnswDimensions: backend.hnswDimensions,
      exactScanMaxRows: CROSSOVER,
    });
    exact = new PostgresMemoryProvider(backend.sql, { hnswDimensions: [], exactScanMaxRows: CROSSOVER });
  }, 60_000);

  afterAll(async () => {
    await backend.close();
  });

  it.each(['vector', 'hybrid'] as const)(
    'should walk the HNSW index for a scope above the crossover (%s)',
    async (mode) => {
      const { strategy, plan } = await sut.explainSearch(LARGE.scope, query({ mode }));
      expect(strategy).toBe('hnsw');
      expect(plan).toContain(vectorIndexName(DIMENSIONS));
    },
  );

  it.each(['vector', 'hybrid'] as const)('should scan exactly, without HNSW, a scope below it (%s)', async (mode) => {
    const { strategy, plan } = await sut.explainSearch(SMALL.scope, query({ mode }));
    expect(strategy).toBe('exact');
    expect(plan).not.toMatch(/hnsw/i);
  });

  it('should scan exactly a dimension that has no HNSW index, whatever the scope', async () => {
    const vector = Array.from({ length: DIMENSIONS * 2 }, () => 1);
    const { strategy, plan } = await sut.explainSearch(LARGE.scope, query({ embedding: { vector, model: MODEL } }));
    expect(strategy).toBe('exact');
    expect(plan).not.toMatch(/hnsw/i);
  });

  it('should fill the whole limit through a selective filter (iterative scan) and agree with the exact scan', async () => {
    // One shard of the large scope: 60 of the table's 2,130 rows pass scope and filter.
    const filtered = query({ limit: 20, filter: parseFilter({ 'metadata.shard': 3 }) });
    const approximate = await sut.search(LARGE.scope, filtered);
    const reference = await exact.search(LARGE.scope, filtered);

    expect(approximate).toHaveLength(20);
    expect(approximate.every((result) => result.memory.metadata.shard === 3)).toBe(true);
    const expected = new Set(reference.map((result) => result.memory.id));
    const found = approximate.filter((result) => expected.has(result.memory.id)).length;
    expect(found).toBeGreaterThanOrEqual(18);
  });

  it('should run a hybrid search, feedback pass included, through the HNSW index', async () => {
    const results = await sut.search(LARGE.scope, query({ mode: 'hybrid' }));
    expect(results).toHaveLength(10);
    const scores = results.map((result) => result.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    for (const score of scores) expect(score).toBeGreaterThanOrEqual(0);
    for (const score of scores) expect(score).toBeLessThanOrEqual(1);
  });

  it('should return the same best match by either strategy', async () => {
    const [viaHnsw] = await sut.search(LARGE.scope, query());
    const [viaExact] = await exact.search(LARGE.scope, query());
    expect(viaHnsw.memory.id).toBe(viaExact.memory.id);
    expect(viaHnsw.score).toBeCloseTo(viaExact.score, 6);
  });
});
