import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startTestApp, type TestApp } from './api-test.app.js';
import { bearer, callOk, callTool, connectMcp, listenOnLoopback, textOf } from './mcp-test.client.js';
import { routeRules } from './route-rules.js';

/** The MCP endpoint of the OSS edition, driven by the MCP SDK's own client over HTTP on a loopback port. */

const TOOLS = [
  'add_memory',
  'delete_memory',
  'get_memory',
  'list_memories',
  'list_memory_sources',
  'search_memories',
  'update_memory',
];
const user = () => `mcp-user-${Math.random().toString(36).slice(2, 10)}`;

describe('MCP endpoint (OSS, no key)', () => {
  let api: TestApp;
  let client: Client;

  beforeAll(async () => {
    api = await startTestApp();
    client = await connectMcp(await listenOnLoopback(api));
  });
  afterAll(async () => {
    await client?.close();
    await api?.close();
  });

  it('names itself and lists the memory tools, each with a description and a strict JSON schema', async () => {
    expect(client.getServerVersion()?.name).toBe('engram');
    expect(client.getInstructions()).toContain('user_id');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    for (const tool of tools) {
      expect(tool.description?.length).toBeGreaterThan(20);
      expect(tool.inputSchema).toMatchObject({ type: 'object', additionalProperties: false });
      expect(tool.outputSchema).toMatchObject({ type: 'object' });
    }
    const byName = new Map(tools.map((t) => [t.name, t]));
    const add = byName.get('add_memory')!;
    expect(add.inputSchema.required).toEqual(['content']);
    expect(Object.keys(add.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['content', 'user_id', 'agent_id', 'run_id', 'namespace', 'metadata', 'importance']),
    );
    const search = byName.get('search_memories')!;
    expect(search.inputSchema.required).toEqual(['query']);
    expect(search.inputSchema.properties).toMatchObject({
      limit: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
      mode: { enum: ['hybrid', 'vector', 'keyword'] },
      threshold: { type: 'number', minimum: 0, maximum: 1 },
      filters: { type: 'object', description: expect.stringContaining('metadata.<key>') },
    });
    expect(byName.get('get_memory')!.inputSchema).toMatchObject({ required: ['id'] });
    expect(byName.get('search_memories')!.annotations).toMatchObject({ readOnlyHint: true });
    expect(byName.get('delete_memory')!.annotations).toMatchObject({ destructiveHint: true });
  });

  it('adds, finds and deletes a memory through the tools', async () => {
    const u = user();
    const added = await callOk(client, 'add_memory', {
      content: 'Alice is allergic to peanuts',
      user_id: u,
      metadata: { topic: 'health' },
      importance: 9,
      wait: true,
    });
    expect(added.memory).toMatchObject({
      user_id: u,
      content: 'Alice is allergic to peanuts',
      metadata: { topic: 'health' },
      importance: 9,
      status: 'ready',
    });
    const id = added.memory.id as string;
    await callOk(client, 'add_memory', { content: 'Alice lives in Lisbon', user_id: u });

    const found = await callOk(client, 'search_memories', { query: 'peanut allergy', user_id: u });
    expect(found.results[0].memory.id).toBe(id);
    expect(found.results[0].score).toBeGreaterThan(0);
    const filtered = await callOk(client, 'search_memories', {
      query: 'Alice',
      user_id: u,
      filters: { 'metadata.topic': { eq: 'health' } },
    });
    expect(filtered.results.map((r: { memory: { id: string } }) => r.memory.id)).toEqual([id]);

    expect((await callOk(client, 'delete_memory', { id })).deleted).toBe(true);
    const after = await callOk(client, 'search_memories', { query: 'peanut allergy', user_id: u, mode: 'keyword' });
    expect(after.results.map((r: { memory: { id: string } }) => r.memory.id)).not.toContain(id);
    const gone = await callTool(client, 'get_memory', { id });
    expect(gone.isError).toBe(true);
    expect(textOf(gone)).toMatch(/^MEMORY_NOT_FOUND: /);
  });

  it('reads, lists and updates memories, with the same JSON in the text content as in the structured content', async () => {
    const u = user();
    const first = await callOk(client, 'add_memory', { content: 'Bob drinks tea', user_id: u, agent_id: 'barista' });
    await callOk(client, 'add_memory', { content: 'Bob takes no sugar', user_id: u, agent_id: 'barista' });
    await callOk(client, 'add_memory', { content: 'Bob works nights', user_id: u });

    const got = await callTool(client, 'get_memory', { id: first.memory.id });
    expect(got.structuredContent).toMatchObject({ memory: { id: first.memory.id, content: 'Bob drinks tea' } });
    expect(JSON.parse(textOf(got))).toEqual(got.structuredContent);

    const page1 = await callOk(client, 'list_memories', { user_id: u, agent_id: 'barista', limit: 1 });
    expect(page1.memories).toHaveLength(1);
    expect(page1.next_cursor).toEqual(expect.any(String));
    const page2 = await callOk(client, 'list_memories', { user_id: u, agent_id: 'barista', cursor: page1.next_cursor });
    expect(page2).toMatchObject({ memories: [expect.anything()], next_cursor: null });
    expect(new Set([page1.memories[0].content, page2.memories[0].content])).toEqual(
      new Set(['Bob drinks tea', 'Bob takes no sugar']),
    );

    const updated = await callOk(client, 'update_memory', {
      id: first.memory.id,
      content: 'Bob drinks coffee now',
      importance: 6,
    });
    expect(updated.memory).toMatchObject({ content: 'Bob drinks coffee now', importance: 6 });
    // One service behind both doors: the REST API sees the change, with MCP as the actor in the history.
    const history = await api.request('GET', `/v1/memories/${first.memory.id}/history`);
    expect(history.body.history.map((h: { op: string; actor: string }) => [h.op, h.actor])).toEqual([
      ['ADD', 'mcp'],
      ['UPDATE', 'mcp'],
    ]);
  });

  it('answers bad calls with tool errors that say what is wrong, and the session goes on', async () => {
    const unscoped = await callTool(client, 'add_memory', { content: 'nobody’s memory' });
    expect(unscoped.isError).toBe(true);
    expect(textOf(unscoped)).toBe('SCOPE_REQUIRED: one of user_id, agent_id or run_id is required');

    const outOfRange = await callTool(client, 'add_memory', { content: 'x', user_id: 'u', importance: 11 });
    expect(outOfRange.isError).toBe(true);
    expect(textOf(outOfRange)).toContain('importance');

    const misspelt = await callTool(client, 'search_memories', { query: 'x', userid: 'u' });
    expect(misspelt.isError).toBe(true);
    expect(textOf(misspelt)).toContain('userid');

    const badFilter = await callTool(client, 'search_memories', {
      query: 'x',
      user_id: 'u',
      filters: { 'metadata.topic': { like: 'x' } },
    });
    expect(badFilter.isError).toBe(true);
    expect(textOf(badFilter)).toMatch(/^INVALID_FILTER: /);

    const tooMany = await callTool(client, 'search_memories', { query: 'x', user_id: 'u', limit: 101 });
    expect(tooMany.isError).toBe(true);

    const notAnId = await callTool(client, 'delete_memory', { id: 'not-a-uuid' });
    expect(notAnId.isError).toBe(true);
    expect(textOf(notAnId)).toContain('UUID');

    const nothingToChange = await callTool(client, 'update_memory', { id: '0195a8b0-0000-7000-8000-000000000000' });
    expect(nothingToChange.isError).toBe(true);
    expect(textOf(nothingToChange)).toContain('at least one field');

    const missing = await callTool(client, 'delete_memory', { id: '0195a8b0-0000-7000-8000-000000000000' });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/^MEMORY_NOT_FOUND: /);

    expect((await client.listTools()).tools).toHaveLength(TOOLS.length);
    await expect(client.callTool({ name: 'no_such_tool', arguments: {} })).resolves.toMatchObject({ isError: true });
  });

  it('offers no event stream and no sessions: GET and DELETE are 405', async () => {
    const get = await api.request('GET', '/mcp', { headers: { accept: 'text/event-stream' } });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect((await api.request('DELETE', '/mcp')).status).toBe(405);
  });

  it('without a key, refuses requests addressed to another host than loopback (DNS rebinding)', async () => {
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    };
    const headers = { accept: 'application/json, text/event-stream' };
    const local = await api.request('POST', '/mcp', {
      headers: { ...headers, host: 'localhost:8080' },
      body: initialize,
    });
    expect(local.status).toBe(200);
    expect(local.body.result.serverInfo.name).toBe('engram');
    const rebound = await api.request('POST', '/mcp', {
      headers: { ...headers, host: 'attacker.example:8080' },
      body: initialize,
    });
    expect(rebound.status).toBe(403);
    const garbled = await api.request('POST', '/mcp', { headers: { ...headers, host: 'a b' }, body: initialize });
    expect(garbled.status).toBe(403);
    const crossSite = await api.request('POST', '/mcp', {
      headers: { ...headers, host: '127.0.0.1:8080', origin: 'https://attacker.example' },
      body: initialize,
    });
    expect(crossSite.status).toBe(403);
  });
});

