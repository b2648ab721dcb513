import { afterEach, describe, expect, it } from '@jest/globals';
import type { Embedder } from '../embedder.js';
import type { EmbeddingQueue } from '../embedding-queue.js';
import { NoopAuditLogger, UnlimitedUsageTracker, type Clock } from '../extension-points.js';
import { LocalMemoryProvider } from '../local/local.memory-provider.js';
import type { SearchQuery } from '../memory-provider.js';
import type { MemoryScope } from '../memory-scope.js';
import { OSS_TENANT_ID } from '../tenant.js';
import { AccessRecorder } from './access-recorder.service.js';
import { MemoryService } from './memory.service.js';

/** Records what it is asked to embed. */
class RecordingEmbedder implements Embedder {
  readonly model = 'recording';
  readonly dimensions = 2;
  texts: string[] = [];
  async embed(texts: readonly string[]): Promise<number[][]> {
    this.texts.push(...texts);
    return texts.map(() => [1, 0]);
  }
}

/** The reference provider, recording the searches it receives and how often it is asked for labels. */
class RecordingProvider extends LocalMemoryProvider {
  searches: SearchQuery[] = [];
  labelReads = 0;
  override search(scope: MemoryScope, query: SearchQuery) {
    this.searches.push(query);
    return super.search(scope, query);
  }
  override speakerLabels(scope: MemoryScope) {
    this.labelReads += 1;
    return super.speakerLabels(scope);
  }
}

const queue: EmbeddingQueue = {
  enqueue: async () => {},
  start: () => {},
  waitFor: async () => new Map(),
  depth: async () => 0,
  close: async () => {},
};

const scope: MemoryScope = { tenantId: OSS_TENANT_ID, userId: 'conversation-1' };

function setup() {
  let now = new Date('2026-01-01T00:00:00Z');
  const clock: Clock = { now: () => now };
  const provider = new RecordingProvider({ clock });
  const embedder = new RecordingEmbedder();
  const accesses = new AccessRecorder(provider);
  const sut = new MemoryService(
    provider,
    embedder,
    queue,
    new UnlimitedUsageTracker(),
    new NoopAuditLogger(),
    clock,
    accesses,
  );
  return { sut, provider, embedder, accesses, advance: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

describe('MemoryService.search', () => {
  let stop: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await stop?.();
    stop = null;
  });

  it.each(['hybrid', 'vector'] as const)(
    'should embed the query without the speakers it names in %s mode, and search with the full text',
    async (mode) => {
      const { sut, provider, embedder, accesses } = setup();
      stop = () => accesses.stop();
      await provider.addMany(scope, [{ content: 'Caroline: I am a transgender woman' }, { content: 'Melanie: hi' }]);

      await sut.search(scope, { query: "What is Caroline's identity?", mode });
      expect(embedder.texts).toEqual(['What is identity?']);
      expect(provider.searches[0]).toMatchObject({ text: "What is Caroline's identity?", mode });
    },
  );

  it('should embed nothing and read no labels in keyword mode', async () => {
    const { sut, provider, embedder, accesses } = setup();
    stop = () => accesses.stop();
    await sut.search(scope, { query: "What is Caroline's identity?", mode: 'keyword' });
    expect(embedder.texts).toEqual([]);
    expect(provider.labelReads).toBe(0);
  });

  it("should read a scope's labels once per time to live: a new speaker is stripped after it", async () => {
    const { sut, provider, embedder, accesses, advance } = setup();
    stop = () => accesses.stop();
    await provider.add(scope, { content: 'Caroline: hello' });
    await sut.search(scope, { query: 'What did Caroline and Melanie paint?' });
    await provider.add(scope, { content: 'Melanie: hi' });
    await sut.search(scope, { query: 'What did Caroline and Melanie paint?' });
    advance(30_000);
    await sut.search(scope, { query: 'What did Caroline and Melanie paint?' });

    expect(provider.labelReads).toBe(2);
    expect(embedder.texts).toEqual([
      'What did and Melanie paint?',
      'What did and Melanie paint?',
      'What did and paint?',
    ]);
  });
});
