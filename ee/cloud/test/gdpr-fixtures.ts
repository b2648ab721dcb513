/* @license Enterprise */
import { Redis } from 'ioredis';
import type { SqlExecutor } from '@engram/memory-postgres';
import type { ErasableStore } from '../src/gdpr/erasable-store.js';
import type { ErasureTarget } from '../src/gdpr/erasure.js';

/**
 * What the GDPR tests share: Redis databases of their own, a scan of every table and every Redis key for a data
 * subject's traces, and a key-value store on Redis standing in for the one a later issue adds.
 */

/** A Redis database of the GDPR tests' own (14: the erase's integration tests, 15: the HTTP ones). */
export function testRedisUrl(db: 14 | 15): string {
  const url = new URL(process.env.ENGRAM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  url.pathname = `/${db}`;
  return url.toString();
}

export interface Trace {
  where: string;
  /** The row or value, as text. */
  text: string;
}

/** Every row of every table of the database (read as its owner, a superuser: row-level security does not hide it). */
export async function scanTables(owner: SqlExecutor, needles: readonly string[]): Promise<Trace[]> {
  const tables = await owner.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const traces: Trace[] = [];
  for (const { name } of tables) {
    // The names come from the catalog; quoted as identifiers all the same.
    const rows = await owner.query<{ text: string }>(`SELECT t::text AS text FROM "${name.replace(/"/g, '""')}" t`);
    for (const { text } of rows)
      if (needles.some((needle) => text.includes(needle))) traces.push({ where: name, text });
  }
  return traces;
}

/** Every key of the connection's Redis database, with its value whatever its type (streams included). */
export async function scanRedis(redis: Redis, needles: readonly string[]): Promise<Trace[]> {
  const traces: Trace[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const text = `${key} ${JSON.stringify(await valueOf(redis, key))}`;
      if (needles.some((needle) => text.includes(needle))) traces.push({ where: key, text });
    }
  } while (cursor !== '0');
  return traces;
}

async function valueOf(redis: Redis, key: string): Promise<unknown> {
  switch (await redis.type(key)) {
    case 'string':
      return redis.get(key);
    case 'hash':
      return redis.hgetall(key);
    case 'list':
      return redis.lrange(key, 0, -1);
    case 'set':
      return redis.smembers(key);
    case 'zset':
      return redis.zrange(key, 0, -1, 'WITHSCORES');
    case 'stream':
      return redis.xrange(key, '-', '+');
    default:
      return null;
  }
}

/**
 * A key-value store on Redis, keyed by tenant and user as the KV memory store will be: what the erase's list of
 * erasable stores is for. `failures` makes its next erases throw (a crash injected after the memories step).
 */
export class RedisKeyValueStore implements ErasableStore {
  readonly name = 'redis-kv';
  failures = 0;

  constructor(private readonly redis: Redis) {}

  async set(tenantId: string, userId: string, key: string, value: string): Promise<void> {
    await this.redis.set(`kv:{${tenantId}}:${userId}:${key}`, JSON.stringify({ userId, value }));
  }

  async keys(tenantId: string, userId: string): Promise<string[]> {
    return this.redis.keys(`kv:{${tenantId}}:${glob(userId)}:*`);
  }

  async erase(target: ErasureTarget): Promise<number> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('injected failure: the key-value store is unreachable');
    }
    const pattern =
      target.kind === 'subject' ? `kv:{${target.tenantId}}:${glob(target.userId)}:*` : `kv:{${target.tenantId}}:*`;
    const keys = await this.redis.keys(pattern);
    return keys.length === 0 ? 0 : this.redis.del(...keys);
  }
}

function glob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
