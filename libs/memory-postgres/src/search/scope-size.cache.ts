import { scopeKey, type MemoryScope } from '@engram/memory-core';

export interface ScopeSizeCacheOptions {
  /** How long an estimate is trusted. Scopes grow by at most a few writes a second: a stale size is harmless. */
  ttlMs?: number;
  /** Scopes remembered at most; the oldest entry goes first. */
  maxEntries?: number;
}

/**
 * Remembers, briefly, how big each scope is, so that choosing the vector strategy costs one bounded count per
 * scope every `ttlMs` rather than one per search. Per process; nothing breaks when processes disagree.
 */
export class ScopeSizeCache {
  private readonly entries = new Map<string, { size: number; until: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(options: ScopeSizeCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  async get(scope: MemoryScope, nowMs: number, count: () => Promise<number>): Promise<number> {
    const key = scopeKey(scope);
    const cached = this.entries.get(key);
    if (cached && cached.until > nowMs) return cached.size;
    const size = await count();
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { size, until: nowMs + this.ttlMs });
    return size;
  }

  clear(): void {
    this.entries.clear();
  }
}
