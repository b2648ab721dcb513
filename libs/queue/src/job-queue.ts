import type { RemovedJobs } from '@engram/memory-core';

/** What a worker does with the jobs of one queue. */
export interface JobHandler<T> {
  /** Does the job; a throw is a failed attempt, retried with backoff while attempts remain. */
  handle(job: T): Promise<void>;
  /** The job failed its last attempt: record it where its client will see it. */
  failed(job: T, reason: string): Promise<void>;
}

/**
 * Background jobs of one kind, each handled on its own (the embedding queue is the other kind: batched per memory).
 * The API enqueues; processes that run workers `start` a handler. `BullMqJobQueue` shares the jobs of a deployment
 * through Redis, so a job outlives the process that enqueued it and a killed worker's job is taken over after the
 * stall check; `InProcessJobQueue` is the embedded default's, with the same interface in one process.
 */
export interface JobQueue<T> {
  /** True when jobs outlive this process (Redis): a job left by a dead process is handled elsewhere. */
  readonly durable: boolean;
  /** Adds a job. An id already queued or running is not added twice, so enqueueing again is safe. */
  enqueue(id: string, job: T): Promise<void>;
  start(handler: JobHandler<T>): void;
  /**
   * Removes the matching jobs in every state, finished ones included (a GDPR erase). A running job cannot be removed:
   * it is counted in `remaining`, and the caller waits for it and calls again.
   */
  removeJobs(matches: (job: T) => boolean): Promise<RemovedJobs>;
  /** Stops taking jobs and waits for the running ones. */
  close(): Promise<void>;
}
