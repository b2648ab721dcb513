import {
  jobMatches,
  runOutsideRequestContext,
  type EmbeddingJob,
  type EmbeddingJobProcessor,
  type EmbeddingJobSelector,
  type EmbeddingQueue,
  type JobOutcome,
  type RemovedJobs,
} from '@engram/memory-core';

export interface InProcessQueueOptions {
  /** Jobs handed to the processor at once: the embedder is much faster per text in batches. */
  batchSize?: number;
  attempts?: number;
  /** Backoff before retry n is `backoffMs * 2^(n-1)`. */
  backoffMs?: number;
}

interface Waiter {
  pending: Set<string>;
  outcomes: Map<string, JobOutcome>;
  resolve: (outcomes: Map<string, JobOutcome>) => void;
  timer: NodeJS.Timeout;
}

/**
 * The queue of the embedded default (no Redis): same interface and guarantees as the BullMQ one
 * within one process. A job for a memory already queued replaces it, so one memory is embedded once.
 */
export class InProcessEmbeddingQueue implements EmbeddingQueue {
  private readonly queued = new Map<string, { job: EmbeddingJob; attempt: number }>();
  /** Memory ids of the jobs being run or waiting for a retry, with their jobs. */
  private readonly running = new Map<string, EmbeddingJob>();
  private readonly waiters = new Set<Waiter>();
  private processor: EmbeddingJobProcessor | null = null;
  private draining: Promise<void> | null = null;
  private retryTimers = new Set<NodeJS.Timeout>();
  private closed = false;
  private readonly batchSize: number;
  private readonly attempts: number;
  private readonly backoffMs: number;

  constructor(options: InProcessQueueOptions = {}) {
    this.batchSize = options.batchSize ?? 64;
    this.attempts = options.attempts ?? 5;
    this.backoffMs = options.backoffMs ?? 200;
  }

  async enqueue(jobs: readonly EmbeddingJob[]): Promise<void> {
    if (this.closed) throw new Error('queue is closed');
    for (const job of jobs) this.queued.set(job.memoryId, { job, attempt: 1 });
    this.kick();
  }

  start(processor: EmbeddingJobProcessor): void {
    this.processor = processor;
    this.kick();
  }

  async waitFor(memoryIds: readonly string[], timeoutMs: number): Promise<Map<string, JobOutcome>> {
    const pending = new Set(memoryIds.filter((id) => this.queued.has(id) || this.running.has(id)));
    const outcomes = new Map<string, JobOutcome>();
    for (const id of memoryIds) if (!pending.has(id)) outcomes.set(id, 'completed');
    if (pending.size === 0) return outcomes;
    return new Promise((resolve) => {
      const waiter: Waiter = {
        pending,
        outcomes,
        resolve,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          resolve(outcomes);
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  async depth(): Promise<number> {
    return this.queued.size + this.running.size;
  }

  /** Queued jobs go at once; running ones (or waiting for a retry) are reported as remaining. */
  async removeJobs(selector: EmbeddingJobSelector): Promise<RemovedJobs> {
    let removed = 0;
    for (const [memoryId, { job }] of this.queued) {
      if (!jobMatches(job, selector)) continue;
      this.queued.delete(memoryId);
      this.finish(memoryId, 'completed');
      removed++;
    }
    const remaining = [...this.running.values()].filter((job) => jobMatches(job, selector)).length;
    return { removed, remaining };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    await this.draining;
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(waiter.outcomes);
    }
    this.waiters.clear();
  }

  private kick(): void {
    if (this.draining || !this.processor || this.closed) return;
    // The drain embeds every caller's jobs: it must not run inside the request whose enqueue started it.
    this.draining = runOutsideRequestContext(() => this.drain()).finally(() => {
      this.draining = null;
      if (this.queued.size > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    const processor = this.processor;
    while (processor && !this.closed && this.queued.size > 0) {
      const batch = [...this.queued.values()].slice(0, this.batchSize);
      for (const { job } of batch) {
        this.queued.delete(job.memoryId);
        this.running.set(job.memoryId, job);
      }
      try {
        await processor.process(batch.map((entry) => entry.job));
        for (const { job } of batch) this.finish(job.memoryId, 'completed');
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        for (const entry of batch) await this.retryOrFail(processor, entry, reason);
      }
    }
  }

  private async retryOrFail(
    processor: EmbeddingJobProcessor,
    entry: { job: EmbeddingJob; attempt: number },
    reason: string,
  ): Promise<void> {
    const { job, attempt } = entry;
    if (attempt >= this.attempts) {
      try {
        await processor.fail(job, reason);
      } finally {
        this.finish(job.memoryId, 'failed');
      }
      return;
    }
    const timer = setTimeout(
      () => {
        this.retryTimers.delete(timer);
        this.running.delete(job.memoryId);
        // A newer job for the same memory, enqueued meanwhile, wins over the retry.
        if (!this.queued.has(job.memoryId)) this.queued.set(job.memoryId, { job, attempt: attempt + 1 });
        this.kick();
      },
      this.backoffMs * 2 ** (attempt - 1),
    );
    this.retryTimers.add(timer);
  }

  private finish(memoryId: string, outcome: JobOutcome): void {
    this.running.delete(memoryId);
    // Re-enqueued while running (content changed): its waiters wait for the newer job.
    if (this.queued.has(memoryId)) return;
    for (const waiter of this.waiters) {
      if (!waiter.pending.delete(memoryId)) continue;
      waiter.outcomes.set(memoryId, outcome);
      if (waiter.pending.size === 0) {
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
        waiter.resolve(waiter.outcomes);
      }
    }
  }
}
