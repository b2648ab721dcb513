import { join } from 'node:path';
import type { EngramConfig } from '@engram/config';
import { ConfigException } from '@engram/config';
import { LocalMemoryProvider, OSS_TENANT_ID, type Clock, type MemoryProvider } from '@engram/memory-core';
import { createHttpMemoryProvider } from '@engram/memory-http';
import { createPostgresMemoryProvider, type SqlInstrumentation } from '@engram/memory-postgres';

export interface MemoryProviderDependencies {
  clock: Clock;
  /** The configured embedder's dimension: the Postgres backend builds its vector index for it at boot. */
  embedderDimensions: number;
  /** Spans and pool metrics of the Postgres backend's request pool (`@engram/telemetry`, when the app has it). */
  sqlInstrumentation?: SqlInstrumentation;
}

/**
 * Picks the memory backend from configuration: the one place that knows every provider.
 * `postgres` is server PostgreSQL when DATABASE_URL is set, else the embedded PostgreSQL (PGlite) in DATA_DIR.
 */
export async function createMemoryProvider(
  config: EngramConfig,
  { clock, embedderDimensions, sqlInstrumentation }: MemoryProviderDependencies,
): Promise<MemoryProvider> {
  switch (config.memoryProvider) {
    case 'local':
      return LocalMemoryProvider.open({ dataDir: join(config.dataDir, 'local'), clock });
    case 'postgres':
      return createPostgresMemoryProvider({
        databaseUrl: config.databaseUrl?.reveal(),
        databaseAppUrl: config.databaseAppUrl?.reveal(),
        dataDir: config.dataDir,
        embedderDimensions,
        clock,
        instrumentation: sqlInstrumentation,
        scopeIndex: { maxBytes: config.scopeCache.maxBytes, minRows: config.scopeCache.minMemories },
        vectorIndex: config.vectorIndex,
      });
    case 'http': {
      // The configuration refuses MEMORY_PROVIDER=http without these; checked again for the type's sake.
      const remote = config.memoryHttp;
      if (!remote) throw new ConfigException('invalid configuration: MEMORY_PROVIDER=http needs MEMORY_HTTP_URL');
      // One organisation, one remote key: the OSS tenant's memories live in the remote key's tenant. The dialect
      // (another Engram's native API, or mem0's) follows from the URL: a mem0 root ends in /mem0.
      return createHttpMemoryProvider({
        baseUrl: remote.url,
        timeoutMs: remote.timeoutMs,
        retries: remote.retries,
        tenants: new Map([
          [
            OSS_TENANT_ID,
            { apiKey: remote.apiKey?.reveal(), signingSecret: remote.signingSecret?.reveal(), keyId: remote.keyId },
          ],
        ]),
      });
    }
  }
}
