import { Queue, type ConnectionOptions, type Worker } from 'bullmq';
import type { RemovedJobs } from '@engram/memory-core';
import { findJobs, removeEventEntries, removeFoundJobs } from './bullmq-job-scan.js';
import { startBullMqWorker } from './bullmq-worker.js';
import { withinEnqueueDeadline } from './enqueue-deadline.js';
import type { JobHandler, JobQueue } from './job-queue.js';
import { queuePrefix } from './queue-names.js';

export interface BullMqJobQueueOptions {
  redisUrl: string;
  queueName: string;
  /** Jobs one worker process handles at once. */
  concurrency?: number;
  attempts?: number;
  backoffMs?: number;
  /** Short, so that a killed worker's job is taken over within seconds (BullMQ's default lock is 30 s). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

/** A JobQueue on Redis, shared by every API and worker process of a deployment. */
export class BullMqJobQueue<T> implements JobQueue<T> {
  readonly durable = true;
  private readonly redisUrl: string;
  private readonly connection: ConnectionOptions;
  private readonly queue: Queue<T, unknown, string, T, unknown, string>;
  private worker: Worker<T> | null = null;
  private readonly options: Required<Omit<BullMqJobQueueOptions, 'redisUrl'>>;

  constructor(options: BullMqJobQueueOptions) {
    this.options = {
      queueName: options.queueName,
      concurrency: options.concurrency ?? 4,
      attempts: options.attempts ?? 3,
      backoffMs: options.backoffMs ?? 1000,
      lockDurationMs: options.lockDurationMs ?? 10_000,
      stalledIntervalMs: options.stalledIntervalMs ?? 5_000,
    };
    this.redisUrl = options.redisUrl;
    this.connection = { url: options.redisUrl, maxRetriesPerRequest: null };
    this.queue = new Queue<T, unknown, string, T, unknown, string>(this.options.queueName, {
      connection: this.connection,
      prefix: queuePrefix(this.options.queueName),
      defaultJobOptions: {
        attempts: this.options.attempts,
        backoff: { type: 'exponential', delay: this.options.backoffMs },
        // Kept briefly, so that enqueueing a job that has just finished again is a no-op; then Redis forgets it.
        removeOnComplete: { age: 600 },
        removeOnFail: { age: 24 * 3600 },
      },
    });
  }

  async enqueue(id: string, job: T): Promise<void> {
    // BullMQ ignores an add whose job id exists: the dedup of the interface.
    await withinEnqueueDeadline(this.options.queueName, this.queue.add('job', job, { jobId: id }));
  }

  start(handler: JobHandler<T>): void {
    if (this.worker) return;
    this.worker = startBullMqWorker<T>(
      { ...this.options, connection: this.connection },
      (job) => handler.handle(job),
      (job, reason) => handler.failed(job, reason),
    );
  }

  async removeJobs(matches: (job: T) => boolean): Promise<RemovedJobs> {
    const found = await findJobs(this.queue, matches);
    const result = await removeFoundJobs(this.queue, found);
    const ids = new Set(found.map(({ job }) => job.id));
    if (ids.size > 0) await removeEventEntries(this.redisUrl, this.queue, (jobId) => ids.has(jobId));
    return result;
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
