import type { DynamicModule } from '@nestjs/common';
import { ConfigException, type EngramConfig } from '@engram/config';

/** The only door to `ee/` for the worker: the configured edition's modules. The OSS edition adds nothing. */
export async function editionModules(config: EngramConfig): Promise<DynamicModule[]> {
  switch (config.edition) {
    case 'oss':
      return [];
    case 'cloud':
      throw new ConfigException('invalid configuration: EDITION=cloud needs the cloud edition, which this build does not include');
  }
}
