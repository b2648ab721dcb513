import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { MemoryException, MemoryExceptionCode } from '@engram/memory-core';
import { RedisSignatureReplayGuard, SIGNATURE_REPLAY_KEY_PREFIX } from './redis.signature-replay-guard.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The Redis database of the signed-request tests (no other suite uses it). */
const DB = 4;
const SIGNATURE = 'ab'.repeat(32);

describe('RedisSignatureReplayGuard', () => {
  let admin: Redis;
  let a: RedisSignatureReplayGuard;
  let b: RedisSignatureReplayGuard;

  beforeAll(() => {
    admin = new Redis(REDIS_URL, { db: DB });
    a = new RedisSignatureReplayGuard({ redisUrl: REDIS_URL, db: DB });
    b = new RedisSignatureReplayGuard({ redisUrl: REDIS_URL, db: DB });
  });
  beforeEach(async () => {
    await admin.flushdb();
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await admin?.quit();
  });

  it('should accept a signature once, whichever process (connection) sees it again', async () => {
    const expiresAt = Date.now() + 60_000;
    expect(await a.firstUse(SIGNATURE, expiresAt)).toBe(true);
    expect(await a.firstUse(SIGNATURE, expiresAt)).toBe(false);
    expect(await b.firstUse(SIGNATURE, expiresAt)).toBe(false);
    expect(await b.firstUse('cd'.repeat(32), expiresAt)).toBe(true);
  });

  it('should let exactly one of many simultaneous claims of one signature win', async () => {
    const expiresAt = Date.now() + 60_000;
    const claims = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).firstUse(SIGNATURE, expiresAt)),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
  });

  it('should keep a signature under its prefix until its timestamp leaves the window, then forget it', async () => {
    expect(await a.firstUse(SIGNATURE, Date.now() + 300)).toBe(true);
    const ttl = await admin.pttl(`${SIGNATURE_REPLAY_KEY_PREFIX}${SIGNATURE}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await admin.exists(`${SIGNATURE_REPLAY_KEY_PREFIX}${SIGNATURE}`)).toBe(0);
    expect(await a.firstUse(SIGNATURE, Date.now() + 300)).toBe(true);
  });

  it('should fail closed, as a dependency outage, when Redis cannot be reached', async () => {
    const down = new RedisSignatureReplayGuard({ redisUrl: 'redis://127.0.0.1:1', db: DB });
    try {
      const error = await down.firstUse(SIGNATURE, Date.now() + 60_000).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MemoryException);
      expect((error as MemoryException).code).toBe(MemoryExceptionCode.DEPENDENCY_UNAVAILABLE);
    } finally {
      await down.close();
    }
  });
});
