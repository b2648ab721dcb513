import { describe, expect, it } from '@jest/globals';
import type { EmbeddingJob, EmbeddingQueue, JobOutcome } from '../embedding-queue.js';
import { LocalMemoryProvider } from '../local/local.memory-provider.js';
import { OSS_TENANT_ID } from '../tenant.js';
import { EmbeddingReconciler } from './embedding-reconciler.service.js';

/** A queue that lost everything it was given (as Redis does when flushed): it only records. */
class ForgetfulQueue implements EmbeddingQueue {
  enqueued: EmbeddingJob[] = [];
  async enqueue(jobs: readonly EmbeddingJob[]): Promise<void> {
    this.enqueued.push(...jobs);
  }
  start(): void {}
  async waitFor(): Promise<Map<string, JobOutcome>> {
    return new Map();
  }
  async depth(): Promise<number> {
    return this.enqueued.length;
  }
  async close(): Promise<void> {}
}

describe('EmbeddingReconciler', () => {
  it('queues again the pending memories older than the cut-off, and only those', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const clock = { now: () => now };
    const provider = new LocalMemoryProvider({ clock });
    const scope = { tenantId: OSS_TENANT_ID, userId: 'u' };
    const old = await provider.add(scope, { content: 'written before the crash' });
    const embedded = await provider.add(scope, { content: 'already searchable' });
    await provider.setEmbedding(scope, embedded.id, {
      vector: [1, 0],
      model: 'm',
      dimensions: 2,
      contentHash: embedded.contentHash,
    });
    now = new Date('2026-01-01T00:01:00Z');
    const fresh = await provider.add(scope, { content: 'just written, its job is surely queued' });

    const queue = new ForgetfulQueue();
    const reconciler = new EmbeddingReconciler(provider, queue, clock);
    const queued = await reconciler.reconcile(new Date('2026-01-01T00:00:30Z'));

    expect(queued).toBe(1);
    expect(queue.enqueued.map((job) => job.memoryId)).toEqual([old.id]);
    expect(queue.enqueued.map((job) => job.memoryId)).not.toContain(fresh.id);
  });

  it('at start queues every pending memory at once, for a restart with an empty queue', async () => {
    const provider = new LocalMemoryProvider();
    const scope = { tenantId: OSS_TENANT_ID, agentId: 'a' };
    const memories = await provider.addMany(scope, [{ content: 'one' }, { content: 'two' }]);
    const queue = new ForgetfulQueue();
    const reconciler = new EmbeddingReconciler(provider, queue, { now: () => new Date(Date.now() + 1) });
    reconciler.start({ everyMs: 60_000 });
    await reconciler.stop();
    expect(queue.enqueued.map((job) => job.memoryId).sort()).toEqual(memories.map((m) => m.id).sort());
  });
});
