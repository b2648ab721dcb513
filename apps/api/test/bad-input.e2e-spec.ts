import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp, type TestResponse } from './api-test.app.js';

let api: TestApp;

beforeAll(async () => {
  api = await startTestApp({ MAX_BODY_BYTES: '4096' });
});
afterAll(async () => {
  await api.close();
});

const expectError = (res: TestResponse, status: number, code: string, mentions?: string) => {
  expect(res.status).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(res.body.error.message).toEqual(expect.any(String));
  expect(res.body.request_id).toEqual(expect.any(String));
  if (mentions) expect(res.body.error.message).toContain(mentions);
};

describe('bad input gets a documented 4xx, never a 500', () => {
  it('malformed JSON', async () => {
    const res = await api.request('POST', '/v1/memories', {
      rawBody: '{"content": "x", "user_id": ',
      headers: { 'content-type': 'application/json' },
    });
    expectError(res, 400, 'MALFORMED_REQUEST', 'not valid JSON');
  });

  it('a body that is not an object', async () => {
    expectError(await api.request('POST', '/v1/memories', { body: [1, 2] }), 400, 'VALIDATION_FAILED', 'JSON object');
    expectError(await api.request('POST', '/v1/memories', { body: 'text' }), 400, 'VALIDATION_FAILED');
  });

  it('a body that is not JSON at all', async () => {
    const res = await api.request('POST', '/v1/memories', { rawBody: 'content=x', headers: { 'content-type': 'text/plain' } });
    expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('wrong types, naming the field', async () => {
    const res = await api.request('POST', '/v1/memories', { body: { content: 42, user_id: 'u', importance: 'high' } });
    expectError(res, 400, 'VALIDATION_FAILED', 'body.content');
    expect(res.body.error.message).toContain('body.importance');
    expect(res.body.error.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'body.importance' })]),
    );
  });

  it('values out of range', async () => {
    expectError(await api.request('POST', '/v1/memories', { body: { content: 'x', user_id: 'u', importance: 11 } }), 400, 'VALIDATION_FAILED', 'body.importance');
    expectError(await api.request('POST', '/v1/memories', { body: { content: 'x', user_id: 'u', confidence: 1.5 } }), 400, 'VALIDATION_FAILED', 'body.confidence');
    expectError(await api.request('POST', '/v1/memories', { body: { content: '   ', user_id: 'u' } }), 400, 'VALIDATION_FAILED', 'body.content');
    expectError(await api.request('POST', '/v1/memories', { body: { content: 'x', user_id: 'u', expires_at: 'tomorrow' } }), 400, 'VALIDATION_FAILED', 'body.expires_at');
  });

  it('unknown fields are named, not ignored', async () => {
    const res = await api.request('POST', '/v1/memories', { body: { content: 'x', user_id: 'u', usr_id: 'typo' } });
    expectError(res, 400, 'VALIDATION_FAILED', 'usr_id');
  });

  it('an oversize body is a 413', async () => {
    const res = await api.request('POST', '/v1/memories', { body: { content: 'x'.repeat(5000), user_id: 'u' } });
    expectError(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('a missing scope', async () => {
    expectError(await api.request('POST', '/v1/memories', { body: { content: 'x' } }), 400, 'SCOPE_REQUIRED', 'user_id');
    expectError(await api.request('POST', '/v1/memories/search', { body: { query: 'x' } }), 400, 'SCOPE_REQUIRED');
    expectError(await api.request('GET', '/v1/memories'), 400, 'SCOPE_REQUIRED');
  });

  it('an unknown filter operator or field', async () => {
    expectError(
      await api.request('POST', '/v1/memories/search', { body: { query: 'x', user_id: 'u', filters: { importance: { between: [1, 2] } } } }),
      400,
      'INVALID_FILTER',
      'between',
    );
    expectError(
      await api.request('POST', '/v1/memories/search', { body: { query: 'x', user_id: 'u', filters: { colour: { eq: 'red' } } } }),
      400,
      'INVALID_FILTER',
      'colour',
    );
    expectError(await api.request('GET', '/v1/memories?user_id=u&filters=%7Bnope'), 400, 'VALIDATION_FAILED', 'query.filters');
  });

  it('huge limits are refused, not clamped', async () => {
    expectError(await api.request('POST', '/v1/memories/search', { body: { query: 'x', user_id: 'u', limit: 101 } }), 400, 'VALIDATION_FAILED', 'at most 100');
    expectError(await api.request('GET', '/v1/memories?user_id=u&limit=1001'), 400, 'VALIDATION_FAILED', 'at most 1000');
    expectError(await api.request('GET', '/v1/memories?user_id=u&limit=ten'), 400, 'VALIDATION_FAILED', 'query.limit');
    expectError(await api.request('GET', '/v1/memories?user_id=u&limit=0'), 400, 'VALIDATION_FAILED', 'query.limit');
  });

  it('non-UUID ids', async () => {
    expectError(await api.request('GET', '/v1/memories/not-a-uuid'), 400, 'VALIDATION_FAILED', 'path.id');
    expectError(await api.request('PATCH', '/v1/memories/123', { body: { content: 'x' } }), 400, 'VALIDATION_FAILED', 'path.id');
    expectError(await api.request('DELETE', '/v1/memories/%27%3B%20drop'), 400, 'VALIDATION_FAILED', 'path.id');
    expectError(await api.request('GET', '/v1/memories/xyz/history'), 400, 'VALIDATION_FAILED', 'path.id');
  });

  it('a cursor that was not given out', async () => {
    expectError(await api.request('GET', '/v1/memories?user_id=u&cursor=garbage!!'), 400, 'INVALID_CURSOR');
  });

  it('an empty update', async () => {
    expectError(await api.request('PATCH', '/v1/memories/0190a6c0-0000-7000-8000-000000000000', { body: {} }), 400, 'VALIDATION_FAILED', 'at least one field');
  });

  it('an unknown route', async () => {
    expectError(await api.request('GET', '/v1/nothing-here'), 404, 'ROUTE_NOT_FOUND');
  });

  it('random garbage on every route never yields a 5xx', async () => {
    const garbage: unknown[] = [null, 0, -1, 1e308, '', 'x'.repeat(300), [], {}, [{}], { '': '' }, { $where: 1 }, true];
    const fields = ['content', 'user_id', 'query', 'filters', 'limit', 'threshold', 'mode', 'metadata', 'importance', 'messages', 'memories'];
    const routes: Array<['POST' | 'PATCH', string]> = [
      ['POST', '/v1/memories'],
      ['POST', '/v1/memories/batch'],
      ['POST', '/v1/memories/search'],
      ['PATCH', '/v1/memories/0190a6c0-0000-7000-8000-000000000000'],
    ];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 200; i++) {
      const [method, url] = routes[Math.floor(next() * routes.length)];
      const body: Record<string, unknown> = { user_id: 'fuzz' };
      for (const field of fields) if (next() < 0.4) body[field] = garbage[Math.floor(next() * garbage.length)];
      const res = await api.request(method, url, { body });
      expect(res.status).toBeLessThan(500);
      expect(res.body.error?.code ?? 'ok').not.toBe('INTERNAL_ERROR');
    }
  });
});
