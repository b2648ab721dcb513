import { afterEach, describe, expect, it } from '@jest/globals';
import type { Embedder } from '../embedder.js';
import type { EmbeddingQueue } from '../embedding-queue.js';
import { NoopAuditLogger, UnlimitedUsageTracker, type Clock } from '../extension-points.js';
import { LocalMemoryProvider } from '../local/local.memory-provider.js';
import type { SearchQuery } from '../memory-provider.js';
import type { MemoryScope } from '../memory-scope.js';
import { MemoryException, MemoryExceptionCode } from '../memory.exception.js';
import { MemorySources } from '../sources/memory-sources.js';
import { OSS_TENANT_ID } from '../tenant.js';
import { AccessRecorder } from './access-recorder.service.js';
import { MemoryService } from './memory.service.js';

/** MemoryService with declared sources: their default TTL on adds, their default mode on searches. */

class OneDimensionEmbedder implements Embedder {
  readonly model = 'one';
  readonly dimensions = 2;
  async embed(texts: readonly string[]): Promise<number[][]> {
    return texts.map(() => [1, 0]);
  }
}

/** The reference provider, recording the searches it receives. */
class RecordingProvider extends LocalMemoryProvider {
  searches: SearchQuery[] = [];
  override search(scope: MemoryScope, query: SearchQuery) {
    this.searches.push(query);
    return super.search(scope, query);
  }
}

const queue: EmbeddingQueue = {
  enqueue: async () => {},
  start: () => {},
  waitFor: async () => new Map(),
  depth: async () => 0,
  close: async () => {},
};

const NOW = new Date('2026-03-01T12:00:00Z');
const user: MemoryScope = { tenantId: OSS_TENANT_ID, userId: 'alice' };

const SOURCES = new MemorySources([
  { name: 'cache', description: 'Scratch', defaultTtlSeconds: 3600, defaultSearchMode: 'keyword' },
  { name: 'persistent', description: 'Kept', defaultTtlSeconds: null, defaultSearchMode: 'hybrid' },
  { name: 'vectors', description: 'Documents', defaultTtlSeconds: null, defaultSearchMode: 'vector' },
  { name: 'default', description: 'Anything without a namespace', defaultTtlSeconds: 60, defaultSearchMode: 'hybrid' },
]);

function setup(sources: MemorySources | null = SOURCES) {
  const clock: Clock = { now: () => NOW };
  const provider = new RecordingProvider({ clock });
  const accesses = new AccessRecorder(provider);
  const sut = new MemoryService(
    provider,
    new OneDimensionEmbedder(),
    queue,
    new UnlimitedUsageTracker(),
    new NoopAuditLogger(),
    clock,
    accesses,
    undefined,
    sources,
  );
  return { sut, provider, accesses };
}

const hoursLater = (hours: number) => new Date(NOW.getTime() + hours * 3_600_000);

