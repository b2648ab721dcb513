import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Clock } from '../extension-points.js';
import type { MemoryProvider } from '../memory-provider.js';
import { CLOCK, MEMORY_PROVIDER } from '../memory-core.tokens.js';

export const PURGE_EVERY_MS = 60_000;
/** Memories deleted per statement: small enough that one batch never holds many row locks for long. */
export const PURGE_BATCH = 1_000;

/**
 * Deletes expired memories. Reads already hide them (every provider compares the expiry with its clock), so nothing
 * depends on when this runs: it only gives the space back, and with it the rows that would otherwise slow every scan
 * of their scope. One pass at start, then one a minute; a pass purges in batches until a batch comes back short,
 * so a backlog (a deployment that was down, a source with a short TTL) is cleared in one pass without one huge
 * statement. Runs where the workers run; several processes purging at once skip each other's rows.
 */
@Injectable()
export class ExpiredMemoryPurger {
  private readonly logger = new Logger(ExpiredMemoryPurger.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    @Inject(MEMORY_PROVIDER) private readonly provider: MemoryProvider,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Purges, batch after batch, what has expired by `before`; returns how many memories were deleted. */
  async purge(before: Date, batch = PURGE_BATCH): Promise<number> {
    let total = 0;
    for (;;) {
      const purged = await this.provider.purgeExpired(before, batch);
      total += purged;
      if (purged < batch) break;
    }
    if (total > 0) this.logger.log(`purged ${total} expired memories`);
    return total;
  }

  start(options: { everyMs?: number; batch?: number } = {}): void {
    if (this.timer) return;
    const everyMs = options.everyMs ?? PURGE_EVERY_MS;
    this.pass(options.batch);
    this.timer = setInterval(() => this.pass(options.batch), everyMs);
    this.timer.unref();
  }

  /** Waits for a pass under way, so that the provider is not closed under it. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => 0);
  }

  /** One pass at a time: a pass still purging a backlog when the next tick comes is not doubled. */
  private pass(batch?: number): void {
    if (this.running) return;
    this.running = this.purge(this.clock.now(), batch)
      .catch((error: unknown) => {
        this.logger.warn(`expired memory purge failed: ${(error as Error).message}`);
        return 0;
      })
      .finally(() => (this.running = null));
  }
}
