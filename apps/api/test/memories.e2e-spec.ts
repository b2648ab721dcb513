import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from './api-test.app.js';

let api: TestApp;
const user = () => `user-${Math.random().toString(36).slice(2, 10)}`;

beforeAll(async () => {
  api = await startTestApp();
});
afterAll(async () => {
  await api.close();
});

describe('POST /v1/memories', () => {
  it('acknowledges a memory as pending with every documented field', async () => {
    const res = await api.request('POST', '/v1/memories', {
      body: { content: 'Alice prefers window seats', user_id: 'alice', metadata: { source: 'chat' }, importance: 7 },
    });
    expect(res.status).toBe(202);
    expect(res.body.memory).toMatchObject({
      user_id: 'alice',
      agent_id: null,
      run_id: null,
      namespace: 'default',
      content: 'Alice prefers window seats',
      memory_type: 'fact',
      importance: 7,
      confidence: 1,
      metadata: { source: 'chat' },
      categories: [],
      status: 'pending',
      access_count: 0,
      accessed_at: null,
      expires_at: null,
    });
    expect(Object.keys(res.body.memory).sort()).toEqual(
      [
        'id', 'user_id', 'agent_id', 'run_id', 'namespace', 'content', 'memory_type', 'importance', 'confidence',
        'metadata', 'categories', 'status', 'created_at', 'updated_at', 'accessed_at', 'access_count', 'expires_at',
      ].sort(),
    );
    expect(res.headers['x-request-id']).toBeDefined();
  });

  it('with ?wait=true answers 201 once the memory is searchable', async () => {
    const u = user();
    const res = await api.request('POST', '/v1/memories?wait=true', { body: { content: 'Bob owns a red bicycle', user_id: u } });
    expect(res.status).toBe(201);
    expect(res.body.memory.status).toBe('ready');
    const search = await api.request('POST', '/v1/memories/search', {
      body: { query: 'red bicycle', user_id: u, mode: 'vector' },
    });
    expect(search.status).toBe(200);
    expect(search.body.results[0].memory.id).toBe(res.body.memory.id);
    expect(search.body.results[0].score).toBeGreaterThan(0);
  });

  it('stores a conversation as one memory with its speakers', async () => {
    const res = await api.request('POST', '/v1/memories', {
      body: {
        messages: [
          { role: 'user', content: 'I moved to Lisbon' },
          { role: 'assistant', content: 'Noted!' },
        ],
        agent_id: 'concierge',
      },
    });
    expect(res.status).toBe(202);
    expect(res.body.memory.content).toBe('user: I moved to Lisbon\nassistant: Noted!');
    expect(res.body.memory.agent_id).toBe('concierge');
  });
});

