/* @license Enterprise */
import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { Embedder } from '@engram/memory-core';

/** An embedder with a cache that forgets texts by content hash: the runtime's CachedEmbedder (libs/embeddings). */
export interface ContentEvictingCache {
  evictContent(contentHashes: Iterable<string>): number;
  clear(): number;
}

export function evictingCacheOf(embedder: Embedder): ContentEvictingCache | null {
  const cache = embedder as Partial<ContentEvictingCache>;
  return typeof cache.evictContent === 'function' && typeof cache.clear === 'function'
    ? (cache as ContentEvictingCache)
    : null;
}

export interface EmbeddingCachePurgerOptions {
  /** Absent: one process (the in-process queue), whose own cache is all there is. */
  redisUrl?: string;
  /**
   * The pub/sub channel. Redis channels are not per database: the default names the URL's database, so that
   * deployments (or test runs) on different databases of one server do not count each other's processes.
   */
  channel?: string;
  /** How long every process reached has to confirm its eviction. */
  replyTimeoutMs?: number;
}

interface EvictionMessage {
  replyTo: string;
  hashes: string[];
}

function defaultChannel(redisUrl: string | undefined): string {
  const db = redisUrl ? Number(new URL(redisUrl).pathname.slice(1) || 0) : 0;
  return `engram:gdpr:embedding-cache-evict:db${db}`;
}
/** Hashes per message: a whole tenant's can be many. */
const CHUNK = 5_000;

/**
 * Empties the embedding cache of every process of the deployment of a subject's texts. Each API and worker process
 * keeps a cache of its own (CachedEmbedder, keyed by model and text digest): the process running the erase evicts
 * from its own, then publishes the content hashes on a Redis channel that every process of the cloud edition
 * listens to; each evicts and answers with its count on a reply list, and the erase waits for every process that
 * the message reached. A process that does not answer in time fails the step (the erase resumes later). A process
 * whose subscription broke (Redis unreachable for a while) empties its whole cache once it is back: it cannot know
 * which evictions it missed.
 */
export class EmbeddingCachePurger {
  private readonly logger = new Logger(EmbeddingCachePurger.name);
  private readonly cache: ContentEvictingCache | null;
  private readonly channel: string;
  private readonly replyTimeoutMs: number;
  private subscriber: Redis | null = null;
  private commands: Redis | null = null;

  constructor(
    embedder: Embedder,
    private readonly options: EmbeddingCachePurgerOptions = {},
  ) {
    this.cache = evictingCacheOf(embedder);
    this.channel = options.channel ?? defaultChannel(options.redisUrl);
    this.replyTimeoutMs = options.replyTimeoutMs ?? 5_000;
  }

  /** Listens for the evictions of other processes. */
  async start(): Promise<void> {
    if (!this.options.redisUrl || this.subscriber) return;
    const subscriber = new Redis(this.options.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined);
    let subscribed = false;
    // ioredis subscribes again by itself after a reconnection; what was published meanwhile is lost.
    subscriber.on('ready', () => {
      if (subscribed) this.cache?.clear();
    });
    subscriber.on('message', (_channel: string, message: string) => void this.answer(message));
    await subscriber.connect();
    await subscriber.subscribe(this.channel);
    subscribed = true;
  }

  async stop(): Promise<void> {
    const connections = [this.subscriber, this.commands];
    this.subscriber = null;
    this.commands = null;
    for (const connection of connections) connection?.disconnect();
  }

  /** Evicts the texts of these content hashes from every process's cache; the entries evicted, over all of them. */
  async purge(contentHashes: readonly string[]): Promise<number> {
    if (contentHashes.length === 0) return 0;
    let evicted = this.cache?.evictContent(contentHashes) ?? 0;
    if (!this.options.redisUrl) return evicted;
    const redis = this.commandConnection();
    for (let start = 0; start < contentHashes.length; start += CHUNK) {
      const message: EvictionMessage = {
        replyTo: `${this.channel}:reply:${randomUUID()}`,
        hashes: contentHashes.slice(start, start + CHUNK),
      };
      const receivers = await redis.publish(this.channel, JSON.stringify(message));
      evicted += await this.collect(redis, message.replyTo, receivers);
    }
    return evicted;
  }

  private async collect(redis: Redis, replyTo: string, expected: number): Promise<number> {
    const deadline = Date.now() + this.replyTimeoutMs;
    try {
      for (;;) {
        const replies = await redis.lrange(replyTo, 0, -1);
        if (replies.length >= expected) return replies.reduce((sum, n) => sum + Number(n), 0);
        if (Date.now() >= deadline)
          throw new Error(`${expected - replies.length} of ${expected} processes did not confirm their cache eviction`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await redis.del(replyTo);
    }
  }

  private async answer(raw: string): Promise<void> {
    try {
      const message = JSON.parse(raw) as EvictionMessage;
      const evicted = this.cache?.evictContent(message.hashes) ?? 0;
      const redis = this.commandConnection();
      // Expires in case the asking process gave up (and deleted its list) before this answer.
      await redis.multi().rpush(message.replyTo, String(evicted)).pexpire(message.replyTo, 60_000).exec();
    } catch (error) {
      this.logger.warn(`an embedding cache eviction failed: ${(error as Error).message}`);
    }
  }

  private commandConnection(): Redis {
    if (!this.options.redisUrl) throw new Error('no Redis configured');
    if (!this.commands) {
      this.commands = new Redis(this.options.redisUrl, { maxRetriesPerRequest: 3 });
      this.commands.on('error', () => undefined);
    }
    return this.commands;
  }
}
