/* @license Enterprise */
import { beforeEach, describe, expect, it } from '@jest/globals';
import {
  asTenantId,
  LocalMemoryProvider,
  MemoryException,
  MemoryExceptionCode,
  type MemoryScope,
  type TenantId,
} from '@engram/memory-core';
import { BagOfWordsEmbedder, describeMemoryProviderContract } from '@engram/memory-core/testing';
import type { MemoryQuotas } from './cloud.usage-tracker.js';
import { MeteredMemoryProvider } from './metered.memory-provider.js';

/** Records what was reserved and given back; refuses what passes its caps. */
class RecordingQuotas implements MemoryQuotas {
  memories = 0;
  tokens = 0;
  maxMemories = Infinity;
  maxTokens = Infinity;
  async reserveMemories(_tenantId: TenantId, count: number): Promise<void> {
    if (this.memories + count > this.maxMemories)
      throw MemoryException.quotaExceeded('memories', { quota: 'max_memories' });
    this.memories += count;
  }
  async releaseMemories(_tenantId: TenantId, count: number): Promise<void> {
    this.memories -= count;
  }
  async reserveEmbeddingTokens(_tenantId: TenantId, tokens: number): Promise<void> {
    if (this.tokens + tokens > this.maxTokens) throw MemoryException.quotaExceeded('tokens', { quota: 'tokens' });
    this.tokens += tokens;
  }
  async releaseEmbeddingTokens(_tenantId: TenantId, tokens: number): Promise<void> {
    this.tokens -= tokens;
  }
}

describeMemoryProviderContract('MeteredMemoryProvider over LocalMemoryProvider', async () => {
  const provider = new MeteredMemoryProvider(await LocalMemoryProvider.open(), new RecordingQuotas());
  return { provider, embedder: new BagOfWordsEmbedder(), teardown: () => provider.close() };
});

describe('MeteredMemoryProvider', () => {
  const tenantId = asTenantId('01900000-0000-7000-8000-000000000002');
  const scope: MemoryScope = { tenantId, userId: 'alice' };
  let quotas: RecordingQuotas;
  let sut: MeteredMemoryProvider;

  beforeEach(async () => {
    quotas = new RecordingQuotas();
    sut = new MeteredMemoryProvider(await LocalMemoryProvider.open(), quotas);
  });

  it('counts an add against memories stored and the content’s tokens', async () => {
    await sut.addMany(scope, [{ content: 'x'.repeat(40) }, { content: 'abc' }]);
    expect(quotas).toMatchObject({ memories: 2, tokens: 11 });
  });

  it('counts the tokens of an update that changes the content, and no memory', async () => {
    const memory = await sut.add(scope, { content: 'first' });
    await sut.update(scope, memory.id, { content: 'y'.repeat(8) });
    await sut.update(scope, memory.id, { importance: 9 });
    expect(quotas).toMatchObject({ memories: 1, tokens: 2 + 2 });
  });

  it('counts the query of a search that embeds it, not a keyword search', async () => {
    await sut.search(scope, { text: 'q'.repeat(12), mode: 'keyword', limit: 5 });
    expect(quotas.tokens).toBe(0);
    await sut.search(scope, { text: 'q'.repeat(12), mode: 'hybrid', limit: 5, embedding: { vector: [1], model: 'm' } });
    expect(quotas.tokens).toBe(3);
  });

  it('gives memories back as they are deleted', async () => {
    const [a, b, c] = await sut.addMany(scope, [{ content: 'a' }, { content: 'b' }, { content: 'c' }]);
    await sut.delete(scope, a.id);
    expect(quotas.memories).toBe(2);
    await sut.deleteMany(scope, [b.id, 'no-such-id']);
    expect(quotas.memories).toBe(1);
    await sut.add(scope, { content: 'd' });
    await sut.clear(scope);
    expect(quotas.memories).toBe(0);
    expect(c).toBeDefined();
  });

  it('refuses before writing anything when a quota is spent, and gives back what a refused part reserved', async () => {
    quotas.maxTokens = 5;
    await expect(sut.add(scope, { content: 'z'.repeat(40) })).rejects.toMatchObject({
      code: MemoryExceptionCode.QUOTA_EXCEEDED,
    });
    expect(quotas).toMatchObject({ memories: 0, tokens: 0 });
    expect(await sut.count(scope)).toBe(0);
  });

  it('gives back the reservation of a write that fails', async () => {
    await expect(sut.addMany({ tenantId }, [{ content: 'no scope' }])).rejects.toBeInstanceOf(MemoryException);
    await expect(sut.update(scope, 'missing', { content: 'abcdefgh' })).rejects.toMatchObject({
      code: MemoryExceptionCode.MEMORY_NOT_FOUND,
    });
    expect(quotas).toMatchObject({ memories: 0, tokens: 0 });
  });
});
