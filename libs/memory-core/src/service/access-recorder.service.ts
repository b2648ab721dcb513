import { Inject, Injectable, Logger } from '@nestjs/common';
import type { MemoryAccess } from '../memory.js';
import { runOutsideRequestContext } from '../auth/request-context.js';
import { MemoryException } from '../memory.exception.js';
import type { MemoryProvider } from '../memory-provider.js';
import { scopeKey, type MemoryScope } from '../memory-scope.js';
import { MEMORY_PROVIDER } from '../memory-core.tokens.js';

/** How often buffered accesses are written. */
export const ACCESS_FLUSH_EVERY_MS = 1_000;
/** A buffer this full is written at once rather than at the next tick. */
export const ACCESS_FLUSH_AT = 5_000;
/**
 * Beyond this many buffered memories (the database unreachable for a while), new accesses are dropped with a
 * warning: access statistics are best-effort, the process's memory is not.
 */
export const ACCESS_BUFFER_MAX = 200_000;

interface ScopeBuffer {
  scope: MemoryScope;
  accesses: Map<string, MemoryAccess>;
}

/**
 * Access statistics (`accessCount`, `accessedAt`) written in batches, not one UPDATE per read: a search
 * answers without waiting for a write, and every flush is one statement per scope for all the accesses
 * since the last one, each memory updated once however often it was shown.
 *
 * What is lost: the accesses of the last second when the process dies without shutting down (a clean
 * shutdown flushes). Memories themselves never go through here.
 */
@Injectable()
export class AccessRecorder {
  private readonly logger = new Logger(AccessRecorder.name);
  private buffers = new Map<string, ScopeBuffer>();
  private buffered = 0;
  /** Unwritten accesses per memory (tenant and id), whatever scope they were seen through. */
  private pendingByMemory = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private dropped = 0;

  constructor(@Inject(MEMORY_PROVIDER) private readonly provider: MemoryProvider) {}

  /** Counts one access to each of `ids`, seen through `scope` at `at`. Never waits, never throws. */
  record(scope: MemoryScope, ids: readonly string[], at: Date): void {
    for (const id of ids) this.add(scope, { id, count: 1, at });
    if (this.buffered >= ACCESS_FLUSH_AT) void this.flush();
  }

  /**
   * Accesses to the memory `id` of the scope's tenant not written yet, through whatever scope they were seen:
   * what a reader who was just handed that memory adds to its stored count.
   */
  pending(scope: MemoryScope, id: string): number {
    return this.pendingByMemory.get(memoryKey(scope, id)) ?? 0;
  }

  /**
   * Writes everything buffered so far; resolves once it is written (or failed: failed accesses go back into the
   * buffer for the next flush). Flushes run one after another.
   */
  flush(): Promise<void> {
    // The buffer holds many callers' accesses: written outside whichever request happened to fill it.
    this.flushing = runOutsideRequestContext(() => this.flushing.then(() => this.write()));
    return this.flushing;
  }

  start(everyMs = ACCESS_FLUSH_EVERY_MS): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), everyMs);
    this.timer.unref();
  }

  /** Stops the timer and writes what is left. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.dropped > 0) {
      this.logger.warn(`dropped ${this.dropped} access counts: the buffer was full (is the database reachable?)`);
      this.dropped = 0;
    }
    if (this.buffered === 0) return;
    const buffers = this.buffers;
    this.buffers = new Map();
    this.buffered = 0;
    this.pendingByMemory = new Map();
    for (const buffer of buffers.values()) {
      try {
        await this.provider.recordAccess(buffer.scope, [...buffer.accesses.values()]);
      } catch (error) {
        // A refusal (MemoryException) would be refused again; only an outage is worth another try.
        if (error instanceof MemoryException) {
          this.logger.warn(`access counts refused, dropped: ${error.message}`);
          continue;
        }
        this.logger.warn(
          `writing ${buffer.accesses.size} access counts failed, kept for the next flush: ${(error as Error).message}`,
        );
        for (const access of buffer.accesses.values()) this.add(buffer.scope, access);
      }
    }
  }

  private add(scope: MemoryScope, access: MemoryAccess): void {
    const pendingKey = memoryKey(scope, access.id);
    const key = scopeKey(scope);
    let buffer = this.buffers.get(key);
    const seen = buffer?.accesses.get(access.id);
    if (!seen && this.buffered >= ACCESS_BUFFER_MAX) {
      this.dropped += access.count;
      return;
    }
    this.pendingByMemory.set(pendingKey, (this.pendingByMemory.get(pendingKey) ?? 0) + access.count);
    if (seen) {
      seen.count += access.count;
      if (access.at > seen.at) seen.at = access.at;
      return;
    }
    if (!buffer) {
      buffer = { scope, accesses: new Map() };
      this.buffers.set(key, buffer);
    }
    buffer.accesses.set(access.id, { ...access });
    this.buffered += 1;
  }
}

function memoryKey(scope: MemoryScope, id: string): string {
  return `${scope.tenantId}/${id}`;
}
