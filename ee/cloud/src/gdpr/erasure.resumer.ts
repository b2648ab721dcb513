/* @license Enterprise */
import { Logger } from '@nestjs/common';
import type { CloudGdprService } from './gdpr.service.js';

/**
 * Finishes the erases that stopped half-way (a failed step, a crashed process): once at boot and then every
 * `intervalMs`, in the processes that run workers. Each erase is taken under its lock, so several processes resume
 * without running one twice, and an erase a request is running is left to it.
 */
export class ErasureResumer {
  private readonly logger = new Logger(ErasureResumer.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly gdpr: CloudGdprService,
    private readonly intervalMs = 30_000,
  ) {}

  start(): void {
    if (this.timer) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.gdpr
      .resumeUnfinished()
      .then((finished) => {
        if (finished > 0) this.logger.log(`resumed and finished ${finished} GDPR erase(s)`);
      })
      .catch((error: unknown) => this.logger.warn(`GDPR erases could not be resumed: ${(error as Error).message}`))
      .finally(() => {
        this.running = null;
      });
  }
}
