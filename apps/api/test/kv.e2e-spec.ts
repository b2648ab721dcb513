import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from './api-test.app.js';

let api: TestApp;
const prefix = () => `e2e-${Math.random().toString(36).slice(2, 10)}/`;

beforeAll(async () => {
  api = await startTestApp();
});
afterAll(() => api.close());

describe('key-value routes', () => {
  it('sets, reads and deletes a key holding slashes, with the documented entry shape', async () => {
    const key = `${prefix()}session:42`;
    const put = await api.request('PUT', `/v1/kv/${key}`, {
      body: { value: { cart: [1, 2] }, ttl_seconds: 60, tags: { kind: 'cart' }, user_id: 'alice' },
    });
    expect(put.status).toBe(200);
    expect(put.body.entry).toMatchObject({ key, value: { cart: [1, 2] }, tags: { kind: 'cart' }, user_id: 'alice' });
    expect(Object.keys(put.body.entry).sort()).toEqual(
      ['key', 'value', 'tags', 'user_id', 'ttl_seconds', 'created_at', 'updated_at'].sort(),
    );
    expect(put.body.entry.ttl_seconds).toBeGreaterThan(58);

    const got = await api.request('GET', `/v1/kv/${key}`);
    expect(got.status).toBe(200);
    expect(got.body.entry.value).toEqual({ cart: [1, 2] });

    expect((await api.request('DELETE', `/v1/kv/${key}`)).body).toEqual({ deleted: true });
    const gone = await api.request('GET', `/v1/kv/${key}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('KV_NOT_FOUND');
    expect((await api.request('DELETE', `/v1/kv/${key}`)).status).toBe(404);
  });

  it('answers 409 KV_EXISTS for if_not_exists on an existing key', async () => {
    const key = `${prefix()}k`;
    await api.request('PUT', `/v1/kv/${key}`, { body: { value: 1 } });
    const res = await api.request('PUT', `/v1/kv/${key}`, { body: { value: 2, if_not_exists: true } });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('KV_EXISTS');
    expect((await api.request('GET', `/v1/kv/${key}`)).body.entry).toMatchObject({ value: 1, ttl_seconds: null });
  });

  it('refuses a bad key or an oversized value with 400 VALIDATION_FAILED', async () => {
    const bad = await api.request('PUT', '/v1/kv/bad%20key', { body: { value: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    const big = await api.request('PUT', `/v1/kv/${prefix()}big`, { body: { value: 'x'.repeat(300 * 1024) } });
    expect(big.status).toBe(400);
    expect(big.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('runs the batches and scans by prefix and tag with a cursor', async () => {
    const p = prefix();
    const set = await api.request('POST', '/v1/kv/batch/set', {
      body: { entries: [1, 2, 3].map((i) => ({ key: `${p}${i}`, value: i, tags: { odd: String(i % 2 === 1) } })) },
    });
    expect(set.body).toEqual({ written: 3 });

    const got = await api.request('POST', '/v1/kv/batch/get', { body: { keys: [`${p}2`, `${p}9`] } });
    expect(got.status).toBe(200);
    expect(got.body.entries.map((e: { key: string }) => e.key)).toEqual([`${p}2`]);
    expect(got.body.missing).toEqual([`${p}9`]);

    const first = await api.request('GET', `/v1/kv?prefix=${encodeURIComponent(p)}&limit=2`);
    expect(first.body.entries.map((e: { value: number }) => e.value)).toEqual([1, 2]);
    const second = await api.request(
      'GET',
      `/v1/kv?prefix=${encodeURIComponent(p)}&limit=2&cursor=${first.body.next_cursor}`,
    );
    expect(second.body).toMatchObject({ entries: [{ value: 3 }], next_cursor: null });

    const odd = await api.request('GET', `/v1/kv?prefix=${encodeURIComponent(p)}&tag=odd:true`);
    expect(odd.body.entries.map((e: { value: number }) => e.value)).toEqual([1, 3]);

    const del = await api.request('POST', '/v1/kv/batch/delete', { body: { keys: [`${p}1`, `${p}9`] } });
    expect(del.body).toEqual({ deleted: 1 });
  });
});
