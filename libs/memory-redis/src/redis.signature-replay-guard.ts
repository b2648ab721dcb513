import { Redis } from 'ioredis';
import { MemoryException, MemoryExceptionCode, type SignatureReplayGuard } from '@engram/memory-core';

export interface RedisSignatureReplayGuardOptions {
  redisUrl: string;
  /** Redis database, e.g. a separate one for tests. */
  db?: number;
  /** Prepended to every key. */
  prefix?: string;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
}

export const SIGNATURE_REPLAY_KEY_PREFIX = 'engram:sig:';

/**
 * The replay guard every API process shares (REDIS_URL set): one `SET <prefix><signature> 1 NX PX <ttl>` per signed
 * request. NX makes the first process to claim a signature the only one that gets true, atomically, so a captured
 * request sent to two processes at once is still accepted once. The key expires when the request's timestamp leaves
 * the window, which bounds Redis's memory by the signed traffic of one window and needs no sweeping.
 *
 * Keys name the signature only (an HMAC: it tells nothing of the request or its tenant), with no hash tag: claims are
 * independent single-key commands, so they spread over a cluster's slots.
 */
export class RedisSignatureReplayGuard implements SignatureReplayGuard {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly now: () => number;

  constructor(options: RedisSignatureReplayGuardOptions) {
    // Lazy: a deployment that never receives a signed request never opens this connection.
    this.redis = new Redis(options.redisUrl, { db: options.db, lazyConnect: true, maxRetriesPerRequest: 2 });
    // ioredis reconnects by itself and fails the commands it cannot run (a 503 to the caller); without a listener
    // every failed reconnect would also be printed to stderr.
    this.redis.on('error', () => undefined);
    this.prefix = options.prefix ?? SIGNATURE_REPLAY_KEY_PREFIX;
    this.now = options.now ?? Date.now;
  }

  async firstUse(signature: string, expiresAt: number): Promise<boolean> {
    // At least a millisecond: a request at the very edge of its window is still remembered for the instant it is served.
    const ttlMs = Math.max(1, Math.ceil(expiresAt - this.now()));
    let reply: string | null;
    try {
      reply = await this.redis.set(`${this.prefix}${signature}`, '1', 'PX', ttlMs, 'NX');
    } catch {
      // Fail closed: without the shared memory a replay cannot be told from a first use.
      throw new MemoryException(
        MemoryExceptionCode.DEPENDENCY_UNAVAILABLE,
        'signed requests cannot be checked for replays right now (the replay store is unavailable)',
        { dependency: 'signature_replay_guard' },
      );
    }
    return reply === 'OK';
  }

  async close(): Promise<void> {
    // QUIT only on a live connection: one never opened (lazy) or still reconnecting would wait for it instead.
    if (this.redis.status !== 'ready') {
      this.redis.disconnect();
      return;
    }
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
