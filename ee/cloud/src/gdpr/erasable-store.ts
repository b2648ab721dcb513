/* @license Enterprise */
import type { ErasureTarget } from './erasure.js';

/**
 * A store that keeps data of data subjects besides the memories and their history: the key-value memory store
 * (Redis) once it exists. The edition lists them (ERASABLE_STORES); an erase runs each as a step of its own,
 * `kv:<name>`, and sums them into the receipt's `kv`. A store added later is erased by the next request for a
 * subject; an erase that is already finished does not learn of it.
 */
export interface ErasableStore {
  /** Unique among the stores and stable across releases: an unfinished erase resumes by it. */
  readonly name: string;
  /** Deletes every entry of the target (the subject's `user_id` in its tenant, or the whole tenant); how many. */
  erase(target: ErasureTarget): Promise<number>;
}
