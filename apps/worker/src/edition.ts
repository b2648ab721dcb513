import type { EngramConfig } from '@engram/config';
import { chooseEdition, type Edition } from '@engram/runtime';

/** The only door to `ee/` for the worker: the configured edition, without HTTP routes. */
export function loadEdition(config: EngramConfig): Promise<Edition> {
  return chooseEdition(config, () => import('@engram/cloud'), { http: false });
}
