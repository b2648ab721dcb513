import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp, type TestResponse } from './api-test.app.js';
import { routeRules } from './route-rules.js';

/**
 * The mem0 routes as raw HTTP, for what the JS client does not exercise: the older clients' routes and shapes (v1, v2),
 * paths with and without the trailing slash, mem0's error shape, and the access rule of every route.
 */
const KEY = 'oss-key-for-the-mem0-routes';
const token = { authorization: `Token ${KEY}` };

describe('mem0 routes over HTTP (OSS)', () => {
  let api: TestApp;
  const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown): Promise<TestResponse> =>
    api.request(method, `/mem0${url}`, { headers: token, body });
  const unique = (name: string) => `${name}-${randomUUID()}`;

  beforeAll(async () => {
    api = await startTestApp({ ENGRAM_API_KEY: KEY });
  });
  afterAll(() => api.close());

  it('declares a tenant access rule on every mem0 route, and needs no scope only to ping', () => {
    const rules = routeRules(api.app).filter((r) => r.route.includes(' /mem0/'));
    expect(rules.map((r) => r.route).sort()).toEqual(
      [
        'DELETE /mem0/v1/batch',
        'DELETE /mem0/v1/memories',
        'DELETE /mem0/v1/memories/:id',
        'DELETE /mem0/v2/entities/:type/:name',
        'GET /mem0/v1/entities',
        'GET /mem0/v1/event/:id',
        'GET /mem0/v1/memories',
        'GET /mem0/v1/memories/:id',
        'GET /mem0/v1/memories/:id/history',
        'GET /mem0/v1/ping',
        'POST /mem0/v1/memories',
        'POST /mem0/v1/memories/search',
        'POST /mem0/v2/memories',
        'POST /mem0/v2/memories/search',
        'POST /mem0/v3/memories',
        'POST /mem0/v3/memories/add',
        'POST /mem0/v3/memories/search',
        'PUT /mem0/v1/batch',
        'PUT /mem0/v1/memories/:id',
      ].sort(),
    );
    for (const { route, rule } of rules) {
      const expected = route.startsWith('GET /mem0/v1/ping')
        ? []
        : route.startsWith('GET') ||
            route.includes('/search') ||
            route === 'POST /mem0/v3/memories' ||
            route === 'POST /mem0/v2/memories'
          ? ['memories:read']
          : ['memories:write'];
      expect({ route, rule }).toEqual({ route, rule: { audience: 'tenant', scopes: expected } });
    }
  });

  it('answers with and without the trailing slash', async () => {
    expect((await call('GET', '/v1/ping/')).status).toBe(200);
    expect((await call('GET', '/v1/ping')).status).toBe(200);
  });

  it('answers a missing key with 401 {"detail": ...}', async () => {
    const res = await api.request('GET', '/mem0/v1/ping/');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ detail: expect.any(String), code: 'UNAUTHORIZED', request_id: expect.any(String) });
  });

  it('answers a bad body with 400 {"detail": ...} naming the field', async () => {
    const res = await call('POST', '/v3/memories/add/', {
      messages: [{ role: 'user', content: { type: 'image_url' } }],
      user_id: 'u',
    });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/messages\.0\.content: must be text/);
    const unknown = await call('POST', '/v3/memories/add/', { messages: 'hi', user_id: 'u', custom_instructions: 'x' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.detail).toMatch(/custom_instructions/);
  });

  it('adds through the older POST /v1/memories/: queued by default, the results with async_mode false', async () => {
    const userId = unique('v1');
    const queued = await call('POST', '/v1/memories/', {
      messages: [{ role: 'user', content: 'likes jazz' }],
      user_id: userId,
    });
    expect(queued.status).toBe(200);
    expect(queued.body.results).toEqual([
      { message: expect.any(String), status: expect.stringMatching(/PENDING|SUCCEEDED/), event_id: expect.any(String) },
    ]);

    const sync = await call('POST', '/v1/memories/', {
      messages: [{ role: 'user', content: 'likes blues', name: 'Sam' }],
      user_id: userId,
      async_mode: false,
      infer: false,
    });
    expect(sync.body).toEqual({
      results: [{ id: expect.any(String), event: 'ADD', data: { memory: 'likes blues' }, status: 'ready' }],
    });
    const legacy = await call('POST', '/v1/memories/', {
      messages: 'likes soul',
      user_id: userId,
      async_mode: false,
      output_format: 'v1.0',
    });
    expect(legacy.body).toEqual([expect.objectContaining({ event: 'ADD', data: { memory: 'likes soul' } })]);

    const stored = await call('GET', `/v1/memories/${sync.body.results[0].id}/`);
    expect(stored.body).toMatchObject({
      memory: 'likes blues',
      user_id: userId,
      metadata: { role: 'user', actor_id: 'Sam' },
    });
    expect(stored.body.metadata).not.toHaveProperty('mem0_event_id');
  });

  it('reads a null option as one not given', async () => {
    const userId = unique('nulls');
    const added = await call('POST', '/v3/memories/add/', {
      messages: 'Prefers aisle seats',
      user_id: userId,
      agent_id: null,
      org_id: null,
      metadata: null,
      async_mode: false,
    });
    expect(added.status).toBe(200);
    const listed = await call('POST', '/v3/memories/', { filters: { user_id: userId }, org_id: null });
    expect(listed.body.results.map((m: { memory: string; agent_id: string | null }) => [m.memory, m.agent_id])).toEqual(
      [['Prefers aisle seats', null]],
    );
  });

  it('skips system messages, and refuses an add of nothing else', async () => {
    const userId = unique('system');
    const added = await call('POST', '/v3/memories/add/', {
      messages: [
        { role: 'system', content: 'You are a helpful assistant' },
        { role: 'user', content: 'I am allergic to cats' },
      ],
      user_id: userId,
      async_mode: false,
    });
    expect(added.body.results.map((r: { data: { memory: string } }) => r.data.memory)).toEqual([
      'I am allergic to cats',
    ]);
    const nothing = await call('POST', '/v3/memories/add/', {
      messages: [{ role: 'system', content: 'be nice' }],
      user_id: userId,
    });
    expect(nothing.status).toBe(400);
  });

  describe('older lists and searches', () => {
    let userId: string;
    beforeAll(async () => {
      userId = unique('older');
      await call('POST', '/v3/memories/add/', {
        messages: [
          { role: 'user', content: 'Plays the violin' },
          { role: 'user', content: 'Learns the piano' },
        ],
        user_id: userId,
        async_mode: false,
        infer: false,
      });
    });

    it('lists with GET /v1/memories/: an array, or the envelope when paged', async () => {
      const all = await call('GET', `/v1/memories/?user_id=${userId}`);
      expect(all.body.map((m: { memory: string }) => m.memory).sort()).toEqual([
        'Learns the piano',
        'Plays the violin',
      ]);
      const paged = await call('GET', `/v1/memories/?user_id=${userId}&page=1&page_size=1`);
      expect(paged.body).toMatchObject({ count: 2, previous: null, results: [expect.any(Object)] });
      expect(paged.body.next).toMatch(/\/mem0\/v1\/memories\/\?page=2&page_size=1$/);
      expect((await call('GET', `/v1/memories/?user_id=${userId}&output_format=v1.1`)).body.results).toHaveLength(2);
    });

    it('lists with POST /v2/memories/ and filters', async () => {
      const res = await call('POST', '/v2/memories/', {
        filters: { AND: [{ user_id: userId }, { keywords: 'violin' }] },
      });
      expect(res.body.map((m: { memory: string }) => m.memory)).toEqual(['Plays the violin']);
      const paged = await call('POST', '/v2/memories/?page=1&page_size=10', { filters: { user_id: userId } });
      expect(paged.body.count).toBe(2);
    });

    it('searches with POST /v1/memories/search/ and /v2/memories/search/ in their formats', async () => {
      const v1 = await call('POST', '/v1/memories/search/', { query: 'violin', user_id: userId, limit: 1 });
      expect(v1.body).toEqual([expect.objectContaining({ memory: 'Plays the violin', score: expect.any(Number) })]);
      const v2 = await call('POST', '/v2/memories/search/', {
        query: 'violin',
        filters: { user_id: userId },
        top_k: 1,
        output_format: 'v1.1',
      });
      expect(v2.body.results.map((r: { memory: string }) => r.memory)).toEqual(['Plays the violin']);
    });

    it('returns only the fields asked for', async () => {
      const res = await call('POST', '/v3/memories/search/', {
        query: 'piano',
        filters: { user_id: userId },
        fields: ['memory'],
        top_k: 1,
      });
      expect(res.body.results).toEqual([
        { id: expect.any(String), memory: 'Learns the piano', score: expect.any(Number) },
      ]);
    });

    it('accepts categories and metadata as search narrowing', async () => {
      const none = await call('POST', '/v3/memories/search/', {
        query: 'piano',
        filters: { user_id: userId },
        categories: ['music'],
      });
      expect(none.body.results).toEqual([]);
      const some = await call('POST', '/v3/memories/search/', {
        query: 'piano',
        filters: { user_id: userId },
        metadata: { role: 'user' },
      });
      expect(some.body.results.length).toBeGreaterThan(0);
    });
  });

  it('keeps an expiration date, and refuses a timestamp it cannot honour', async () => {
    const added = await call('POST', '/v3/memories/add/', {
      messages: 'Visiting Rome this month',
      user_id: unique('expiry'),
      expiration_date: '2999-12-31',
      async_mode: false,
    });
    const id = added.body.results[0].id;
    expect((await call('GET', `/v1/memories/${id}/`)).body.expiration_date).toBe('2999-12-31');
    const updated = await call('PUT', `/v1/memories/${id}/`, { expiration_date: null });
    expect(updated.body.expiration_date).toBeNull();
    expect((await call('PUT', `/v1/memories/${id}/`, { timestamp: 1700000000 })).status).toBe(400);
  });

  it('keeps app_id as the memory’s namespace', async () => {
    const userId = unique('app');
    const added = await call('POST', '/v3/memories/add/', {
      messages: 'Uses the travel app',
      user_id: userId,
      app_id: 'travel',
      async_mode: false,
    });
    expect((await call('GET', `/v1/memories/${added.body.results[0].id}/`)).body.app_id).toBe('travel');
    const filtered = await call('POST', '/v3/memories/', {
      filters: { AND: [{ user_id: userId }, { app_id: 'travel' }] },
    });
    expect(filtered.body.count).toBe(1);
    expect(
      (await call('POST', '/v3/memories/', { filters: { AND: [{ user_id: userId }, { app_id: 'other' }] } })).body
        .count,
    ).toBe(0);
  });

  it('refuses to delete an app entity on its own, and an unknown entity type', async () => {
    expect((await call('DELETE', '/v2/entities/app/travel/')).status).toBe(400);
    expect((await call('DELETE', '/v2/entities/team/x/')).status).toBe(400);
  });

  it('answers an unknown event with 404 {"detail": ...}', async () => {
    const res = await call('GET', `/v1/event/${randomUUID()}/`);
    expect(res.status).toBe(404);
    expect(res.body.detail).toMatch(/event .* not found/);
  });

  it('answers a page size over the list maximum with 400, not a shorter page', async () => {
    const res = await call('POST', '/v3/memories/?page_size=1001', { filters: { user_id: 'u' } });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/page_size/);
  });
});
