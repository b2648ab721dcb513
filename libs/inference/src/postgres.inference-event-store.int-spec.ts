import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresMemoryProvider } from '@engram/memory-postgres';
import { createScratchDatabase } from '@engram/testing';
import { describeInferenceEventStoreContract } from '../test/inference-event-store.contract.js';
import { PostgresInferenceEventStore } from './postgres.inference-event-store.js';

const DIMENSIONS = 64;

// A scratch database: the sweep of interrupted events crosses tenants, and must not touch other suites' events.
describeInferenceEventStoreContract('Postgres, as the app role', async () => {
  const scratch = await createScratchDatabase();
  const provider = await createPostgresMemoryProvider({ databaseUrl: scratch.url, embedderDimensions: DIMENSIONS });
  return {
    store: new PostgresInferenceEventStore(provider.sqlExecutor),
    teardown: async () => {
      await provider.close();
      await scratch.drop();
    },
  };
});

describeInferenceEventStoreContract('PGlite', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'engram-pglite-events-'));
  const provider = await createPostgresMemoryProvider({ dataDir, embedderDimensions: DIMENSIONS });
  return {
    store: new PostgresInferenceEventStore(provider.sqlExecutor),
    teardown: async () => {
      await provider.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
