import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BagOfWordsEmbedder, describeMemoryProviderContract } from '@engram/memory-core/testing';
import { testDatabaseUrl } from '@engram/testing';
import { createPostgresMemoryProvider, type PostgresMemoryOptions } from './postgres-memory.factory.js';

const embedder = new BagOfWordsEmbedder();

/** The provider on a database of its own kind (server when `databaseUrl` is given, else PGlite) and a data dir. */
async function provider(prefix: string, options: Partial<PostgresMemoryOptions>) {
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  const created = await createPostgresMemoryProvider({ dataDir, embedderDimensions: embedder.dimensions, ...options });
  return {
    provider: created,
    embedder,
    teardown: async () => {
      await created.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

describeMemoryProviderContract('PostgresMemoryProvider on PostgreSQL, as the app role', () =>
  provider('engram-pg-contract-', { databaseUrl: testDatabaseUrl() }),
);

describeMemoryProviderContract('PostgresMemoryProvider on PostgreSQL, every search from a scope copy', () =>
  provider('engram-pg-copy-contract-', {
    databaseUrl: testDatabaseUrl(),
    scopeIndex: { minRows: 0, minReloadIntervalMs: 0, loadBeforeSearch: true },
  }),
);

describeMemoryProviderContract('PostgresMemoryProvider on PGlite', () => provider('engram-pglite-contract-', {}));
