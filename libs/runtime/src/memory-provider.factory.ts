import { join } from 'node:path';
import type { EngramConfig } from '@engram/config';
import { ConfigException } from '@engram/config';
import { LocalMemoryProvider, type Clock, type MemoryProvider } from '@engram/memory-core';
import { createPostgresMemoryProvider } from '@engram/memory-postgres';

export interface MemoryProviderDependencies {
  clock: Clock;
  /** The configured embedder's dimension: the Postgres backend builds its vector index for it at boot. */
  embedderDimensions: number;
}

/**
 * Picks the memory backend from configuration: the one place that knows every provider.
 * `postgres` is server PostgreSQL when DATABASE_URL is set, else the embedded PostgreSQL (PGlite) in DATA_DIR.
 */
export async function createMemoryProvider(
  config: EngramConfig,
  { clock, embedderDimensions }: MemoryProviderDependencies,
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
      });
    case 'http':
      throw new ConfigException('invalid configuration: MEMORY_PROVIDER=http is not supported by this build yet');
  }
}
