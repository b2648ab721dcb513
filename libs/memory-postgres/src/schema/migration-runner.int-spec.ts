import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { OSS_TENANT_ID, type MemoryScope } from '@engram/memory-core';
import { BagOfWordsEmbedder } from '@engram/memory-core/testing';
import { createScratchDatabase, testDatabaseUrl, type ScratchDatabase } from '@engram/testing';
import { createPostgresMemoryProvider, PGLITE_DIRECTORY } from '../postgres-memory.factory.js';
import { PgSqlExecutor } from '../sql/pg.sql-executor.js';
import { PgliteSqlExecutor } from '../sql/pglite.sql-executor.js';
import { MEMORY_MIGRATIONS } from './memory-migrations.js';
import { appliedMigrations, runMigrations } from './migration-runner.js';
import { ensureVectorIndex, HNSW_MAX_DIMENSIONS, indexedVectorDimensions } from './vector-index.js';

const ALL = MEMORY_MIGRATIONS.map((migration) => migration.name);

describe('runMigrations', () => {
  it('should find nothing left to do on the migrated test database, however often it runs', async () => {
    const owner = new PgSqlExecutor({ connectionString: testDatabaseUrl(), max: 1 });
    try {
      expect(await runMigrations(owner)).toEqual([]);
      expect(await runMigrations(owner)).toEqual([]);
      expect(await appliedMigrations(owner)).toEqual(ALL);
    } finally {
      await owner.close();
    }
  });

  describe('on a fresh server database', () => {
    let database: ScratchDatabase;
    const executors: PgSqlExecutor[] = [];
    const owner = (): PgSqlExecutor => {
      const executor = new PgSqlExecutor({ connectionString: database.url, max: 2 });
      executors.push(executor);
      return executor;
    };

    beforeEach(async () => {
      database = await createScratchDatabase();
    });

    afterEach(async () => {
      await Promise.all(executors.splice(0).map((executor) => executor.close()));
      await database.drop();
    });

    it('should apply every migration exactly once when two processes boot together', async () => {
      const [first, second] = await Promise.all([runMigrations(owner()), runMigrations(owner())]);

      expect([...first, ...second].sort()).toEqual([...ALL].sort());
      const rows = await owner().query<{ name: string }>('SELECT name FROM migrations ORDER BY id');
      expect(rows.map((row) => row.name)).toEqual(ALL);
      const tables = await owner().query<{ name: string | null }>(
        `SELECT to_regclass('memories')::text AS name UNION ALL SELECT to_regclass('memory_history')::text`,
      );
      expect(tables.map((table) => table.name)).toEqual(['memories', 'memory_history']);
    });

    it("should create a dimension's HNSW index once, even when two processes ask together", async () => {
      await runMigrations(owner());
      const results = await Promise.all([ensureVectorIndex(owner(), 384), ensureVectorIndex(owner(), 384)]);
      expect(results).toEqual([true, true]);
      expect(await ensureVectorIndex(owner(), 64)).toBe(true);
      // Beyond pgvector's HNSW limit: no index, search scans exactly.
      expect(await ensureVectorIndex(owner(), HNSW_MAX_DIMENSIONS + 1)).toBe(false);
      expect(await indexedVectorDimensions(owner())).toEqual([64, 384]);
    });

    it('should undo a migration with its down and apply it again', async () => {
      const executor = owner();
      await runMigrations(executor);
      const [latest] = [...MEMORY_MIGRATIONS].reverse();
      await executor.transaction(async (tx) => {
        await latest.down({ query: (sql, parameters) => tx.query(sql, parameters) });
        await tx.query('DELETE FROM migrations WHERE name = $1', [latest.name]);
      });
      expect(await appliedMigrations(executor)).not.toContain(latest.name);

      expect(await runMigrations(executor)).toEqual([latest.name]);
      expect(await appliedMigrations(executor)).toEqual(ALL);
    });
  });

  describe('on PGlite', () => {
    let dataDir: string;
    const embedder = new BagOfWordsEmbedder();
    const scope: MemoryScope = { tenantId: OSS_TENANT_ID, userId: 'alice' };

    beforeEach(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'engram-pglite-migrations-'));
    });

    afterEach(async () => {
      await rm(dataDir, { recursive: true, force: true });
    });

    it('should keep the schema and every memory across close and reopen', async () => {
      const first = await createPostgresMemoryProvider({ dataDir, embedderDimensions: embedder.dimensions });
      const memory = await first.add(scope, { content: 'Keeps bees on the roof', metadata: { hives: 2 } });
      const [vector] = await embedder.embed([memory.content]);
      await first.setEmbedding(scope, memory.id, {
        vector,
        model: embedder.model,
        dimensions: vector.length,
        contentHash: memory.contentHash,
      });
      await first.update(scope, memory.id, { importance: 8 }, 'user:alice');
      const before = await first.get(scope, memory.id);
      await first.close();

      const reopened = await PgliteSqlExecutor.open(join(dataDir, PGLITE_DIRECTORY));
      try {
        expect(await runMigrations(reopened)).toEqual([]);
        expect(await appliedMigrations(reopened)).toEqual(ALL);
      } finally {
        await reopened.close();
      }

      const second = await createPostgresMemoryProvider({ dataDir, embedderDimensions: embedder.dimensions });
      try {
        expect(await second.get(scope, memory.id)).toEqual(before);
        expect((await second.history(scope, memory.id)).map((row) => row.op)).toEqual(['ADD', 'UPDATE']);
        const [query] = await embedder.embed(['bees roof']);
        const found = await second.search(scope, {
          text: 'bees',
          mode: 'hybrid',
          limit: 5,
          embedding: { vector: query, model: embedder.model },
        });
        expect(found.map((result) => result.memory.id)).toEqual([memory.id]);
      } finally {
        await second.close();
      }
    });
  });
});
