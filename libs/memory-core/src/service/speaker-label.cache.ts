import { scopeKey, type MemoryScope } from '../memory-scope.js';

export interface SpeakerLabelCacheOptions {
  /** How long a scope's labels are trusted. */
  ttlMs?: number;
  /** Scopes remembered at most; the least recently used goes first. */
  maxEntries?: number;
}

/**
 * The speaker labels of recently searched scopes (`MemoryProvider.speakerLabels`), so that embedding a query
 * without the names it gives (search/speaker-label.ts, `withoutNamedSpeakers`) costs one read per scope every
 * `ttlMs` rather than one per search. A label that first appears within that time is simply not stripped from
 * queries yet: that changes the ranking a little, never what a caller may see. Searches of one scope that miss at
 * the same time share one read; a read that fails is not remembered. Per process.
 */
export class SpeakerLabelCache {
  private readonly entries = new Map<string, { labels: Promise<readonly string[]>; until: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(options: SpeakerLabelCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.maxEntries = options.maxEntries ?? 1_000;
  }

  get(scope: MemoryScope, nowMs: number, read: () => Promise<readonly string[]>): Promise<readonly string[]> {
    // The whole scope: a user's labels are not those of one of their runs, nor of the same user in another tenant.
    const key = scopeKey(scope);
    const cached = this.entries.get(key);
    this.entries.delete(key);
    if (cached && cached.until > nowMs) {
      this.entries.set(key, cached);
      return cached.labels;
    }
    const entry = { labels: read(), until: nowMs + this.ttlMs };
    entry.labels.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, entry);
    return entry.labels;
  }

  clear(): void {
    this.entries.clear();
  }
}
