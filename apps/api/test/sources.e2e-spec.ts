import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startTestApp, type TestApp } from './api-test.app.js';
import { bearer, callOk, callTool, connectMcp, listenOnLoopback } from './mcp-test.client.js';
import { routeRules } from './route-rules.js';

/** Named memory sources through the API: listed, read one by one, and applied to the memories added and searched. */
const SOURCES = {
  sources: [
    {
      name: 'cache',
      description: 'Scratch facts of the current task',
      default_ttl_seconds: 3600,
      default_search_mode: 'keyword',
    },
    { name: 'persistent', description: 'What the user told us, kept' },
    { name: 'vectors', description: 'Document chunks', default_search_mode: 'vector' },
  ],
};
const KEY = 'sources-test-key';
const auth = { authorization: `Bearer ${KEY}` };

let api: TestApp;
let dir: string;
const user = () => `user-${Math.random().toString(36).slice(2, 10)}`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'engram-sources-e2e-'));
  const file = join(dir, 'sources.json');
  await writeFile(file, JSON.stringify(SOURCES));
  api = await startTestApp({ MEMORY_SOURCES_FILE: file, ENGRAM_API_KEY: KEY });
});
afterAll(async () => {
  await api.close();
  await rm(dir, { recursive: true, force: true });
});

describe('GET /v1/sources', () => {
  it('lists the declared sources with their defaults, in the order of the file', async () => {
    const res = await api.request('GET', '/v1/sources', { headers: auth });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      sources: [
        {
          name: 'cache',
          description: 'Scratch facts of the current task',
          default_ttl_seconds: 3600,
          default_search_mode: 'keyword',
        },
        {
          name: 'persistent',
          description: 'What the user told us, kept',
          default_ttl_seconds: null,
          default_search_mode: 'hybrid',
        },
        { name: 'vectors', description: 'Document chunks', default_ttl_seconds: null, default_search_mode: 'vector' },
      ],
    });
  });

  it('answers one source, a 404 SOURCE_NOT_FOUND for an undeclared one and a 400 for an impossible name', async () => {
    const one = await api.request('GET', '/v1/sources/vectors', { headers: auth });
    expect(one.status).toBe(200);
    expect(one.body.source).toMatchObject({ name: 'vectors', default_search_mode: 'vector' });

    const missing = await api.request('GET', '/v1/sources/scratchpad', { headers: auth });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('SOURCE_NOT_FOUND');

    const bad = await api.request('GET', '/v1/sources/not%20a%20name', { headers: auth });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.error)).toContain('name');
  });

  it('needs the key, and the scope memories:read', async () => {
    expect((await api.request('GET', '/v1/sources')).status).toBe(401);
    const rules = new Map(routeRules(api.app).map((r) => [r.route, r.rule]));
    expect(rules.get('GET /v1/sources')).toEqual({ audience: 'tenant', scopes: ['memories:read'] });
    expect(rules.get('GET /v1/sources/:name')).toEqual({ audience: 'tenant', scopes: ['memories:read'] });
  });
});

describe('memories in a named source', () => {
  it("expire after the source's TTL unless the add says otherwise; free-form namespaces never do", async () => {
    const userId = user();
    const add = (body: Record<string, unknown>) =>
      api.request('POST', '/v1/memories', { headers: auth, body: { user_id: userId, ...body } });
    const before = Date.now();
    const cached = await add({ content: 'the build is red', namespace: 'cache' });
    const after = Date.now();
    expect(cached.status).toBe(202);
    const expiresAt = Date.parse(cached.body.memory.expires_at);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(expiresAt).toBeLessThanOrEqual(after + 3_600_000);

    const never = await add({ content: 'keep this one', namespace: 'cache', expires_at: null });
    expect(never.body.memory.expires_at).toBeNull();
    const kept = await add({ content: 'allergic to peanuts', namespace: 'persistent' });
    expect(kept.body.memory.expires_at).toBeNull();
    const free = await add({ content: 'a namespace of my own', namespace: 'my-own' });
    expect(free.status).toBe(202);
    expect(free.body.memory).toMatchObject({ namespace: 'my-own', expires_at: null });

    const batch = await api.request('POST', '/v1/memories/batch', {
      headers: auth,
      body: { memories: [{ content: 'batched scratch', user_id: userId, namespace: 'cache' }] },
    });
    expect(batch.status).toBe(202);
    expect(batch.body.memories[0].expires_at).not.toBeNull();
  });

  it("are searched in the source's default mode when the search names none", async () => {
    const userId = user();
    const added = await api.request('POST', '/v1/memories?wait=true', {
      headers: auth,
      body: { user_id: userId, namespace: 'cache', content: 'the staging database password rotates on Fridays' },
    });
    expect(added.status).toBe(201);
    const search = (body: Record<string, unknown>) =>
      api.request('POST', '/v1/memories/search', {
        headers: auth,
        body: { user_id: userId, namespace: 'cache', ...body },
      });
    const contents = (res: { body: { results: { memory: { content: string } }[] } }) =>
      res.body.results.map((r) => r.memory.content);

    // No word in common: a keyword search (the source's default) finds nothing, where a hybrid one has a vector leg.
    const byDefault = await search({ query: 'weekly credential changes' });
    expect(byDefault.status).toBe(200);
    expect(contents(byDefault)).toEqual([]);
    expect(contents(await search({ query: 'weekly credential changes', mode: 'hybrid' }))).toEqual([
      'the staging database password rotates on Fridays',
    ]);
    expect(contents(await search({ query: 'password rotates' }))).toEqual([
      'the staging database password rotates on Fridays',
    ]);
  });
});

describe('MCP list_memory_sources', () => {
  let client: Client;
  beforeAll(async () => {
    client = await connectMcp(await listenOnLoopback(api), bearer(KEY));
  });
  afterAll(async () => {
    await client?.close();
  });

  it('lists the sources as GET /v1/sources does', async () => {
    const rest = await api.request('GET', '/v1/sources', { headers: auth });
    expect(await callOk(client, 'list_memory_sources', {})).toEqual(rest.body);
  });

  it('refuses an argument it does not take', async () => {
    const result = await callTool(client, 'list_memory_sources', { name: 'cache' });
    expect(result.isError).toBe(true);
  });
});
