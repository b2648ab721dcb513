import { describe, expect, it } from '@jest/globals';
import { OSS_TENANT_ID, type MemoryScope } from '@engram/memory-core';
import { ScopeIndexCache, type ScopeIndexEntry } from './scope-index.cache.js';
import { ScopeSearchIndex } from './scope-search.index.js';

const scopeOf = (userId: string): MemoryScope => ({ tenantId: OSS_TENANT_ID, userId });

/** A real (empty) index with a given size in bytes, as the budget sees it. */
function entryOf(bytes: number, version = '1'): ScopeIndexEntry {
  const index = ScopeSearchIndex.build([]);
  return { version, index: Object.assign(Object.create(Object.getPrototypeOf(index) as object), index, { bytes }) };
}

async function loaded(cache: ScopeIndexCache, scope: MemoryScope, entry: ScopeIndexEntry, size = 5_000) {
  cache.loadInBackground(scope, size, async () => entry);
  await cache.settled();
}

describe('ScopeIndexCache', () => {
  it('should copy only scopes that name a user and only for unfiltered searches', () => {
    const cache = new ScopeIndexCache();
    expect(cache.covers(scopeOf('u'), false)).toBe(true);
    expect(cache.covers(scopeOf('u'), true)).toBe(false);
    expect(cache.covers({ tenantId: OSS_TENANT_ID, agentId: 'a' }, false)).toBe(false);
    expect(new ScopeIndexCache({ maxBytes: 0 }).covers(scopeOf('u'), false)).toBe(false);
  });

  it('should load a scope only when its size is within bounds', async () => {
    const cache = new ScopeIndexCache({ minRows: 100, maxRows: 1_000 });
    await loaded(cache, scopeOf('small'), entryOf(10), 99);
    await loaded(cache, scopeOf('large'), entryOf(10), 1_001);
    await loaded(cache, scopeOf('fits'), entryOf(10), 100);
    expect(cache.get(scopeOf('small'))).toBeUndefined();
    expect(cache.get(scopeOf('large'))).toBeUndefined();
    expect(cache.get(scopeOf('fits'))?.version).toBe('1');
  });

  it('should keep the copies within the byte budget, least recently used out first', async () => {
    const cache = new ScopeIndexCache({ minRows: 1, maxBytes: 250 });
    await loaded(cache, scopeOf('a'), entryOf(100));
    await loaded(cache, scopeOf('b'), entryOf(100));
    cache.get(scopeOf('a'));
    await loaded(cache, scopeOf('c'), entryOf(100));
    expect(cache.get(scopeOf('b'))).toBeUndefined();
    expect(cache.get(scopeOf('a'))).toBeDefined();
    expect(cache.get(scopeOf('c'))).toBeDefined();
    expect(cache.stats()).toMatchObject({ copies: 2, bytes: 200, loads: 3 });
    await loaded(cache, scopeOf('huge'), entryOf(251));
    expect(cache.get(scopeOf('huge'))).toBeUndefined();
    cache.clear();
  });

  it('should not evict a copy in use for a new one when the budget is full (no load per search)', async () => {
    const cache = new ScopeIndexCache({ minRows: 1, maxBytes: 200 });
    await loaded(cache, scopeOf('a'), entryOf(100));
    await loaded(cache, scopeOf('b'), entryOf(100));
    let loads = 0;
    cache.loadInBackground(scopeOf('c'), 10, async () => {
      loads++;
      return entryOf(100);
    });
    await cache.settled();
    expect(loads).toBe(0);
    expect(cache.stats()).toMatchObject({ copies: 2, bytes: 200 });
    cache.clear();
  });

  it('should not reload a scope sooner than the reload interval after its last load', async () => {
    const cache = new ScopeIndexCache({ minRows: 1, minReloadIntervalMs: 60_000 });
    await loaded(cache, scopeOf('a'), entryOf(10, '1'));
    cache.drop(scopeOf('a'));
    await loaded(cache, scopeOf('a'), entryOf(10, '2'));
    expect(cache.get(scopeOf('a'))).toBeUndefined();
    expect(cache.stats()).toMatchObject({ stale: 1, loads: 1 });
    cache.clear();
  });

  it('should run one load at a time and survive a load that fails', async () => {
    const cache = new ScopeIndexCache({ minRows: 1 });
    let release!: () => void;
    cache.loadInBackground(scopeOf('slow'), 10, () => new Promise((resolve) => (release = () => resolve(entryOf(10)))));
    cache.loadInBackground(scopeOf('other'), 10, async () => entryOf(10));
    release();
    await cache.settled();
    expect(cache.get(scopeOf('other'))).toBeUndefined();
    cache.loadInBackground(scopeOf('broken'), 10, async () => {
      throw new Error('connection lost');
    });
    await cache.settled();
    expect(cache.get(scopeOf('broken'))).toBeUndefined();
    expect(cache.get(scopeOf('slow'))).toBeDefined();
    cache.clear();
  });

  it('should drop the copies no search used for the idle time, and only those', async () => {
    const cache = new ScopeIndexCache({ minRows: 1, idleMs: 200 });
    await loaded(cache, scopeOf('idle'), entryOf(10));
    await loaded(cache, scopeOf('used'), entryOf(10));
    await new Promise((resolve) => setTimeout(resolve, 150));
    cache.get(scopeOf('used'));
    expect(cache.sweep()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(cache.sweep()).toBe(1);
    expect(cache.get(scopeOf('idle'))).toBeUndefined();
    expect(cache.get(scopeOf('used'))).toBeDefined();
    cache.clear();
  });
});
