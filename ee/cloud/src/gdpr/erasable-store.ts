/* @license Enterprise */
import type { KeyValueProvider } from '@engram/memory-core';
import type { ErasureTarget } from './erasure.js';

/**
 * A store that keeps data of data subjects besides the memories and their history: the key-value memory store
 * (`keyValueErasableStore`). The edition lists them (ERASABLE_STORES); an erase runs each as a step of its own,
 * `kv:<name>`, and sums them into the receipt's `kv`. A store added later is erased by the next request for a
 * subject; an erase that is already finished does not learn of it.
 */
export interface ErasableStore {
  /** Unique among the stores and stable across releases: an unfinished erase resumes by it. */
  readonly name: string;
  /** Deletes every entry of the target (the subject's `user_id` in its tenant, or the whole tenant); how many. */
  erase(target: ErasureTarget): Promise<number>;
}

/**
 * The key-value memory as an erasable store, step `kv:entries`: a subject's erase deletes the tenant's entries whose
 * `userId` is theirs, a whole tenant's clears the tenant. Both are idempotent, so a resumed step may run again.
 */
export function keyValueErasableStore(kv: KeyValueProvider): ErasableStore {
  return {
    name: 'entries',
    erase: (target) =>
      target.kind === 'subject' ? kv.eraseUser(target.tenantId, target.userId) : kv.clear(target.tenantId),
  };
}
