import { Inject, Injectable, Logger } from '@nestjs/common';
import type { EmbeddingQueue } from '../embedding-queue.js';
import type { Clock } from '../extension-points.js';
import type { MemoryProvider } from '../memory-provider.js';
import { CLOCK, EMBEDDING_QUEUE, MEMORY_PROVIDER } from '../memory-core.tokens.js';

/** A pending memory older than this is assumed to have lost its job (Redis flushed, process killed). */
export const RECONCILE_AFTER_MS = 15_000;
export const RECONCILE_EVERY_MS = 10_000;
const RECONCILE_BATCH = 10_000;

/**
 * Makes "an acknowledged write is never lost" true when the queue loses jobs: the database is the
 * record of what must be embedded, the queue only a means. Pending memories whose job may be gone
 * are queued again; job ids make that a no-op for jobs that are in fact still queued.
 */
@Injectable()
export class EmbeddingReconciler {
  private readonly logger = new Logger(EmbeddingReconciler.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    @Inject(MEMORY_PROVIDER) private readonly provider: MemoryProvider,
    @Inject(EMBEDDING_QUEUE) private readonly queue: EmbeddingQueue,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * Queues again the oldest pending memories last changed before `olderThan` (one bounded page: the
   * next pass takes the rest, once these are embedded); returns how many.
   */
  async reconcile(olderThan: Date): Promise<number> {
    const jobs = await this.provider.listPending(olderThan, RECONCILE_BATCH);
    if (jobs.length === 0) return 0;
    await this.queue.enqueue(jobs);
    this.logger.log(`queued ${jobs.length} pending memories again`);
    return jobs.length;
  }

  /** One pass at once for everything pending (a restart), then periodic passes for what lingers. */
  start(options: { everyMs?: number; afterMs?: number } = {}): void {
    if (this.timer) return;
    const everyMs = options.everyMs ?? RECONCILE_EVERY_MS;
    const afterMs = options.afterMs ?? RECONCILE_AFTER_MS;
    this.pass(this.clock.now());
    this.timer = setInterval(() => this.pass(new Date(this.clock.now().getTime() - afterMs)), everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => 0);
  }

  private pass(olderThan: Date): void {
    if (this.running) return;
    this.running = this.reconcile(olderThan)
      .catch((error: unknown) => {
        this.logger.warn(`reconcile pass failed: ${(error as Error).message}`);
        return 0;
      })
      .finally(() => (this.running = null));
  }
}
