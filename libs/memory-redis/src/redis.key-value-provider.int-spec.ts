import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { TenantId } from '@engram/memory-core';
import { describeKeyValueProviderContract } from '@engram/memory-core/testing';
import { KV_COMPRESS_ABOVE_BYTES, RedisKeyValueProvider } from './redis.key-value-provider.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The KV contract tests' database: flushed at the start and end of this file, so no other test may use it. */
const DB = 9;

/** The raw Redis keys of a tenant, as the provider lays them out (see its layout comment). */
function rawKeys(tenantId: TenantId) {
  const prefix = `engram:kv:{${tenantId}}:`;
  return {
    prefix,
    entry: (key: string) => `${prefix}e:${key}`,
    idx: `${prefix}idx`,
    tagMap: `${prefix}tags`,
    tag: (name: string, value: string) => `${prefix}tag:${encodeURIComponent(name)}=${encodeURIComponent(value)}`,
  };
}

/** Which of the tenant's indexes (key index, tag map, every tag index) hold `key`, read with SCAN, never KEYS. */
async function indexesHolding(admin: Redis, tenantId: TenantId, key: string): Promise<string[]> {
  const raw = rawKeys(tenantId);
  const held: string[] = [];
  if ((await admin.zscore(raw.idx, key)) !== null) held.push('idx');
  if ((await admin.hexists(raw.tagMap, key)) === 1) held.push('tags');
  let cursor = '0';
  do {
    const [next, found] = await admin.scan(cursor, 'MATCH', `${raw.prefix}tag:*`, 'COUNT', 1000);
    for (const index of found) if ((await admin.zscore(index, key)) !== null) held.push(index.slice(raw.prefix.length));
    cursor = next;
  } while (cursor !== '0');
  return held;
}

describeKeyValueProviderContract('RedisKeyValueProvider', async () => {
  const admin = new Redis(REDIS_URL, { db: DB });
  await admin.flushdb();
  const provider = new RedisKeyValueProvider({ redisUrl: REDIS_URL, db: DB });
  return {
    provider,
    elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    indexesHolding: (tenantId, key) => indexesHolding(admin, tenantId, key),
    async teardown() {
      await provider.close();
      await admin.flushdb();
      await admin.quit();
    },
  };
});

describe('RedisKeyValueProvider storage', () => {
  let admin: Redis;
  let kv: RedisKeyValueProvider;
  let tenant: TenantId;
  let raw: ReturnType<typeof rawKeys>;
  /** About 40 KB of JSON that compresses well, as agents' working memory (transcripts, lists) does. */
  const large = {
    turns: Array.from({ length: 400 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i} text` })),
  };
  const largeJson = JSON.stringify(large);

  beforeAll(() => {
    admin = new Redis(REDIS_URL, { db: DB });
    kv = new RedisKeyValueProvider({ redisUrl: REDIS_URL, db: DB });
  });
  afterAll(async () => {
    await kv.close();
    await admin.quit();
  });
  beforeEach(() => {
    tenant = randomUUID() as TenantId;
    raw = rawKeys(tenant);
  });

  it('should store a value above the threshold compressed, smaller, and read it back whole', async () => {
    expect(Buffer.byteLength(largeJson)).toBeGreaterThan(KV_COMPRESS_ABOVE_BYTES);
    await kv.set(tenant, 'big', large, { tags: { kind: 'transcript' } });
    expect(await admin.hget(raw.entry('big'), 'z')).toBe('br');
    const stored = await admin.hstrlen(raw.entry('big'), 'v');
    expect(stored).toBeLessThan(Buffer.byteLength(largeJson) / 4);
    expect((await kv.get(tenant, 'big'))?.value).toEqual(large);
    expect((await kv.getMany(tenant, ['big']))[0]?.value).toEqual(large);
    expect(
      (await kv.scan(tenant, { tag: { name: 'kind', value: 'transcript' }, limit: 10 })).entries[0]?.value,
    ).toEqual(large);
  });

  it('should compress in batch writes too', async () => {
    await kv.setMany(tenant, [
      { key: 'big', value: large },
      { key: 'small', value: 'short' },
    ]);
    expect(await admin.hget(raw.entry('big'), 'z')).toBe('br');
    expect(await admin.hexists(raw.entry('small'), 'z')).toBe(0);
    expect((await kv.getMany(tenant, ['small', 'big'])).map((e) => e.value)).toEqual(['short', large]);
  });

  it('should keep a value at or below the threshold as plain JSON', async () => {
    const value = { note: 'x'.repeat(KV_COMPRESS_ABOVE_BYTES - 20) };
    expect(Buffer.byteLength(JSON.stringify(value))).toBeLessThanOrEqual(KV_COMPRESS_ABOVE_BYTES);
    await kv.set(tenant, 'small', value);
    expect(await admin.hexists(raw.entry('small'), 'z')).toBe(0);
    expect(await admin.hget(raw.entry('small'), 'v')).toBe(JSON.stringify(value));
  });

  it('should store plain JSON when an overwrite makes the value small again', async () => {
    await kv.set(tenant, 'k', large);
    await kv.set(tenant, 'k', 'now small');
    expect(await admin.hexists(raw.entry('k'), 'z')).toBe(0);
    expect((await kv.get(tenant, 'k'))?.value).toBe('now small');
  });

  it('should not compress when the threshold is Infinity', async () => {
    const plain = new RedisKeyValueProvider({ redisUrl: REDIS_URL, db: DB, compressAboveBytes: Infinity });
    try {
      await plain.set(tenant, 'big', large);
      expect(await admin.hexists(raw.entry('big'), 'z')).toBe(0);
      expect(await admin.hget(raw.entry('big'), 'v')).toBe(largeJson);
      expect((await kv.get(tenant, 'big'))?.value).toEqual(large);
    } finally {
      await plain.close();
    }
  });

  it('should read, reindex and delete an entry written before compression and the tag map', async () => {
    // The layout of the first release: no `z`, the entry's tag indexes in its own `ts` field, no tag map.
    const now = Date.now();
    await admin.hset(raw.entry('old'), {
      v: largeJson,
      t: JSON.stringify({ color: 'red' }),
      u: 'alice',
      c: now,
      m: now,
      x: '',
      ts: JSON.stringify([raw.tag('color', 'red')]),
    });
    await admin.zadd(raw.idx, 0, 'old');
    await admin.zadd(raw.tag('color', 'red'), 0, 'old');
    expect(await kv.get(tenant, 'old')).toMatchObject({ value: large, tags: { color: 'red' }, userId: 'alice' });
    await kv.set(tenant, 'old', 1, { tags: { color: 'blue' } });
    expect(await admin.zscore(raw.tag('color', 'red'), 'old')).toBeNull();
    expect(await kv.delete(tenant, 'old')).toBe(true);
    expect(await indexesHolding(admin, tenant, 'old')).toEqual([]);
  });

  it('should drop a stale tag index member of a live entry from before the tag map when a scan meets it', async () => {
    const now = Date.now();
    await admin.hset(raw.entry('k'), { v: '1', t: '{}', u: '', c: now, m: now, x: '', ts: '[]' });
    await admin.zadd(raw.idx, 0, 'k');
    await admin.zadd(raw.tag('color', 'red'), 0, 'k');
    expect((await kv.scan(tenant, { tag: { name: 'color', value: 'red' }, limit: 10 })).entries).toEqual([]);
    expect(await admin.zscore(raw.tag('color', 'red'), 'k')).toBeNull();
    expect(await admin.zscore(raw.idx, 'k')).not.toBeNull();
  });
});