describe('POST /v1/memories/batch', () => {
  it('adds many memories across scopes, in order', async () => {
    const [a, b] = [user(), user()];
    const res = await api.request('POST', '/v1/memories/batch?wait=true', {
      body: { memories: [{ content: 'first', user_id: a }, { content: 'second', user_id: b }, { content: 'third', user_id: a }] },
    });
    expect(res.status).toBe(201);
    expect(res.body.memories.map((m: { content: string }) => m.content)).toEqual(['first', 'second', 'third']);
    const listA = await api.request('GET', `/v1/memories?user_id=${a}`);
    expect(listA.body.memories).toHaveLength(2);
  });

  it('refuses more than 1000 memories', async () => {
    const memories = Array.from({ length: 1001 }, (_, i) => ({ content: `m${i}`, user_id: 'x' }));
    const res = await api.request('POST', '/v1/memories/batch', { body: { memories } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('body.memories');
  });
});

describe('search', () => {
  it('finds a pending memory at once through the keyword leg', async () => {
    const u = user();
    await api.request('POST', '/v1/memories', { body: { content: 'The spare key is under the flowerpot', user_id: u } });
    const res = await api.request('POST', '/v1/memories/search', { body: { query: 'where is the spare key', user_id: u } });
    expect(res.status).toBe(200);
    expect(res.body.results[0].memory.content).toBe('The spare key is under the flowerpot');
  });

  it('applies filters, limit and threshold', async () => {
    const u = user();
    await api.request('POST', '/v1/memories/batch?wait=true', {
      body: {
        memories: [
          { content: 'likes green tea', user_id: u, importance: 9, categories: ['food'] },
          { content: 'likes black tea', user_id: u, importance: 2, categories: ['food'] },
          { content: 'likes jazz', user_id: u, importance: 5, categories: ['music'] },
        ],
      },
    });
    const filtered = await api.request('POST', '/v1/memories/search', {
      body: { query: 'tea', user_id: u, filters: { and: [{ categories: { contains: 'food' } }, { importance: { gte: 5 } }] } },
    });
    expect(filtered.body.results.map((r: { memory: { content: string } }) => r.memory.content)).toEqual(['likes green tea']);
    const limited = await api.request('POST', '/v1/memories/search', { body: { query: 'likes', user_id: u, limit: 2 } });
    expect(limited.body.results).toHaveLength(2);
    const strict = await api.request('POST', '/v1/memories/search', { body: { query: 'tea', user_id: u, threshold: 1 } });
    expect(strict.body.results.every((r: { score: number }) => r.score >= 1)).toBe(true);
  });

  it('counts search hits as accesses', async () => {
    const u = user();
    const added = await api.request('POST', '/v1/memories?wait=true', { body: { content: 'owns a cat named Miso', user_id: u } });
    await api.request('POST', '/v1/memories/search', { body: { query: 'cat', user_id: u } });
    const got = await api.request('GET', `/v1/memories/${added.body.memory.id}`);
    expect(got.body.memory.access_count).toBe(2);
    expect(got.body.memory.accessed_at).not.toBeNull();
  });
});

describe('get, update, delete, history', () => {
  it('walks a memory through its life, with history', async () => {
    const u = user();
    const added = await api.request('POST', '/v1/memories?wait=true', { body: { content: 'lives in Paris', user_id: u } });
    const id = added.body.memory.id;

    const got = await api.request('GET', `/v1/memories/${id}`);
    expect(got.status).toBe(200);
    expect(got.body.memory.content).toBe('lives in Paris');

    const updated = await api.request('PATCH', `/v1/memories/${id}?wait=true`, { body: { content: 'lives in Berlin', importance: 8 } });
    expect(updated.status).toBe(200);
    expect(updated.body.memory).toMatchObject({ content: 'lives in Berlin', importance: 8, status: 'ready' });

    const deleted = await api.request('DELETE', `/v1/memories/${id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ deleted: true });
    expect((await api.request('GET', `/v1/memories/${id}`)).status).toBe(404);
    expect((await api.request('DELETE', `/v1/memories/${id}`)).status).toBe(404);

    const history = await api.request('GET', `/v1/memories/${id}/history`);
    expect(history.status).toBe(200);
    expect(history.body.history.map((h: { op: string }) => h.op)).toEqual(['ADD', 'UPDATE', 'DELETE']);
    expect(history.body.history[1]).toMatchObject({ old_content: 'lives in Paris', new_content: 'lives in Berlin', actor: 'api' });
  });

  it('answers 404 MEMORY_NOT_FOUND for an unknown id', async () => {
    const res = await api.request('GET', '/v1/memories/0190a6c0-0000-7000-8000-000000000000');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('MEMORY_NOT_FOUND');
    expect(res.body.request_id).toEqual(expect.any(String));
  });
});

describe('GET /v1/memories', () => {
  it('pages through a scope newest first, each memory once', async () => {
    const u = user();
    await api.request('POST', '/v1/memories/batch', {
      body: { memories: Array.from({ length: 25 }, (_, i) => ({ content: `note ${i}`, user_id: u })) },
    });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const res = await api.request('GET', `/v1/memories?user_id=${u}&limit=10${query}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.memories.map((m: { content: string }) => m.content));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    expect(seen[0]).toBe('note 24');
  });

  it('filters with a JSON-encoded filter', async () => {
    const u = user();
    await api.request('POST', '/v1/memories/batch', {
      body: { memories: [{ content: 'a', user_id: u, metadata: { topic: 'x' } }, { content: 'b', user_id: u, metadata: { topic: 'y' } }] },
    });
    const filters = encodeURIComponent(JSON.stringify({ 'metadata.topic': { eq: 'y' } }));
    const res = await api.request('GET', `/v1/memories?user_id=${u}&filters=${filters}`);
    expect(res.body.memories.map((m: { content: string }) => m.content)).toEqual(['b']);
  });
});

describe('DELETE /v1/memories (by scope)', () => {
  it('deletes every memory of the scope and nothing else', async () => {
    const [a, b] = [user(), user()];
    await api.request('POST', '/v1/memories/batch', {
      body: { memories: [{ content: '1', user_id: a }, { content: '2', user_id: a }, { content: '3', user_id: b }] },
    });
    const res = await api.request('DELETE', `/v1/memories?user_id=${a}`);
    expect(res.body).toEqual({ deleted: 2 });
    expect((await api.request('GET', `/v1/memories?user_id=${b}`)).body.memories).toHaveLength(1);
  });

  it('refuses to delete without a scope', async () => {
    const res = await api.request('DELETE', '/v1/memories');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('SCOPE_REQUIRED');
  });
});
