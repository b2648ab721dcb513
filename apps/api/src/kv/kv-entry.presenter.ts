import type { KvEntry } from '@engram/memory-core';

/** E of API.md: `{key, value, tags, user_id, ttl_seconds (remaining, or null), created_at, updated_at}`. */
export function presentKvEntry(entry: KvEntry, now: Date) {
  return {
    key: entry.key,
    value: entry.value,
    tags: entry.tags,
    user_id: entry.userId,
    ttl_seconds:
      entry.expiresAt === null ? null : Math.max(0, Math.ceil((entry.expiresAt.getTime() - now.getTime()) / 1000)),
    created_at: entry.createdAt.toISOString(),
    updated_at: entry.updatedAt.toISOString(),
  };
}
