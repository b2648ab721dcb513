import { runOutsideRequestContext, type RemovedJobs } from '@engram/memory-core';
import type { JobHandler, JobQueue } from './job-queue.js';

export interface InProcessJobQueueOptions {
  /** Jobs handled at once. */
  concurrency?: number;
  attempts?: number;
  /** Backoff before retry n is `backoffMs * 2^(n-1)`. */
  backoffMs?: number;
}

interface Entry<T> {
  id: string;
  job: T;
  attempt: number;
}

/** The JobQueue of the embedded default (no Redis): jobs live in this process, and die with it. */
export class InProcessJobQueue<T> implements JobQueue<T> {
  readonly durable = false;
  private readonly waiting = new Map<string, Entry<T>>();
  private readonly running = new Map<string, Entry<T>>();
  private readonly runs = new Set<Promise<void>>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private handler: JobHandler<T> | null = null;
  private closed = false;
  private readonly concurrency: number;
  private readonly attempts: number;
  private readonly backoffMs: number;

  constructor(options: InProcessJobQueueOptions = {}) {
    this.concurrency = options.concurrency ?? 4;
    this.attempts = options.attempts ?? 3;
    this.backoffMs = options.backoffMs ?? 500;
  }

  enqueue(id: string, job: T): Promise<void> {
    if (this.closed) return Promise.reject(new Error('queue is closed'));
    if (!this.waiting.has(id) && !this.running.has(id)) this.waiting.set(id, { id, job, attempt: 1 });
    this.pump();
    return Promise.resolve();
  }

  start(handler: JobHandler<T>): void {
    this.handler = handler;
    this.pump();
  }

  removeJobs(matches: (job: T) => boolean): Promise<RemovedJobs> {
    let removed = 0;
    for (const [id, entry] of this.waiting) {
      if (!matches(entry.job)) continue;
      this.waiting.delete(id);
      removed++;
    }
    const remaining = [...this.running.values()].filter((entry) => matches(entry.job)).length;
    return Promise.resolve({ removed, remaining });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    await Promise.allSettled([...this.runs]);
  }

  private pump(): void {
    const handler = this.handler;
    if (!handler || this.closed) return;
    while (this.running.size < this.concurrency && this.waiting.size > 0) {
      const entry = this.waiting.values().next().value as Entry<T>;
      this.waiting.delete(entry.id);
      this.running.set(entry.id, entry);
      // A job is on behalf of its own caller: it must not run inside the request whose enqueue started it.
      const run = runOutsideRequestContext(() => this.run(handler, entry));
      this.runs.add(run);
      void run.finally(() => {
        this.runs.delete(run);
        this.pump();
      });
    }
  }

  private async run(handler: JobHandler<T>, entry: Entry<T>): Promise<void> {
    try {
      await handler.handle(entry.job);
      this.running.delete(entry.id);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (entry.attempt >= this.attempts || this.closed) {
        this.running.delete(entry.id);
        await handler.failed(entry.job, reason).catch(() => undefined);
        return;
      }
      // Still "running" while it waits for its retry, so an erase waits for it rather than missing it.
      const timer = setTimeout(
        () => {
          this.retryTimers.delete(timer);
          this.running.delete(entry.id);
          if (!this.closed) this.waiting.set(entry.id, { ...entry, attempt: entry.attempt + 1 });
          this.pump();
        },
        this.backoffMs * 2 ** (entry.attempt - 1),
      );
      this.retryTimers.add(timer);
    }
  }
}
