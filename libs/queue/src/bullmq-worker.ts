import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import { queuePrefix } from './queue-names.js';

export interface BullMqWorkerOptions {
  queueName: string;
  connection: ConnectionOptions;
  concurrency: number;
  /** Short, with a short stall check, so that a killed worker's jobs run elsewhere within seconds. */
  lockDurationMs: number;
  stalledIntervalMs: number;
}

/**
 * A BullMQ worker as both Engram queues run one: `run` for each job, and `onLastFailure` once a job has no attempt
 * left (a failed attempt that will be retried is not reported).
 */
export function startBullMqWorker<T>(
  options: BullMqWorkerOptions,
  run: (data: T) => Promise<unknown>,
  onLastFailure: (data: T, reason: string) => Promise<void>,
): Worker<T> {
  const worker = new Worker<T>(options.queueName, (job: Job<T>) => run(job.data), {
    connection: options.connection,
    prefix: queuePrefix(options.queueName),
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    maxStalledCount: 5,
  });
  worker.on('failed', (job, error) => {
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) return;
    onLastFailure(job.data, error.message).catch(() => undefined);
  });
  // Errors of the connection are retried by ioredis; without a listener Node would treat them as fatal.
  worker.on('error', () => undefined);
  return worker;
}
