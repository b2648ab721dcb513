import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BagOfWordsEmbedder, describeMemoryProviderContract } from '@engram/memory-core/testing';
import { testDatabaseUrl } from '@engram/testing';
import { createPostgresMemoryProvider } from './postgres-memory.factory.js';

const embedder = new BagOfWordsEmbedder();

describeMemoryProviderContract('PostgresMemoryProvider on PostgreSQL, as the app role', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'engram-pg-contract-'));
  const provider = await createPostgresMemoryProvider({
    databaseUrl: testDatabaseUrl(),
    dataDir,
    embedderDimensions: embedder.dimensions,
  });
  return {
    provider,
    embedder,
    teardown: async () => {
      await provider.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});

describeMemoryProviderContract('PostgresMemoryProvider on PGlite', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'engram-pglite-contract-'));
  const provider = await createPostgresMemoryProvider({ dataDir, embedderDimensions: embedder.dimensions });
  return {
    provider,
    embedder,
    teardown: async () => {
      await provider.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
