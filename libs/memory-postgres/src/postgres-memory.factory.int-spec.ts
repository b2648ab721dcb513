import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';
import { openPostgresMemoryDatabase } from './postgres-memory.factory.js';
import { PgSqlExecutor } from './sql/pg.sql-executor.js';

describe('openPostgresMemoryDatabase, the vector index', () => {
  let database: ScratchDatabase | undefined;
  let dataDir: string | undefined;

  afterEach(async () => {
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    database = undefined;
    dataDir = undefined;
  });

  async function open(vectorIndex?: 'hnsw' | 'none') {
    database = await createScratchDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'engram-vector-index-'));
    const opened = await openPostgresMemoryDatabase({
      databaseUrl: database.url,
      dataDir,
      embedderDimensions: 8,
      vectorIndex,
    });
    const owner = new PgSqlExecutor({ connectionString: database.url, max: 1 });
    const indexes = await owner.query<{ indexname: string }>(
      `SELECT indexname FROM pg_indexes WHERE tablename = 'memories' AND indexdef ILIKE '%USING hnsw%'`,
    );
    await owner.close();
    await opened.sql.close();
    return { hnswDimensions: opened.hnswDimensions, indexes: indexes.map((row) => row.indexname) };
  }

  it("should build the embedder's HNSW index at boot by default", async () => {
    const { hnswDimensions, indexes } = await open();
    expect(hnswDimensions).toEqual([8]);
    expect(indexes).toHaveLength(1);
  });

  it('should build none with VECTOR_INDEX=none, so that searches scan exactly', async () => {
    const { hnswDimensions, indexes } = await open('none');
    expect(hnswDimensions).toEqual([]);
    expect(indexes).toEqual([]);
  });
});
