import type { DynamicModule, Provider } from '@nestjs/common';
import { ConfigException, type EngramConfig } from '@engram/config';

/**
 * What an edition adds to the runtime: `extensions` rebind extension-point tokens (they are registered after the
 * OSS defaults in the runtime module, so they replace them everywhere, and may inject anything the runtime
 * provides); `modules` bring the edition's own routes and services. The OSS edition adds nothing.
 */
export interface Edition {
  readonly extensions: readonly Provider[];
  readonly modules: readonly DynamicModule[];
}

export const OSS_EDITION: Edition = { extensions: [], modules: [] };

/** What the cloud edition's package offers the apps. */
export interface CloudEditionPackage {
  cloudEdition(config: EngramConfig, options: { http: boolean }): Edition;
}

/**
 * The configured edition. The cloud's package is loaded only when asked for (`loadCloud`, the app's own dynamic
 * import, so that `ee/` stays behind each app's `edition.ts`): a build without `ee/` runs the OSS edition
 * unchanged, and refuses `EDITION=cloud` with one clear line.
 */
export async function chooseEdition(
  config: EngramConfig,
  loadCloud: () => Promise<CloudEditionPackage>,
  options: { http: boolean },
): Promise<Edition> {
  switch (config.edition) {
    case 'oss':
      return OSS_EDITION;
    case 'cloud': {
      let cloud: CloudEditionPackage;
      try {
        cloud = await loadCloud();
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
        throw new ConfigException(
          'invalid configuration: EDITION=cloud needs the cloud edition, which this build does not include',
        );
      }
      return cloud.cloudEdition(config, options);
    }
  }
}
