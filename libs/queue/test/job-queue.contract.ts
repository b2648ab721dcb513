import { afterEach, describe, expect, it } from '@jest/globals';
import type { JobHandler, JobQueue } from '../src/job-queue.js';

export interface TestJob {
  id: string;
  owner: string;
}

/** A handler that records what it was given, can be told to fail or to hold a job, and says when jobs are done. */
export class RecordingHandler implements JobHandler<TestJob> {
  readonly handled: string[] = [];
  readonly failures: Array<{ id: string; reason: string }> = [];
  readonly attempts = new Map<string, number>();
  /** Ids that fail this many attempts before they succeed (Infinity: always). */
  failFirst = new Map<string, number>();
  private readonly held = new Map<string, () => void>();
  private readonly holding = new Set<string>();
  private readonly watchers: Array<() => void> = [];

  hold(id: string): void {
    this.holding.add(id);
  }

  release(id: string): void {
    this.holding.delete(id);
    this.held.get(id)?.();
  }

  async handle(job: TestJob): Promise<void> {
    const attempt = (this.attempts.get(job.id) ?? 0) + 1;
    this.attempts.set(job.id, attempt);
    if (this.holding.has(job.id)) await new Promise<void>((resolve) => this.held.set(job.id, resolve));
    if (attempt <= (this.failFirst.get(job.id) ?? 0)) {
      this.notify();
      throw new Error(`attempt ${attempt} of ${job.id} failed`);
    }
    this.handled.push(job.id);
    this.notify();
  }

  failed(job: TestJob, reason: string): Promise<void> {
    this.failures.push({ id: job.id, reason });
    this.notify();
    return Promise.resolve();
  }

  /** Resolves once `done()` holds, checking after each job. */
  async until(done: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the queue');
      await new Promise<void>((resolve) => {
        this.watchers.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  private notify(): void {
    for (const watcher of this.watchers.splice(0)) watcher();
  }
}

/** What every JobQueue must do: the in-process one and BullMQ's. */
export function describeJobQueueContract(name: string, open: () => JobQueue<TestJob>): void {
  describe(`JobQueue contract: ${name}`, () => {
    const opened: JobQueue<TestJob>[] = [];
    const queue = () => {
      const q = open();
      opened.push(q);
      return q;
    };
    afterEach(async () => {
      for (const q of opened.splice(0)) await q.close();
    });
    const job = (id: string, owner = 'alice'): TestJob => ({ id, owner });

    it('should handle every job, enqueued before and after the handler starts, once each', async () => {
      const q = queue();
      const handler = new RecordingHandler();
      await q.enqueue('a', job('a'));
      q.start(handler);
      await q.enqueue('b', job('b'));
      await q.enqueue('c', job('c'));
      await handler.until(() => handler.handled.length === 3);
      expect([...handler.handled].sort()).toEqual(['a', 'b', 'c']);
    });

    it('should not add an id that is already queued a second time', async () => {
      const q = queue();
      const handler = new RecordingHandler();
      await q.enqueue('same', job('same'));
      await q.enqueue('same', job('same'));
      await q.enqueue('other', job('other'));
      q.start(handler);
      await handler.until(() => handler.handled.includes('other') && handler.handled.includes('same'));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(handler.handled.filter((id) => id === 'same')).toHaveLength(1);
    });

    it('should retry a failed attempt, and report a job failed only after its last attempt', async () => {
      const q = queue();
      const handler = new RecordingHandler();
      handler.failFirst.set('flaky', 1);
      handler.failFirst.set('broken', Infinity);
      q.start(handler);
      await q.enqueue('flaky', job('flaky'));
      await q.enqueue('broken', job('broken'));
      await handler.until(() => handler.handled.includes('flaky') && handler.failures.length === 1);
      expect(handler.attempts.get('flaky')).toBe(2);
      expect(handler.failures).toEqual([{ id: 'broken', reason: expect.stringContaining('of broken failed') }]);
      expect(handler.attempts.get('broken')).toBe(3);
    });

    it('should remove the queued jobs that match, and no others', async () => {
      const q = queue();
      const handler = new RecordingHandler();
      await q.enqueue('a', job('a', 'bob'));
      await q.enqueue('b', job('b', 'carol'));
      await q.enqueue('c', job('c', 'bob'));
      expect(await q.removeJobs((j) => j.owner === 'bob')).toEqual({ removed: 2, remaining: 0 });
      q.start(handler);
      await handler.until(() => handler.handled.length === 1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(handler.handled).toEqual(['b']);
    });

    it('should count a running job as remaining, and remove a finished job record where it is kept', async () => {
      const q = queue();
      const handler = new RecordingHandler();
      handler.hold('r');
      q.start(handler);
      await q.enqueue('r', job('r', 'bob'));
      await handler.until(() => handler.attempts.has('r'));
      expect(await q.removeJobs((j) => j.owner === 'bob')).toEqual({ removed: 0, remaining: 1 });
      handler.release('r');
      await handler.until(() => handler.handled.includes('r'));
      // A durable queue keeps finished records for a while; they name the subject, so an erase removes them too.
      // As an erase does, pass again while the job is still on its way from running to finished.
      let removed = 0;
      for (
        let pass = await q.removeJobs((j) => j.owner === 'bob');
        ;
        pass = await q.removeJobs((j) => j.owner === 'bob')
      ) {
        removed += pass.removed;
        if (pass.remaining === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(removed).toBe(q.durable ? 1 : 0);
      expect(await q.removeJobs((j) => j.owner === 'bob')).toEqual({ removed: 0, remaining: 0 });
    });

    it('should wait for the running jobs when it closes', async () => {
      const q = open();
      const handler = new RecordingHandler();
      handler.hold('slow');
      q.start(handler);
      await q.enqueue('slow', job('slow'));
      await handler.until(() => handler.attempts.has('slow'));
      setTimeout(() => handler.release('slow'), 100);
      await q.close();
      expect(handler.handled).toEqual(['slow']);
    });
  });
}
