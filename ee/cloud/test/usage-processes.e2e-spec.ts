/* @license Enterprise */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { createScratchDatabase, startApiProcess, type ApiProcess, type ScratchDatabase } from '@engram/testing';
import { createTenant, issueApiKey, type TenantQuotas } from './fixtures/cloud-admin.js';

/**
 * The limits hold across API processes: two real processes (the built API, as `npm start` runs it; jest's global
 * setup builds it) on one Postgres database and one Redis (database 12, which this suite alone uses and flushes).
 */
const ADMIN = 'admin-token-for-the-usage-processes-e2e';
const REDIS_URL = 'redis://127.0.0.1:6379/12';

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('two API processes', () => {
  let db: ScratchDatabase;
  let redis: Redis;
  let a: ApiProcess | undefined;
  let b: ApiProcess | undefined;

  /** The tenant made through one process, its keys issued through the other. */
  async function tenantWithKeys(quotas: TenantQuotas, keys = 1) {
    const id = await createTenant(a!.url, ADMIN, { name: 'shared', quotas });
    const issued: string[] = [];
    for (let i = 0; i < keys; i++) {
      issued.push((await issueApiKey(b!.url, ADMIN, id, { name: `key ${i}`, scopes: ['memories:read'] })).key);
    }
    return { id, keys: issued };
  }

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    await redis.flushdb();
    db = await createScratchDatabase();
    const env = {
      EDITION: 'cloud',
      DATABASE_URL: db.url,
      ENGRAM_ADMIN_TOKEN: ADMIN,
      REDIS_URL,
      EMBEDDINGS_PROVIDER: 'hash',
      WORKER: 'false',
      LOG_LEVEL: 'silent',
    };
    // Both started before either failure is reported, so that afterAll stops whichever did start.
    const started = await Promise.allSettled([startApiProcess(env), startApiProcess(env)]);
    [a, b] = started.map((result) => (result.status === 'fulfilled' ? result.value : undefined));
    for (const result of started) if (result.status === 'rejected') throw result.reason;
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
    await redis?.flushdb();
    await redis?.quit();
  });

  it('share one key’s rate limit: its allowance is spent across both, then both answer 429', async () => {
    expect(a!.process.pid).not.toBe(b!.process.pid);
    const t = await tenantWithKeys({ requests_per_minute: 4 }, 2);
    const [key, reader] = t.keys;
    const remaining: (string | null)[] = [];
    for (const server of [a!, b!, a!, b!]) {
      const res = await server.request('GET', '/v1/memories?user_id=u', { headers: bearer(key) });
      expect(res.status).toBe(200);
      remaining.push(res.headers.get('x-ratelimit-remaining'));
    }
    expect(remaining).toEqual(['3', '2', '1', '0']);
    for (const server of [a!, b!]) {
      const refused = await server.request('GET', '/v1/memories?user_id=u', { headers: bearer(key) });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Each process counted into the same month: 4 admitted (the refused are not counted), and this read.
    const seen = await a!.request('GET', '/v1/usage', { headers: bearer(reader) });
    expect(seen.body.usage.requests.used).toBe(5);
  });

  it('share the monthly request quota, even under concurrent requests to both', async () => {
    const t = await tenantWithKeys({ max_requests_per_month: 5 }, 2);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 === 0 ? a! : b!).request('GET', '/v1/memories?user_id=u', {
          headers: bearer(t.keys[i % 4 < 2 ? 0 : 1]),
        }),
      ),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 413)).toHaveLength(7);
  });
});
