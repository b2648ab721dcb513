import { createHash } from 'node:crypto';

/** sha256 hex of a memory's content; the embedding pipeline compares it to detect stale jobs. */
export function contentHash(content: string): string {
  return createHash('sha256').update(content).digest('hex');
}
