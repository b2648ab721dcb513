/* @license Enterprise */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';
import { startTestApp, type TestApp } from '../../../apps/api/test/api-test.app.js';
import { createTenantWithKey, type TenantWithKey } from './fixtures/cloud-admin.js';

const ADMIN = 'admin-token-for-the-kv-e2e';
const KV_SCOPES = ['kv:read', 'kv:write'];

function redisUrl(db: number): string {
  const url = new URL(process.env.ENGRAM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  url.pathname = `/${db}`;
  return url.toString();
}

/**
 * Key-value memory on the cloud edition, over HTTP, with the in-process store and with Redis (a database of its own,
 * 10): a tenant's key never reads, lists, overwrites or deletes another tenant's entries, even under the same keys.
 */
describe.each([
  { backend: 'in-process', redis: undefined },
  { backend: 'redis', redis: redisUrl(10) },
])('cloud KV tenant isolation ($backend)', ({ redis: REDIS_URL }) => {
  let db: ScratchDatabase;
  let redis: Redis | undefined;
  let api: TestApp;
  let a: TenantWithKey;
  let b: TenantWithKey;
  let p: string;
  const as = (t: TenantWithKey) => ({ headers: { authorization: `Bearer ${t.key}` } });

  beforeAll(async () => {
    db = await createScratchDatabase();
    if (REDIS_URL) {
      redis = new Redis(REDIS_URL);
      await redis.flushdb();
    }
    api = await startTestApp({
      EDITION: 'cloud',
      DATABASE_URL: db.url,
      ENGRAM_ADMIN_TOKEN: ADMIN,
      ...(REDIS_URL ? { REDIS_URL } : {}),
    });
    a = await createTenantWithKey(api, ADMIN, { name: 'acme', scopes: KV_SCOPES });
    b = await createTenantWithKey(api, ADMIN, { name: 'globex', scopes: KV_SCOPES });
    p = `iso-${randomUUID().slice(0, 8)}/`;
    const put = await api.request('PUT', `/v1/kv/${p}secret`, {
      ...as(a),
      body: { value: 'acme only', tags: { kind: 'secret' }, user_id: 'alice' },
    });
    expect(put.status).toBe(200);
  });

  afterAll(async () => {
    await api?.close();
    await redis?.flushdb();
    redis?.disconnect();
    await db?.drop();
  });

  const aValue = async () => (await api.request('GET', `/v1/kv/${p}secret`, as(a))).body.entry?.value as unknown;

  it('does not read another tenant’s key', async () => {
    const got = await api.request('GET', `/v1/kv/${p}secret`, as(b));
    expect(got.status).toBe(404);
    expect(got.body.error.code).toBe('KV_NOT_FOUND');
    const batch = await api.request('POST', '/v1/kv/batch/get', { ...as(b), body: { keys: [`${p}secret`] } });
    expect(batch.status).toBe(200);
    expect(batch.body).toEqual({ entries: [], missing: [`${p}secret`] });
  });

  it('does not list another tenant’s keys, by prefix or by tag', async () => {
    for (const query of [`prefix=${p}`, 'tag=kind:secret', '']) {
      const listed = await api.request('GET', `/v1/kv?${query}`, as(b));
      expect(listed.status).toBe(200);
      expect(listed.body.entries).toEqual([]);
    }
    const own = await api.request('GET', `/v1/kv?prefix=${p}`, as(a));
    expect(own.body.entries.map((e: { key: string }) => e.key)).toEqual([`${p}secret`]);
  });

  it('does not overwrite another tenant’s key: the same key is the other tenant’s own', async () => {
    const put = await api.request('PUT', `/v1/kv/${p}secret`, {
      ...as(b),
      body: { value: 'globex', if_not_exists: true },
    });
    expect(put.status).toBe(200);
    const batch = await api.request('POST', '/v1/kv/batch/set', {
      ...as(b),
      body: { entries: [{ key: `${p}secret`, value: 'globex again' }] },
    });
    expect(batch.body).toEqual({ written: 1 });
    expect(await aValue()).toBe('acme only');
    expect((await api.request('GET', `/v1/kv/${p}secret`, as(b))).body.entry.value).toBe('globex again');
  });

  it('does not delete another tenant’s key', async () => {
    expect((await api.request('DELETE', `/v1/kv/${p}secret`, as(b))).body).toEqual({ deleted: true });
    const again = await api.request('DELETE', `/v1/kv/${p}secret`, as(b));
    expect(again.status).toBe(404);
    const batch = await api.request('POST', '/v1/kv/batch/delete', { ...as(b), body: { keys: [`${p}secret`] } });
    expect(batch.body).toEqual({ deleted: 0 });
    expect(await aValue()).toBe('acme only');
  });

  it('refuses a key without the kv scopes, and the operator’s token', async () => {
    const memoriesOnly = await createTenantWithKey(api, ADMIN, { name: 'memories-only' });
    expect((await api.request('GET', `/v1/kv/${p}secret`, as(memoriesOnly))).status).toBe(403);
    const asAdmin = { headers: { authorization: `Bearer ${ADMIN}` } };
    expect((await api.request('GET', `/v1/kv/${p}secret`, asAdmin)).status).toBeGreaterThanOrEqual(400);
    expect(await aValue()).toBe('acme only');
  });
});
