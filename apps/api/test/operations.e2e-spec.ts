import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from './api-test.app.js';

describe('operational routes', () => {
  let api: TestApp;
  beforeAll(async () => {
    api = await startTestApp();
  });
  afterAll(async () => {
    await api.close();
  });

  it('GET /health answers while the process lives', async () => {
    const res = await api.request('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /ready reports each dependency with its latency', async () => {
    const res = await api.request('GET', '/ready');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ready');
    for (const name of ['storage', 'queue', 'kv', 'embedder']) {
      expect(res.body.dependencies[name]).toMatchObject({ status: 'up', latency_ms: expect.any(Number) });
    }
    expect(res.body.dependencies.embedder.model).toMatch(/^hash-v1-/);
    expect(res.body.dependencies.kv.backend).toBe('in-process');
  });

  it('serves the OpenAPI document with the memory routes, and its UI', async () => {
    const json = await api.request('GET', '/docs/json');
    expect(json.status).toBe(200);
    expect(Object.keys(json.body.paths)).toEqual(
      expect.arrayContaining(['/v1/memories', '/v1/memories/search', '/v1/memories/{id}', '/v1/memories/{id}/history']),
    );
    const ui = await api.request('GET', '/docs');
    expect(ui.status).toBe(200);
    expect(String(ui.body)).toContain('swagger');
  });
});

describe('OSS auth with ENGRAM_API_KEY', () => {
  let api: TestApp;
  const body = { content: 'secret plans', user_id: 'u' };
  beforeAll(async () => {
    api = await startTestApp({ ENGRAM_API_KEY: 'correct-horse' });
  });
  afterAll(async () => {
    await api.close();
  });

  it('refuses a request without a key', async () => {
    const res = await api.request('POST', '/v1/memories', { body });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
  });

  it('refuses a wrong key', async () => {
    const res = await api.request('POST', '/v1/memories', { body, headers: { authorization: 'Bearer wrong-horse' } });
    expect(res.status).toBe(401);
    expect(res.body.error.message).not.toContain('correct-horse');
  });

  it.each<Record<string, string>>([
    { authorization: 'Bearer correct-horse' },
    { authorization: 'Token correct-horse' },
    { 'x-api-key': 'correct-horse' },
  ])('accepts the key as %o', async (headers) => {
    expect((await api.request('POST', '/v1/memories', { body, headers })).status).toBe(202);
  });

  it('keeps /health and /ready public', async () => {
    expect((await api.request('GET', '/health')).status).toBe(200);
    expect((await api.request('GET', '/ready')).status).toBe(200);
  });
});
