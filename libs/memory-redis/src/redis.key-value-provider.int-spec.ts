import { Redis } from 'ioredis';
import { describeKeyValueProviderContract } from '@engram/memory-core/testing';
import { RedisKeyValueProvider } from './redis.key-value-provider.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DB = 9;

describeKeyValueProviderContract('RedisKeyValueProvider', async () => {
  const admin = new Redis(REDIS_URL, { db: DB });
  await admin.flushdb();
  const provider = new RedisKeyValueProvider({ redisUrl: REDIS_URL, db: DB });
  return {
    provider,
    elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    async teardown() {
      await provider.close();
      await admin.flushdb();
      await admin.quit();
    },
  };
});
