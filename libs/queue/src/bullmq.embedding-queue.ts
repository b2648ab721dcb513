import { Queue, QueueEvents, type ConnectionOptions, type Worker } from 'bullmq';
import {
  jobMatches,
  type EmbeddingJob,
  type EmbeddingJobProcessor,
  type EmbeddingJobSelector,
  type EmbeddingQueue,
  type JobOutcome,
  type RemovedJobs,
} from '@engram/memory-core';
import { findJobs, removeEventEntries, removeFoundJobs } from './bullmq-job-scan.js';
import { startBullMqWorker } from './bullmq-worker.js';
import { withinEnqueueDeadline } from './enqueue-deadline.js';
import { MicroBatcher } from './micro-batcher.js';
import { EMBEDDING_QUEUE_NAME, queuePrefix } from './queue-names.js';

export interface BullMqQueueOptions {
  redisUrl: string;
  /** Jobs one worker process works on at once; they are embedded together in batches of up to this size. */
  concurrency?: number;
  attempts?: number;
  backoffMs?: number;
  /**
   * A killed worker's jobs are retried once its lock expires and the stall check runs; both are short
   * (BullMQ's default is 30 s) so that an acknowledged write is embedded within seconds after a crash.
   */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  queueName?: string;
}

/**
 * One job per memory content: the id is the memory id plus a prefix of its content hash, so retries
 * and re-enqueues of the same content are deduplicated by BullMQ, while an edit gets a job of its own
 * even if the previous one is still running. (BullMQ ids may not contain ':'.)
 */
export function embeddingJobId(job: Pick<EmbeddingJob, 'memoryId' | 'contentHash'>): string {
  return `${job.memoryId}_${job.contentHash.slice(0, 16)}`;
}

/** The embedding queue on Redis: shared by every API and worker process of a deployment. */
export class BullMqEmbeddingQueue implements EmbeddingQueue {
  private readonly redisUrl: string;
  private readonly connection: ConnectionOptions;
  private readonly queue: Queue<EmbeddingJob>;
  private worker: Worker<EmbeddingJob> | null = null;
  private events: QueueEvents | null = null;
  private readonly options: Required<Omit<BullMqQueueOptions, 'redisUrl'>>;
  /** Job ids of the memories this process enqueued last, for `waitFor`. */
  private readonly lastJobId = new Map<string, string>();

  constructor(options: BullMqQueueOptions) {
    this.options = {
      concurrency: options.concurrency ?? 64,
      attempts: options.attempts ?? 5,
      backoffMs: options.backoffMs ?? 500,
      lockDurationMs: options.lockDurationMs ?? 10_000,
      stalledIntervalMs: options.stalledIntervalMs ?? 5_000,
      queueName: options.queueName ?? EMBEDDING_QUEUE_NAME,
    };
    this.redisUrl = options.redisUrl;
    this.connection = { url: options.redisUrl, maxRetriesPerRequest: null };
    this.queue = new Queue<EmbeddingJob>(this.options.queueName, {
      connection: this.connection,
      prefix: queuePrefix(this.options.queueName),
      defaultJobOptions: {
        attempts: this.options.attempts,
        backoff: { type: 'exponential', delay: this.options.backoffMs },
        // Finished jobs carry user ids: keep them briefly (for waitFor), then let Redis forget them.
        removeOnComplete: { age: 300, count: 10_000 },
        removeOnFail: { age: 24 * 3600 },
      },
    });
  }

  async enqueue(jobs: readonly EmbeddingJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const entries = jobs.map((job) => {
      const jobId = embeddingJobId(job);
      this.remember(job.memoryId, jobId);
      return { name: 'embed', data: job, opts: { jobId } };
    });
    await withinEnqueueDeadline(this.options.queueName, this.queue.addBulk(entries));
  }

  start(processor: EmbeddingJobProcessor): void {
    if (this.worker) return;
    const batcher = new MicroBatcher<EmbeddingJob>((jobs) => processor.process(jobs), this.options.concurrency, 5);
    // A job out of attempts marks its memory failed; if even that fails, the memory stays pending and the reconciler
    // queues it again.
    this.worker = startBullMqWorker<EmbeddingJob>(
      { ...this.options, connection: this.connection },
      (job) => batcher.submit(job),
      (job, reason) => processor.fail(job, reason),
    );
  }

  async waitFor(memoryIds: readonly string[], timeoutMs: number): Promise<Map<string, JobOutcome>> {
    const outcomes = new Map<string, JobOutcome>();
    const waiting = new Map<string, string>(); // jobId → memoryId
    for (const memoryId of memoryIds) {
      const jobId = this.lastJobId.get(memoryId);
      if (jobId) waiting.set(jobId, memoryId);
      else outcomes.set(memoryId, 'completed');
    }
    if (waiting.size === 0) return outcomes;

    const events = await this.queueEvents();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        events.off('completed', onCompleted);
        events.off('failed', onFailed);
        resolve(outcomes);
      };
      const settle = (jobId: string, outcome: JobOutcome) => {
        const memoryId = waiting.get(jobId);
        if (memoryId === undefined) return;
        waiting.delete(jobId);
        outcomes.set(memoryId, outcome);
        if (waiting.size === 0) finish();
      };
      const onCompleted = ({ jobId }: { jobId: string }) => settle(jobId, 'completed');
      const onFailed = ({ jobId }: { jobId: string }) => {
        // A failed attempt that will be retried is not the end of the job.
        void this.queue.getJobState(jobId).then((state) => {
          if (state === 'failed') settle(jobId, 'failed');
        });
      };
      const timer = setTimeout(finish, timeoutMs);
      events.on('completed', onCompleted);
      events.on('failed', onFailed);
      // Jobs that finished before we listened: completed and already removed ones read as 'unknown'.
      for (const jobId of [...waiting.keys()]) {
        void this.queue.getJobState(jobId).then((state) => {
          if (state === 'completed' || state === 'unknown') settle(jobId, 'completed');
          else if (state === 'failed') settle(jobId, 'failed');
        });
      }
    });
  }

  async depth(): Promise<number> {
    const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  }

  /**
   * Removes the matching job records in every state (`findJobs`), then the entries of the queue's event stream that
   * name them or the selector's memories (`added`, `completed`, `removed`: the job id holds the memory id).
   */
  async removeJobs(selector: EmbeddingJobSelector): Promise<RemovedJobs> {
    const found = await findJobs(this.queue, (data) => jobMatches(data, selector));
    const memoryIds = new Set(selector.memoryIds);
    for (const { job } of found) {
      memoryIds.add(job.data.memoryId);
      this.lastJobId.delete(job.data.memoryId);
    }
    const result = await removeFoundJobs(this.queue, found);
    // Job ids are `<memory id>_<hash>`.
    await removeEventEntries(this.redisUrl, this.queue, (jobId) => memoryIds.has(jobId.split('_')[0]));
    return result;
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.events?.close();
    await this.queue.close();
  }

  private remember(memoryId: string, jobId: string): void {
    // Bounded: only recent adds are ever waited for.
    if (this.lastJobId.size >= 100_000) this.lastJobId.delete(this.lastJobId.keys().next().value as string);
    this.lastJobId.delete(memoryId);
    this.lastJobId.set(memoryId, jobId);
  }

  private async queueEvents(): Promise<QueueEvents> {
    if (!this.events) {
      this.events = new QueueEvents(this.options.queueName, {
        connection: this.connection,
        prefix: queuePrefix(this.options.queueName),
      });
      this.events.on('error', () => undefined);
      await this.events.waitUntilReady();
    }
    return this.events;
  }
}