describe('MemoryService with named memory sources', () => {
  let stop: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await stop?.();
    stop = null;
  });

  it('should list the declared sources and refuse an undeclared one with SOURCE_NOT_FOUND', () => {
    const { sut } = setup();
    expect(sut.listSources().map((s) => s.name)).toEqual(['cache', 'persistent', 'vectors', 'default']);
    expect(sut.getSource('vectors').defaultSearchMode).toBe('vector');
    expect(() => sut.getSource('scratchpad')).toThrow(
      expect.objectContaining({ code: MemoryExceptionCode.SOURCE_NOT_FOUND }) as unknown as MemoryException,
    );
  });

  it("should give an add into a source without an expiry the source's TTL, from the scope's or the memory's namespace", async () => {
    const { sut } = setup();
    const [byScope] = await sut.addMany([{ scope: { ...user, namespace: 'cache' }, memory: { content: 'scratch' } }]);
    const byMemory = await sut.add(user, { content: 'also scratch', namespace: 'cache' });
    const unnamed = await sut.add(user, { content: 'into the default namespace' });
    expect(byScope.expiresAt).toEqual(hoursLater(1));
    expect(byMemory.expiresAt).toEqual(hoursLater(1));
    expect(unnamed.expiresAt).toEqual(new Date(NOW.getTime() + 60_000));
  });

  it('should keep an expiry the caller gave, including an explicit "never"', async () => {
    const { sut } = setup();
    const cache = { ...user, namespace: 'cache' };
    const given = await sut.add(cache, { content: 'for a day', expiresAt: hoursLater(24) });
    const never = await sut.add(cache, { content: 'forever', expiresAt: null });
    expect(given.expiresAt).toEqual(hoursLater(24));
    expect(never.expiresAt).toBeNull();
  });

  it('should leave sources without a TTL, and free-form namespaces, unexpiring', async () => {
    const { sut } = setup();
    const kept = await sut.add({ ...user, namespace: 'persistent' }, { content: 'kept' });
    const free = await sut.add({ ...user, namespace: 'my-own-namespace' }, { content: 'free-form' });
    expect(kept.expiresAt).toBeNull();
    expect(free.expiresAt).toBeNull();
    expect(free.namespace).toBe('my-own-namespace');
  });

  it('should apply each memory its own source in a batch over several namespaces', async () => {
    const { sut } = setup();
    const added = await sut.addMany([
      { scope: user, memory: { content: 'a', namespace: 'cache' } },
      { scope: user, memory: { content: 'b', namespace: 'persistent' } },
      { scope: { ...user, namespace: 'cache' }, memory: { content: 'c', namespace: 'free' } },
    ]);
    expect(added.map((m) => [m.namespace, m.expiresAt])).toEqual([
      ['cache', hoursLater(1)],
      ['persistent', null],
      ['free', null],
    ]);
  });

  it('should search a source in its default mode unless the request names one, and elsewhere in hybrid', async () => {
    const { sut, provider, accesses } = setup();
    stop = () => accesses.stop();
    await sut.search({ ...user, namespace: 'cache' }, { query: 'scratch' });
    await sut.search({ ...user, namespace: 'vectors' }, { query: 'documents' });
    await sut.search({ ...user, namespace: 'cache' }, { query: 'scratch', mode: 'vector' });
    await sut.search({ ...user, namespace: 'free-form' }, { query: 'anything' });
    await sut.search(user, { query: 'across every namespace' });
    expect(provider.searches.map((q) => q.mode)).toEqual(['keyword', 'vector', 'vector', 'hybrid', 'hybrid']);
    // A keyword search needs no query vector: none was computed.
    expect(provider.searches[0].embedding).toBeUndefined();
  });

  it('should work without any source declared, as before', async () => {
    const { sut, provider, accesses } = setup(null);
    stop = () => accesses.stop();
    const memory = await sut.add({ ...user, namespace: 'cache' }, { content: 'no sources file' });
    await sut.search({ ...user, namespace: 'cache' }, { query: 'file' });
    expect(memory.expiresAt).toBeNull();
    expect(provider.searches[0].mode).toBe('hybrid');
    expect(sut.listSources()).toEqual([]);
  });

  it('should hide a memory once its source TTL has passed', async () => {
    let now = NOW;
    const clock: Clock = { now: () => now };
    const provider = new LocalMemoryProvider({ clock });
    const accesses = new AccessRecorder(provider);
    stop = () => accesses.stop();
    const sut = new MemoryService(
      provider,
      new OneDimensionEmbedder(),
      queue,
      new UnlimitedUsageTracker(),
      new NoopAuditLogger(),
      clock,
      accesses,
      undefined,
      SOURCES,
    );
    const memory = await sut.add({ ...user, namespace: 'cache' }, { content: 'short lived' });
    now = new Date(NOW.getTime() + 3_599_000);
    expect((await sut.get(user, memory.id)).content).toBe('short lived');
    now = hoursLater(1);
    await expect(sut.get(user, memory.id)).rejects.toMatchObject({ code: MemoryExceptionCode.MEMORY_NOT_FOUND });
  });
});
