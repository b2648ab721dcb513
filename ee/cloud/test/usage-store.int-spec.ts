/* @license Enterprise */
import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { asTenantId, type TenantId } from '@engram/memory-core';
import { Redis } from 'ioredis';
import { InProcessUsageStore } from '../src/usage/in-process.usage-store.js';
import { RedisUsageStore } from '../src/usage/redis.usage-store.js';
import { NO_USAGE, type UsageStore } from '../src/usage/usage.store.js';

/**
 * The two usage stores hold to the same rules; Redis's also under concurrent callers (its scripts are atomic). Redis
 * database 13 of the machine's Redis, under a prefix of this run's own, removed at the end (nothing is flushed).
 */
const REDIS_URL = 'redis://127.0.0.1:6379/13';
const PREFIX = `engram-test:usage:${randomUUID()}`;
const LIMITS = { maxRequests: null, requestsPerMinute: null };
const FAR = new Date(Date.now() + 3600_000);

const redis = new Redis(REDIS_URL, { lazyConnect: true });
afterAll(async () => {
  const keys = await redis.keys(`${PREFIX}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const stores: [string, () => UsageStore][] = [
  ['RedisUsageStore', () => new RedisUsageStore({ redisUrl: REDIS_URL, prefix: PREFIX })],
  ['InProcessUsageStore', () => new InProcessUsageStore()],
];

describe.each(stores)('%s', (_name, open) => {
  let store: UsageStore;
  let tenant: TenantId;
  const period = '2026-05';

  beforeEach(async () => {
    if (store) await store.close();
    store = open();
    tenant = asTenantId(randomUUID());
  });
  afterAll(() => store.close());

  it('knows no counters of a period until they are restored', async () => {
    expect(await store.admitRequest(tenant, period, 'k', LIMITS)).toEqual({ outcome: 'unknown' });
    expect(await store.reserve(tenant, period, 'searches', 1, null)).toEqual({ outcome: 'unknown' });
    expect(await store.readPeriod(tenant, period)).toBeNull();
    await store.restorePeriod(tenant, period, NO_USAGE, FAR);
    expect(await store.readPeriod(tenant, period)).toEqual(NO_USAGE);
  });

  it('restores without ever lowering a counter', async () => {
    await store.restorePeriod(tenant, period, { ...NO_USAGE, requests: 5, reads: 1 }, FAR);
    await store.restorePeriod(tenant, period, { ...NO_USAGE, requests: 3, reads: 4 }, FAR);
    expect(await store.readPeriod(tenant, period)).toMatchObject({ requests: 5, reads: 4 });
  });

  it('admits exactly the monthly cap, even to concurrent callers', async () => {
    await store.restorePeriod(tenant, period, NO_USAGE, FAR);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.admitRequest(tenant, period, `k${i}`, { maxRequests: 7, requestsPerMinute: null }),
      ),
    );
    expect(outcomes.filter((o) => o.outcome === 'admitted')).toHaveLength(7);
    expect(outcomes.filter((o) => o.outcome === 'quota_exceeded')).toHaveLength(13);
    expect((await store.readPeriod(tenant, period))?.requests).toBe(7);
  });

  it('admits exactly a key’s bucket, even to concurrent callers, and counts only what it admitted', async () => {
    await store.restorePeriod(tenant, period, NO_USAGE, FAR);
    const limits = { maxRequests: null, requestsPerMinute: 10 };
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, () => store.admitRequest(tenant, period, 'k', limits)),
    );
    const admitted = outcomes.flatMap((o) => (o.outcome === 'admitted' ? [o] : []));
    expect(admitted).toHaveLength(10);
    expect(admitted.map((o) => o.bucket?.remaining).sort((a, b) => a! - b!)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const refused = outcomes.find((o) => o.outcome === 'rate_limited');
    expect(refused).toMatchObject({ bucket: { capacity: 10, remaining: 0 } });
    if (refused?.outcome === 'rate_limited') {
      expect(refused.retryAfterMs).toBeGreaterThan(5_000);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(6_000);
    }
    expect((await store.readPeriod(tenant, period))?.requests).toBe(10);
    // Another key of the tenant has a bucket of its own.
    expect((await store.admitRequest(tenant, period, 'other', limits)).outcome).toBe('admitted');
  });

  it('reserves up to a cap and no further, and takes back', async () => {
    await store.restorePeriod(tenant, period, NO_USAGE, FAR);
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () => store.reserve(tenant, period, 'embedding_tokens', 30, 100)),
    );
    expect(outcomes.filter((o) => o.outcome === 'reserved')).toHaveLength(3);
    expect(await store.reserve(tenant, period, 'embedding_tokens', 10, 100)).toEqual({
      outcome: 'reserved',
      used: 100,
    });
    expect(await store.reserve(tenant, period, 'embedding_tokens', 1, 100)).toEqual({ outcome: 'refused', used: 100 });
    expect(await store.reserve(tenant, period, 'embedding_tokens', -40, null)).toEqual({
      outcome: 'reserved',
      used: 60,
    });
  });

  it('keeps the memories stored once loaded, and drops a count that would go negative', async () => {
    expect(await store.reserveMemories(tenant, 1, 10)).toEqual({ outcome: 'unknown' });
    await store.loadMemories(tenant, 8, 60_000);
    await store.loadMemories(tenant, 0, 60_000); // loaded already: kept
    expect(await store.reserveMemories(tenant, 2, 10)).toEqual({ outcome: 'reserved', used: 10 });
    expect(await store.reserveMemories(tenant, 1, 10)).toEqual({ outcome: 'refused', used: 10 });
    await store.releaseMemories(tenant, 3);
    expect(await store.reserveMemories(tenant, 3, 10)).toEqual({ outcome: 'reserved', used: 10 });
    await store.releaseMemories(tenant, 11);
    expect(await store.reserveMemories(tenant, 1, 10)).toEqual({ outcome: 'unknown' });
  });
});

describe('RedisUsageStore keys', () => {
  it('hash-tags every key of a tenant alike, names no data subject, and expires what it can', async () => {
    const store = new RedisUsageStore({ redisUrl: REDIS_URL, prefix: PREFIX });
    const tenant = asTenantId(randomUUID());
    try {
      await store.restorePeriod(tenant, '2026-05', NO_USAGE, FAR);
      await store.admitRequest(tenant, '2026-05', 'key1', { maxRequests: null, requestsPerMinute: 5 });
      await store.loadMemories(tenant, 1, 60_000);
      const keys = (await redis.keys(`${PREFIX}:{${tenant}}:*`)).sort();
      expect(keys).toEqual(
        [`${PREFIX}:{${tenant}}:2026-05`, `${PREFIX}:{${tenant}}:memories`, `${PREFIX}:{${tenant}}:rate:key1`].sort(),
      );
      for (const key of keys) expect(await redis.pttl(key)).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });
});
