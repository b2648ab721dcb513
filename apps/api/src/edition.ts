import type { DynamicModule } from '@nestjs/common';
import { ConfigException, type EngramConfig } from '@engram/config';

/**
 * The only door to `ee/`: the modules of the configured edition, imported after the runtime so
 * that they can rebind its extension points. The OSS edition adds nothing.
 */
export async function editionModules(config: EngramConfig): Promise<DynamicModule[]> {
  switch (config.edition) {
    case 'oss':
      return [];
    case 'cloud':
      throw new ConfigException('invalid configuration: EDITION=cloud needs the cloud edition, which this build does not include');
  }
}
