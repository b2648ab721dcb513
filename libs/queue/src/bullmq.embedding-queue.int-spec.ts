import { afterEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { queuePrefix } from './queue-names.js';
import { Redis } from 'ioredis';
import { RecordingProcessor, testJob as job } from '../test/recording.processor.js';
import { BullMqEmbeddingQueue, embeddingJobId } from './bullmq.embedding-queue.js';

const REDIS_URL = process.env.ENGRAM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('BullMqEmbeddingQueue (real Redis)', () => {
  const opened: Array<{ queue: BullMqEmbeddingQueue; name: string }> = [];
  const open = (options: Partial<ConstructorParameters<typeof BullMqEmbeddingQueue>[0]> = {}) => {
    const name = `engram-test-${randomUUID()}`;
    const queue = new BullMqEmbeddingQueue({ redisUrl: REDIS_URL, queueName: name, backoffMs: 10, ...options });
    opened.push({ queue, name });
    return queue;
  };

  afterEach(async () => {
    for (const { queue, name } of opened.splice(0)) {
      await queue.close();
      const admin = new Queue(name, { connection: { url: REDIS_URL }, prefix: queuePrefix(name) });
      await admin.obliterate({ force: true });
      await admin.close();
    }
  });

  it('embeds queued memories in batches and reports them completed', async () => {
    const queue = open();
    const processor = new RecordingProcessor();
    const ids = Array.from({ length: 40 }, () => randomUUID());
    await queue.enqueue(ids.map((id) => job(id)));
    queue.start(processor);
    const outcomes = await queue.waitFor(ids, 10_000);
    expect([...outcomes.values()].every((o) => o === 'completed')).toBe(true);
    expect(outcomes.size).toBe(40);
    expect(processor.batchIds().flat().sort()).toEqual([...ids].sort());
    // Jobs that arrive together are embedded together, not one by one.
    expect(processor.batches.length).toBeLessThan(40);
    expect(await queue.depth()).toBe(0);
  });

  it('never runs the same memory content twice when it is enqueued twice', async () => {
    const queue = open();
    const processor = new RecordingProcessor();
    const id = randomUUID();
    await queue.enqueue([job(id)]);
    await queue.enqueue([job(id)]);
    queue.start(processor);
    await queue.waitFor([id], 10_000);
    expect(processor.batchIds().flat()).toEqual([id]);
  });

  it('gives an edited memory a job of its own', async () => {
    expect(embeddingJobId(job('m', 'a'.repeat(64)))).not.toBe(embeddingJobId(job('m', 'b'.repeat(64))));
    expect(embeddingJobId(job('m'))).not.toContain(':');
  });

  it('retries a failing batch, then hands a job that used up its attempts to fail()', async () => {
    const queue = open({ attempts: 2 });
    const processor = new RecordingProcessor();
    processor.failuresLeft = 100;
    queue.start(processor);
    const id = randomUUID();
    await queue.enqueue([job(id)]);
    const outcomes = await queue.waitFor([id], 10_000);
    expect(outcomes.get(id)).toBe('failed');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(processor.failed).toEqual([{ id, reason: 'embedder down' }]);
    expect(processor.batchIds().flat()).toEqual([id, id]);
  });

  it('lets a job recover from a failed attempt', async () => {
    const queue = open({ attempts: 3 });
    const processor = new RecordingProcessor();
    processor.failuresLeft = 1;
    queue.start(processor);
    const id = randomUUID();
    await queue.enqueue([job(id)]);
    expect((await queue.waitFor([id], 10_000)).get(id)).toBe('completed');
    expect(processor.failed).toEqual([]);
  });

  it('removes the waiting, delayed and finished jobs of one user, and the events naming them', async () => {
    const of = (userId: string) => ({ ...job(randomUUID()), userId });
    const [delayed, done, waiting] = [of('alice'), of('alice'), of('alice')];
    const [otherDone, otherWaiting] = [of('bob'), of('bob')];
    // A worker that fails the first batch (its retry waits a minute: delayed) and completes the next.
    const running = open({ attempts: 2, backoffMs: 60_000 });
    const name = opened[0].name;
    const processor = new RecordingProcessor();
    processor.failuresLeft = 1;
    running.start(processor);
    await running.enqueue([delayed]);
    const admin = new Queue(name, { connection: { url: REDIS_URL }, prefix: queuePrefix(name) });
    try {
      while ((await admin.getJobState(embeddingJobId(delayed))) !== 'delayed')
        await new Promise((resolve) => setTimeout(resolve, 20));
      await running.enqueue([done, otherDone]);
      await running.waitFor([done.memoryId, otherDone.memoryId], 10_000);
      await running.close();
      const idle = new BullMqEmbeddingQueue({ redisUrl: REDIS_URL, queueName: name });
      opened.push({ queue: idle, name });
      await idle.enqueue([waiting, otherWaiting]);

      expect(await idle.removeJobs({ tenantId: delayed.tenantId, userId: 'alice' })).toEqual({
        removed: 3,
        remaining: 0,
      });
      expect(await idle.removeJobs({ tenantId: delayed.tenantId, userId: 'alice' })).toEqual({
        removed: 0,
        remaining: 0,
      });
      const left = await admin.getJobs(['completed', 'waiting', 'delayed', 'failed', 'active']);
      expect(left.map((j) => j.data.memoryId).sort()).toEqual([otherDone.memoryId, otherWaiting.memoryId].sort());
      const redis = new Redis(REDIS_URL);
      const named = JSON.stringify(await redis.xrange(admin.toKey('events'), '-', '+'));
      redis.disconnect();
      for (const gone of [delayed, done, waiting]) expect(named).not.toContain(gone.memoryId);
      expect(named).toContain(otherDone.memoryId);
    } finally {
      await admin.close();
    }
  });

  it('answers waitFor at the timeout while the job stays queued', async () => {
    const queue = open();
    const id = randomUUID();
    await queue.enqueue([job(id)]);
    expect((await queue.waitFor([id], 50)).size).toBe(0);
    expect(await queue.depth()).toBe(1);
  });
});
