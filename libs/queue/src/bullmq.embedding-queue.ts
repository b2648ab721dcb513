import { Queue, QueueEvents, Worker, type ConnectionOptions, type Job, type JobState } from 'bullmq';
import { Redis } from 'ioredis';
import {
  jobMatches,
  type EmbeddingJob,
  type EmbeddingJobProcessor,
  type EmbeddingJobSelector,
  type EmbeddingQueue,
  type JobOutcome,
  type RemovedJobs,
} from '@engram/memory-core';
import { MicroBatcher } from './micro-batcher.js';
import { EMBEDDING_QUEUE_NAME } from './queue-names.js';

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

/** Upstream first: see `removeJobs`. */
const REMOVABLE_STATES: readonly JobState[] = [
  'delayed',
  'prioritized',
  'waiting-children',
  'waiting',
  'active',
  'completed',
  'failed',
];
const REMOVE_PAGE = 500;

function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
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
    await this.queue.addBulk(entries);
  }

  start(processor: EmbeddingJobProcessor): void {
    if (this.worker) return;
    const batcher = new MicroBatcher<EmbeddingJob>((jobs) => processor.process(jobs), this.options.concurrency, 5);
    this.worker = new Worker<EmbeddingJob>(
      this.options.queueName,
      (job: Job<EmbeddingJob>) => batcher.submit(job.data),
      {
        connection: this.connection,
        concurrency: this.options.concurrency,
        lockDuration: this.options.lockDurationMs,
        stalledInterval: this.options.stalledIntervalMs,
        maxStalledCount: 5,
      },
    );
    this.worker.on('failed', (job, error) => {
      if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) return;
      processor.fail(job.data, error.message).catch(() => {
        // The memory stays pending; the reconciler will queue it again.
      });
    });
    // Errors of the connection are retried by ioredis; without a listener Node would treat them as fatal.
    this.worker.on('error', () => undefined);
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
   * Reads every job record (a page at a time) and removes the matching ones, then the entries of the queue's event
   * stream that name them or the selector's memories (`added`, `completed`, `removed`: the job id holds the memory
   * id). States are read upstream first (delayed, waiting, then active, then finished), so a job moving on during
   * the scan is met again downstream; one moving back (a failed attempt waiting for its retry) is met by the next call.
   */
  async removeJobs(selector: EmbeddingJobSelector): Promise<RemovedJobs> {
    const matching: Array<{ id: string; state: JobState; memoryId: string }> = [];
    for (const state of REMOVABLE_STATES) {
      for (let start = 0; ; start += REMOVE_PAGE) {
        const page = await this.queue.getJobs([state], start, start + REMOVE_PAGE - 1, true);
        for (const job of page) {
          // A job removed while the page was read comes back empty.
          if (job?.id && job.data && jobMatches(job.data, selector))
            matching.push({ id: job.id, state, memoryId: job.data.memoryId });
        }
        if (page.length < REMOVE_PAGE) break;
      }
    }
    let removed = 0;
    let remaining = 0;
    const memoryIds = new Set(selector.memoryIds);
    for (const { id, state, memoryId } of matching) {
      memoryIds.add(memoryId);
      this.lastJobId.delete(memoryId);
      if (state === 'active' || (await this.queue.remove(id)) === 0) {
        // Locked by a worker, or gone meanwhile (completed and removed by its age): only the first is left.
        if ((await this.queue.getJobState(id)) !== 'unknown') remaining++;
      } else removed++;
    }
    await this.removeEvents(memoryIds);
    return { removed, remaining };
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.events?.close();
    await this.queue.close();
  }

  /** Deletes the event stream's entries whose job id is of one of these memories (ids are `<memory id>_<hash>`). */
  private async removeEvents(memoryIds: ReadonlySet<string>): Promise<void> {
    if (memoryIds.size === 0) return;
    const redis = new Redis(this.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      const key = this.queue.toKey('events');
      for (let from = '-'; ;) {
        const entries = await redis.xrange(key, from, '+', 'COUNT', REMOVE_PAGE);
        const named = entries.filter(([, fields]) => {
          const jobId = fieldOf(fields, 'jobId');
          return jobId !== undefined && memoryIds.has(jobId.split('_')[0]);
        });
        if (named.length > 0) await redis.xdel(key, ...named.map(([id]) => id));
        if (entries.length < REMOVE_PAGE) break;
        from = `(${entries[entries.length - 1][0]}`;
      }
    } finally {
      redis.disconnect();
    }
  }

  private remember(memoryId: string, jobId: string): void {
    // Bounded: only recent adds are ever waited for.
    if (this.lastJobId.size >= 100_000) this.lastJobId.delete(this.lastJobId.keys().next().value as string);
    this.lastJobId.delete(memoryId);
    this.lastJobId.set(memoryId, jobId);
  }

  private async queueEvents(): Promise<QueueEvents> {
    if (!this.events) {
      this.events = new QueueEvents(this.options.queueName, { connection: this.connection });
      this.events.on('error', () => undefined);
      await this.events.waitUntilReady();
    }
    return this.events;
  }
}