describe('MCP endpoint (OSS with ENGRAM_API_KEY)', () => {
  const KEY = 'mcp-correct-horse';
  let api: TestApp;
  let base: URL;

  beforeAll(async () => {
    api = await startTestApp({ ENGRAM_API_KEY: KEY });
    base = await listenOnLoopback(api);
  });
  afterAll(async () => {
    await api?.close();
  });

  it('declares a tenant rule on its routes, leaving each tool to check its own scope', () => {
    const rules = new Map(routeRules(api.app).map((r) => [r.route, r.rule]));
    for (const route of ['POST /mcp', 'GET /mcp', 'DELETE /mcp']) {
      expect(rules.get(route)).toEqual({ audience: 'tenant', scopes: [] });
    }
  });

  it('refuses a client without the key, or with a wrong one (401)', async () => {
    await expect(connectMcp(base)).rejects.toMatchObject({ code: 401 });
    await expect(connectMcp(base, bearer('wrong-key'))).rejects.toMatchObject({ code: 401 });
    const raw = await api.request('POST', '/mcp', {
      headers: { accept: 'application/json, text/event-stream' },
      body: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    });
    expect(raw.status).toBe(401);
    expect(raw.body.error.code).toBe('UNAUTHORIZED');
  });

  it('serves a client with the key, in any of the accepted headers, and not only on loopback host names', async () => {
    for (const headers of [bearer(KEY), { authorization: `Token ${KEY}` }, { 'x-api-key': KEY }]) {
      const client = await connectMcp(base, headers);
      try {
        const u = user();
        const added = await callOk(client, 'add_memory', { content: 'Carol plays the cello', user_id: u });
        const found = await callOk(client, 'search_memories', { query: 'cello', user_id: u, mode: 'keyword' });
        expect(found.results[0].memory.id).toBe(added.memory.id);
        await callOk(client, 'delete_memory', { id: added.memory.id });
      } finally {
        await client.close();
      }
    }
    const remote = await api.request('POST', '/mcp', {
      headers: { ...bearer(KEY), accept: 'application/json, text/event-stream', host: 'engram.example' },
      body: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    });
    expect(remote.status).toBe(200);
    const garbled = await api.request('POST', '/mcp', {
      headers: { ...bearer(KEY), accept: 'application/json, text/event-stream', host: 'a b' },
      body: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    });
    expect(garbled.status).toBe(200);
  });
});
