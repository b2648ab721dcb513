import type { EngramConfig } from '@engram/config';
import { chooseEdition, type Edition } from '@engram/runtime';

/** The only door to `ee/`: the configured edition, with the cloud's routes when it is the cloud. */
export function loadEdition(config: EngramConfig): Promise<Edition> {
  return chooseEdition(config, () => import('@engram/cloud'), { http: true });
}
