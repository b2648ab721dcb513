import { describe, expect, it } from '@jest/globals';
import { currentRequestContext, runInRequestContext, type RequestContext } from '@engram/memory-core';
import { RecordingProcessor, testJob as job } from '../test/recording.processor.js';
import { InProcessEmbeddingQueue } from './in-process.embedding-queue.js';

describe('InProcessEmbeddingQueue', () => {
  it('runs queued jobs in batches and reports them completed', async () => {
    const queue = new InProcessEmbeddingQueue({ batchSize: 2 });
    const processor = new RecordingProcessor();
    await queue.enqueue([job('a'), job('b'), job('c')]);
    queue.start(processor);
    const outcomes = await queue.waitFor(['a', 'b', 'c'], 5000);
    expect([...outcomes.entries()].sort()).toEqual([
      ['a', 'completed'],
      ['b', 'completed'],
      ['c', 'completed'],
    ]);
    expect(processor.batchIds()).toEqual([['a', 'b'], ['c']]);
    expect(await queue.depth()).toBe(0);
    await queue.close();
  });

  it('keeps one job per memory: a newer job replaces a queued one', async () => {
    const queue = new InProcessEmbeddingQueue();
    const processor = new RecordingProcessor();
    await queue.enqueue([job('a', 'old')]);
    await queue.enqueue([job('a', 'new')]);
    queue.start(processor);
    await queue.waitFor(['a'], 5000);
    expect(processor.batchKeys()).toEqual([['a:new']]);
    await queue.close();
  });

  it('retries a failed batch with backoff, then succeeds', async () => {
    const queue = new InProcessEmbeddingQueue({ backoffMs: 5, attempts: 3 });
    const processor = new RecordingProcessor();
    processor.failuresLeft = 2;
    queue.start(processor);
    await queue.enqueue([job('a')]);
    const outcomes = await queue.waitFor(['a'], 5000);
    expect(outcomes.get('a')).toBe('completed');
    expect(processor.batches).toHaveLength(3);
    expect(processor.failed).toEqual([]);
    await queue.close();
  });

  it('gives up after its attempts and hands the job to fail() with the reason', async () => {
    const queue = new InProcessEmbeddingQueue({ backoffMs: 1, attempts: 2 });
    const processor = new RecordingProcessor();
    processor.failuresLeft = 10;
    queue.start(processor);
    await queue.enqueue([job('a')]);
    const outcomes = await queue.waitFor(['a'], 5000);
    expect(outcomes.get('a')).toBe('failed');
    expect(processor.failed).toEqual([{ id: 'a', reason: 'embedder down' }]);
    await queue.close();
  });

  it('removes the queued jobs of one user and reports their running ones as remaining', async () => {
    const queue = new InProcessEmbeddingQueue();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const processor = new RecordingProcessor();
    const process = processor.process.bind(processor);
    processor.process = async (jobs) => {
      await process(jobs);
      await gate;
    };
    const tenantId = job('x').tenantId;
    await queue.enqueue([{ ...job('running'), userId: 'alice' }]);
    queue.start(processor);
    await queue.enqueue([
      { ...job('a'), userId: 'alice' },
      { ...job('b'), userId: 'bob' },
    ]);
    expect(await queue.removeJobs({ tenantId, userId: 'alice' })).toEqual({ removed: 1, remaining: 1 });
    release();
    await queue.waitFor(['running', 'b'], 5000);
    expect(await queue.removeJobs({ tenantId, userId: 'alice' })).toEqual({ removed: 0, remaining: 0 });
    expect(processor.batchIds().flat()).toEqual(['running', 'b']);
    await queue.close();
  });

  it('answers waitFor at the timeout with what finished, keeping the rest queued', async () => {
    const queue = new InProcessEmbeddingQueue();
    await queue.enqueue([job('a')]);
    const outcomes = await queue.waitFor(['a'], 20);
    expect(outcomes.size).toBe(0);
    expect(await queue.depth()).toBe(1);
    const processor = new RecordingProcessor();
    queue.start(processor);
    expect((await queue.waitFor(['a'], 5000)).get('a')).toBe('completed');
    await queue.close();
  });

  it('embeds outside the request whose enqueue started the batch (it holds other callers’ jobs too)', async () => {
    const queue = new InProcessEmbeddingQueue();
    const seen: Array<RequestContext | undefined> = [];
    const processor = new RecordingProcessor();
    const process = processor.process.bind(processor);
    processor.process = async (jobs) => {
      seen.push(currentRequestContext());
      return process(jobs);
    };
    queue.start(processor);
    await runInRequestContext({ requestId: 'r', principal: { kind: 'anonymous' } }, () => queue.enqueue([job('a')]));
    await queue.waitFor(['a'], 5000);
    expect(seen).toEqual([undefined]);
    await queue.close();
  });
});
