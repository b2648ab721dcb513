import { describe, expect, it } from '@jest/globals';
import { BagOfWordsEmbedder } from '../../test/fixtures/bag-of-words.embedder.js';
import type { EmbeddingJob } from '../embedding-queue.js';
import { embeddingJobOf } from '../embedding-queue.js';
import { LocalMemoryProvider } from '../local/local.memory-provider.js';
import { OSS_TENANT_ID, asTenantId } from '../tenant.js';
import { EmbeddingPipeline } from './embedding-pipeline.service.js';

class CountingEmbedder extends BagOfWordsEmbedder {
  calls: string[][] = [];
  override async embed(texts: readonly string[]): Promise<number[][]> {
    this.calls.push([...texts]);
    return super.embed(texts);
  }
}

function newSut() {
  const provider = new LocalMemoryProvider();
  const embedder = new CountingEmbedder();
  return { sut: new EmbeddingPipeline(provider, embedder), provider, embedder };
}

describe('EmbeddingPipeline', () => {
  it('embeds a batch in one call and makes every memory ready, across tenants and users', async () => {
    const { sut, provider, embedder } = newSut();
    const other = asTenantId('22222222-2222-2222-2222-222222222222');
    const a = await provider.add({ tenantId: OSS_TENANT_ID, userId: 'ann' }, { content: 'likes tea' });
    const b = await provider.add({ tenantId: OSS_TENANT_ID, agentId: 'bot' }, { content: 'likes coffee' });
    const c = await provider.add({ tenantId: other, userId: 'ann' }, { content: 'likes cocoa' });

    const result = await sut.run([a, b, c].map(embeddingJobOf));

    expect(result).toEqual({ written: 3, skipped: 0 });
    expect(embedder.calls).toEqual([['likes tea', 'likes coffee', 'likes cocoa']]);
    const ready = await provider.get({ tenantId: other }, c.id);
    expect(ready).toMatchObject({
      status: 'ready',
      embeddingModel: embedder.model,
      embeddingDimensions: embedder.dimensions,
    });
  });

  it('skips a memory deleted, or edited, since its job was queued', async () => {
    const { sut, provider, embedder } = newSut();
    const scope = { tenantId: OSS_TENANT_ID, userId: 'u' };
    const deleted = await provider.add(scope, { content: 'gone' });
    const edited = await provider.add(scope, { content: 'old words' });
    const jobs: EmbeddingJob[] = [embeddingJobOf(deleted), embeddingJobOf(edited)];
    await provider.delete(scope, deleted.id);
    await provider.update(scope, edited.id, { content: 'new words' });

    expect(await sut.run(jobs)).toEqual({ written: 0, skipped: 2 });
    expect(embedder.calls).toEqual([]);
    expect((await provider.get(scope, edited.id))?.status).toBe('pending');
  });

  it('marks a memory failed when its job gives up, unless its content changed meanwhile', async () => {
    const { sut, provider } = newSut();
    const scope = { tenantId: OSS_TENANT_ID, userId: 'u' };
    const stuck = await provider.add(scope, { content: 'cannot embed' });
    const edited = await provider.add(scope, { content: 'first version' });
    const staleJob = embeddingJobOf(edited);
    await provider.update(scope, edited.id, { content: 'second version' });

    await sut.fail(embeddingJobOf(stuck), 'endpoint down');
    await sut.fail(staleJob, 'endpoint down');

    expect(await provider.get(scope, stuck.id)).toMatchObject({ status: 'failed', failureReason: 'endpoint down' });
    expect((await provider.get(scope, edited.id))?.status).toBe('pending');
  });
});
