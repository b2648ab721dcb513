/* @license Enterprise */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';
import { startTestApp, type TestApp, type TestResponse } from '../../../apps/api/test/api-test.app.js';
import { CLOUD_USAGE_TRACKER } from '../src/cloud.tokens.js';
import type { CloudUsageTracker } from '../src/usage/cloud.usage-tracker.js';
import { periodOf } from '../src/usage/usage-period.js';
import { createTenantWithKey, issueApiKey, READ_WRITE_SCOPES, type TenantQuotas } from './fixtures/cloud-admin.js';
import { queryAsOwner } from './fixtures/owner-query.js';

/**
 * Quotas and rate limits through HTTP, on the cloud edition with its usage store on Redis (database 11 of the
 * machine's Redis, which this suite alone uses and flushes) and a database of its own.
 */
const ADMIN = 'admin-token-for-the-usage-e2e';
const REDIS_URL = 'redis://127.0.0.1:6379/11';

describe('quotas and rate limits over HTTP (cloud)', () => {
  let db: ScratchDatabase;
  let api: TestApp;
  let redis: Redis;
  const admin = { authorization: `Bearer ${ADMIN}` };
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  const tenantWithKey = (quotas?: TenantQuotas, scopes = READ_WRITE_SCOPES) =>
    createTenantWithKey(api, ADMIN, { name: `usage ${randomUUID()}`, quotas, scopes });

  const list = (key: string) => api.request('GET', '/v1/memories?user_id=u', { headers: bearer(key) });
  const add = (key: string, content: string) =>
    api.request('POST', '/v1/memories', { headers: bearer(key), body: { content, user_id: 'u' } });
  const usage = (key: string) => api.request('GET', '/v1/usage', { headers: bearer(key) });

  function rateLimitOf(res: TestResponse) {
    return {
      limit: res.headers['x-ratelimit-limit'],
      remaining: res.headers['x-ratelimit-remaining'],
      reset: res.headers['x-ratelimit-reset'],
    };
  }

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    await redis.flushdb();
    db = await createScratchDatabase();
    api = await startTestApp({
      EDITION: 'cloud',
      DATABASE_URL: db.url,
      ENGRAM_ADMIN_TOKEN: ADMIN,
      REDIS_URL,
    });
  });
  afterAll(async () => {
    await api?.close();
    await db?.drop();
    await redis?.flushdb();
    await redis?.quit();
  });

  it('reports the key’s rate limit on every response of a tenant route, errors included', async () => {
    // 10 a minute: a token comes back every 6 s, so the four requests below see exactly one fewer each, however
    // slowly a loaded machine runs them (at the default 1,000 a minute, 60 ms between two requests refills one).
    const t = await tenantWithKey({ requests_per_minute: 10 });
    const now = Math.floor(Date.now() / 1000);
    const ok = await list(t.key);
    expect(ok.status).toBe(200);
    expect(rateLimitOf(ok)).toEqual({ limit: '10', remaining: '9', reset: expect.any(String) });
    expect(Number(ok.headers['x-ratelimit-reset'])).toBeGreaterThanOrEqual(now);
    expect(Number(ok.headers['x-ratelimit-reset'])).toBeLessThanOrEqual(now + 61);

    const missing = await api.request('GET', `/v1/memories/${randomUUID()}`, { headers: bearer(t.key) });
    expect(missing.status).toBe(404);
    expect(rateLimitOf(missing)).toMatchObject({ limit: '10', remaining: '8' });
    const invalid = await api.request('GET', '/v1/memories', { headers: bearer(t.key) });
    expect(invalid.status).toBe(400);
    expect(rateLimitOf(invalid)).toMatchObject({ remaining: '7' });
    expect(rateLimitOf(await usage(t.key))).toMatchObject({ remaining: '6' });

    // Not on routes of no tenant, nor on a request refused before it was admitted.
    for (const res of [
      await api.request('GET', '/health'),
      await api.request('GET', '/v1/memories?user_id=u'),
      await api.request('GET', `/v1/admin/tenants/${t.id}`, { headers: admin }),
    ]) {
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }
  });

  it('admits exactly requests_per_minute of a key, then answers 429 with Retry-After; other keys go on', async () => {
    const t = await tenantWithKey({ requests_per_minute: 3 });
    const answers = [await list(t.key), await list(t.key), await list(t.key)];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(answers.map((r) => r.headers['x-ratelimit-remaining'])).toEqual(['2', '1', '0']);

    const refused = await list(t.key);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(19);
    expect(retryAfter).toBeLessThanOrEqual(20);
    expect(rateLimitOf(refused)).toMatchObject({ limit: '3', remaining: '0' });
    expect(refused.body.error.details).toMatchObject({ limit: 3, remaining: 0, retry_after_seconds: retryAfter });

    const { key: otherKey } = await issueApiKey(api, ADMIN, t.id);
    expect((await list(otherKey)).status).toBe(200);
  });

  it('admits exactly max_requests_per_month, then answers 413 QUOTA_EXCEEDED naming the quota', async () => {
    const t = await tenantWithKey({ max_requests_per_month: 4 });
    const other = await tenantWithKey({ max_requests_per_month: 4 });
    for (let i = 0; i < 3; i++) expect((await list(t.key)).status).toBe(200);
    expect((await usage(t.key)).status).toBe(200); // the fourth: every tenant route counts

    const refused = await list(t.key);
    expect(refused.status).toBe(413);
    expect(refused.body.error).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { quota: 'max_requests_per_month', limit: 4, used: 4, requested: 1, period: periodOf(new Date()).id },
    });
    expect((await usage(t.key)).status).toBe(413);
    expect((await list(other.key)).status).toBe(200);
    const seen = await api.request('GET', `/v1/admin/tenants/${t.id}/usage`, { headers: admin });
    expect(seen.body.usage.requests).toEqual({ used: 4, limit: 4 });
  });

  it('caps the memories stored: exactly max_memories, not one more; an update still works, a delete frees one', async () => {
    const t = await tenantWithKey({ max_memories: 3 });
    const batch = await api.request('POST', '/v1/memories/batch', {
      headers: bearer(t.key),
      body: {
        memories: [
          { content: 'one', user_id: 'u' },
          { content: 'two', user_id: 'u' },
        ],
      },
    });
    expect(batch.status).toBe(202);
    const third = await add(t.key, 'three');
    expect(third.status).toBe(202);

    const refused = await add(t.key, 'four');
    expect(refused.status).toBe(413);
    expect(refused.body.error).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { quota: 'max_memories', limit: 3, used: 3, requested: 1 },
    });
    const id = third.body.memory.id as string;
    const updated = await api.request('PATCH', `/v1/memories/${id}`, {
      headers: bearer(t.key),
      body: { content: 'three, edited' },
    });
    expect(updated.status).toBe(200);
    expect((await list(t.key)).body.memories).toHaveLength(3);

    expect((await api.request('DELETE', `/v1/memories/${id}`, { headers: bearer(t.key) })).status).toBe(200);
    expect((await add(t.key, 'four')).status).toBe(202);
    expect((await usage(t.key)).body.usage.memories).toEqual({ stored: 3, limit: 3 });
  });

  it('caps the embedding tokens of a month: exactly the quota, not one token more', async () => {
    const t = await tenantWithKey();
    // No admin route sets this one yet: the operator writes it into the tenant's quotas.
    await queryAsOwner(
      db.url,
      `UPDATE tenants SET quotas = quotas || '{"maxEmbeddingTokensPerMonth": 12}' WHERE id = $1`,
      [t.id],
    );
    expect((await add(t.key, 'x'.repeat(40))).status).toBe(202); // 10 tokens
    expect((await add(t.key, 'abcd')).status).toBe(202); // 11
    expect((await add(t.key, 'ab')).status).toBe(202); // 12: at the quota
    const refused = await add(t.key, 'a');
    expect(refused.status).toBe(413);
    expect(refused.body.error.details).toMatchObject({
      quota: 'max_embedding_tokens_per_month',
      limit: 12,
      used: 12,
      requested: 1,
    });
    const search = (mode: string) =>
      api.request('POST', '/v1/memories/search', { headers: bearer(t.key), body: { query: 'xx', user_id: 'u', mode } });
    expect((await search('hybrid')).status).toBe(413);
    expect((await search('keyword')).status).toBe(200); // embeds nothing
    expect((await usage(t.key)).body.usage.embedding_tokens).toEqual({ used: 12, limit: 12 });
  });

  it('shows a tenant its own usage with any of its keys, and the operator any tenant’s', async () => {
    const t = await tenantWithKey({ max_memories: 100, max_requests_per_month: 1000, requests_per_minute: 50 });
    const added = await api.request('POST', '/v1/memories?wait=true', {
      headers: bearer(t.key),
      body: { content: 'Alice likes tea', user_id: 'u' },
    });
    expect(added.status).toBe(201);
    await api.request('GET', `/v1/memories/${added.body.memory.id}`, { headers: bearer(t.key) });
    await api.request('POST', '/v1/memories/search', {
      headers: bearer(t.key),
      body: { query: 'tea', user_id: 'u' },
    });
    const period = periodOf(new Date());
    const expected = {
      tenant_id: t.id,
      period: { month: period.id, start: period.start.toISOString(), end: period.end.toISOString() },
      requests: { used: 4, limit: 1000 },
      embedding_tokens: { used: 4 + 1, limit: null },
      memories: { stored: 1, limit: 100 },
      rate_limit: { requests_per_minute: 50, per: 'api_key' },
      operations: { memories_added: 1, searches: 1, reads: 1 },
    };
    const reader = await tenantWithKey(undefined, ['kv:read']);
    expect((await usage(reader.key)).status).toBe(200);
    const own = await usage(t.key);
    expect(own.status).toBe(200);
    expect(own.body).toEqual({ usage: expected });

    const operator = await api.request('GET', `/v1/admin/tenants/${t.id}/usage`, { headers: admin });
    expect(operator.status).toBe(200);
    expect(operator.body).toEqual({ usage: expected }); // the operator's look is not a request of the tenant

    const past = await api.request('GET', '/v1/usage?month=2020-01', { headers: bearer(t.key) });
    expect(past.body.usage).toMatchObject({ requests: { used: 0 }, period: { month: '2020-01' } });
    expect((await api.request('GET', '/v1/usage?month=2020-13', { headers: bearer(t.key) })).status).toBe(400);
    expect((await api.request('GET', `/v1/admin/tenants/${t.id}/usage`, { headers: bearer(t.key) })).status).toBe(403);
    expect((await api.request('GET', '/v1/usage', { headers: admin })).status).toBe(401);
    const unknown = await api.request('GET', `/v1/admin/tenants/${randomUUID()}/usage`, { headers: admin });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('TENANT_NOT_FOUND');
  });

  it("counts each tenant's usage in /metrics, one series per tenant and counter, for the operator only", async () => {
    const [a, b] = [await tenantWithKey(), await tenantWithKey()];
    const series = async (tenantId: string, counter: string) => {
      const scraped = await api.request('GET', '/metrics', { headers: admin });
      expect(scraped.status).toBe(200);
      const line = String(scraped.body)
        .split('\n')
        .find((l) => l.startsWith(`engram_tenant_usage_total{tenant_id="${tenantId}",counter="${counter}"}`));
      return line === undefined ? 0 : Number(line.split(' ').pop());
    };
    for (const content of ['one', 'two', 'three']) expect((await add(a.key, content)).status).toBe(202);
    expect((await list(b.key)).status).toBe(200);

    expect(await series(a.id, 'requests')).toBe(3);
    expect(await series(a.id, 'memories_added')).toBe(3);
    expect(await series(a.id, 'embedding_tokens')).toBeGreaterThan(0);
    expect(await series(b.id, 'requests')).toBe(1);
    expect(await series(b.id, 'memories_added')).toBe(0);
    // The figures describe every tenant: a tenant's own key may not read them.
    expect((await api.request('GET', '/metrics', { headers: bearer(a.key) })).status).toBe(403);
  });

  it('keeps the month’s counts across a Redis restart: snapshot, FLUSHDB, restored, the quota still holds', async () => {
    const t = await tenantWithKey({ max_requests_per_month: 6 });
    for (let i = 0; i < 4; i++) expect((await list(t.key)).status).toBe(200);
    await api.app.get<symbol, CloudUsageTracker>(CLOUD_USAGE_TRACKER, { strict: false }).snapshot();
    const [row] = await queryAsOwner<{ requests: string }>(
      db.url,
      `SELECT requests FROM tenant_usage WHERE tenant_id = $1`,
      [t.id],
    );
    expect(row.requests).toBe('4');

    await redis.flushdb(); // Redis lost everything
    expect(await redis.dbsize()).toBe(0);

    const after = await usage(t.key); // the fifth
    expect(after.status).toBe(200);
    expect(after.body.usage.requests).toEqual({ used: 5, limit: 6 });
    expect((await list(t.key)).status).toBe(200); // the sixth: exactly at the quota
    const refused = await list(t.key);
    expect(refused.status).toBe(413);
    expect(refused.body.error.details).toMatchObject({ quota: 'max_requests_per_month', used: 6 });
  });
});

describe('the OSS edition', () => {
  it('has no quotas or rate limits, and no rate-limit headers', async () => {
    const api = await startTestApp({ MEMORY_PROVIDER: 'local' });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await api.request('GET', '/v1/memories?user_id=u');
        expect(res.status).toBe(200);
        expect(Object.keys(res.headers).filter((h) => h.startsWith('x-ratelimit'))).toEqual([]);
      }
      expect((await api.request('GET', '/v1/usage')).status).toBe(404);
    } finally {
      await api.close();
    }
  });
});
