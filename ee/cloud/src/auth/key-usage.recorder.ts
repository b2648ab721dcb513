import { Logger } from '@nestjs/common';
import type { TenantRepository } from '../tenants/tenant.repository.js';

/** How often the keys' `last_used_at` is written: often enough for "is this key still in use?", no more. */
export const KEY_USAGE_FLUSH_EVERY_MS = 60_000;

/**
 * `last_used_at` without a write per request: uses are kept in memory (the latest per key) and written in one
 * statement per flush. A crash loses at most a minute of "last used" times, never a key.
 */
export class KeyUsageRecorder {
  private readonly logger = new Logger(KeyUsageRecorder.name);
  private uses = new Map<string, Date>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly tenants: TenantRepository) {}

  record(keyId: string, at: Date): void {
    const seen = this.uses.get(keyId);
    if (!seen || at > seen) this.uses.set(keyId, at);
  }

  async flush(): Promise<void> {
    if (this.uses.size === 0) return;
    const uses = this.uses;
    this.uses = new Map();
    try {
      await this.tenants.touchKeys(uses);
    } catch (error) {
      this.logger.warn(
        `writing the last use of ${uses.size} keys failed, kept for the next flush: ${(error as Error).message}`,
      );
      for (const [id, at] of uses) this.record(id, at);
    }
  }

  start(everyMs = KEY_USAGE_FLUSH_EVERY_MS): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
