import { join } from 'node:path';
import type { EngramConfig } from '@engram/config';
import { ConfigException } from '@engram/config';
import { LocalMemoryProvider, type Clock, type MemoryProvider } from '@engram/memory-core';

/**
 * Picks the memory backend from configuration: the one place that knows every provider.
 * `postgres` without DATABASE_URL is the embedded default.
 */
export async function createMemoryProvider(config: EngramConfig, clock: Clock): Promise<MemoryProvider> {
  switch (config.memoryProvider) {
    case 'local':
      return LocalMemoryProvider.open({ dataDir: join(config.dataDir, 'local'), clock });
    case 'postgres':
      if (config.databaseUrl) {
        throw new ConfigException('invalid configuration: DATABASE_URL is not supported by this build yet; unset it to use the embedded store');
      }
      return LocalMemoryProvider.open({ dataDir: join(config.dataDir, 'local'), clock });
    case 'http':
      throw new ConfigException('invalid configuration: MEMORY_PROVIDER=http is not supported by this build yet');
  }
}
