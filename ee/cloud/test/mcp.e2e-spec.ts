/* @license Enterprise */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';
import { startTestApp, type TestApp } from '../../../apps/api/test/api-test.app.js';
import {
  bearer,
  callOk,
  callTool,
  connectMcp,
  listenOnLoopback,
  textOf,
} from '../../../apps/api/test/mcp-test.client.js';
import { createTenantWithKey } from './fixtures/cloud-admin.js';

/**
 * The MCP endpoint of the cloud edition: each API key reaches its own tenant's memories only, and each tool asks for
 * the scope it needs. The MCP SDK's own client over HTTP; a database of the suite's own (row-level security is on).
 */
const ADMIN = 'admin-token-for-the-cloud-mcp-e2e';

describe('MCP endpoint (cloud edition)', () => {
  let db: ScratchDatabase;
  let api: TestApp;
  let base: URL;
  const clients: Client[] = [];

  async function tenantKey(name: string, scopes: string[]): Promise<string> {
    return (await createTenantWithKey(api, ADMIN, { name, scopes })).key;
  }

  async function clientOf(key: string): Promise<Client> {
    const client = await connectMcp(base, bearer(key));
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    db = await createScratchDatabase();
    api = await startTestApp({ EDITION: 'cloud', DATABASE_URL: db.url, ENGRAM_ADMIN_TOKEN: ADMIN });
    base = await listenOnLoopback(api);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await api?.close();
    await db?.drop();
  });

  it('runs add, search and delete for a tenant, and shows another tenant nothing of it', async () => {
    const acme = await clientOf(await tenantKey('acme', ['memories:read', 'memories:write']));
    const globex = await clientOf(await tenantKey('globex', ['memories:read', 'memories:write']));

    const added = await callOk(acme, 'add_memory', {
      content: 'acme secret: the launch is in May',
      user_id: 'alice',
      wait: true,
    });
    const id = added.memory.id as string;
    expect(added.memory.status).toBe('ready');
    const found = await callOk(acme, 'search_memories', { query: 'launch secret', user_id: 'alice' });
    expect(found.results.map((r: { memory: { id: string } }) => r.memory.id)).toEqual([id]);

    // The other tenant, with the same user id: nothing to find, list, read, change or delete.
    expect((await callOk(globex, 'search_memories', { query: 'launch secret', user_id: 'alice' })).results).toEqual([]);
    expect((await callOk(globex, 'list_memories', { user_id: 'alice' })).memories).toEqual([]);
    for (const [tool, args] of [
      ['get_memory', { id }],
      ['update_memory', { id, content: 'globex was here' }],
      ['delete_memory', { id }],
    ] as const) {
      const refused = await callTool(globex, tool, args);
      expect(refused.isError).toBe(true);
      expect(textOf(refused).split('\n')[0]).toBe(`MEMORY_NOT_FOUND: memory ${id} not found`);
    }

    expect((await callOk(acme, 'get_memory', { id })).memory.content).toBe('acme secret: the launch is in May');
    expect((await callOk(acme, 'delete_memory', { id })).deleted).toBe(true);
    expect((await callOk(acme, 'list_memories', { user_id: 'alice' })).memories).toEqual([]);
  });

  it('refuses add_memory to a key without memories:write, and lets it read', async () => {
    const reader = await clientOf(await tenantKey('reader', ['memories:read']));
    expect((await reader.listTools()).tools.map((t) => t.name)).toContain('add_memory');

    const refused = await callTool(reader, 'add_memory', { content: 'should not be stored', user_id: 'bob' });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/^FORBIDDEN: the API key lacks the scope memories:write, which add_memory needs/);
    expect((await callTool(reader, 'delete_memory', { id: '0195a8b0-0000-7000-8000-000000000000' })).isError).toBe(
      true,
    );

    expect((await callOk(reader, 'list_memories', { user_id: 'bob' })).memories).toEqual([]);
    expect((await callOk(reader, 'search_memories', { query: 'stored', user_id: 'bob' })).results).toEqual([]);
  });

  it('refuses a key without memories:read the read tools, and lets it write', async () => {
    const writer = await clientOf(await tenantKey('writer', ['memories:write']));
    const added = await callOk(writer, 'add_memory', { content: 'write-only agents log here', agent_id: 'logger' });
    const search = await callTool(writer, 'search_memories', { query: 'log', agent_id: 'logger' });
    expect(search.isError).toBe(true);
    expect(textOf(search)).toMatch(/^FORBIDDEN: .*memories:read/);
    expect((await callTool(writer, 'get_memory', { id: added.memory.id })).isError).toBe(true);
  });

  it('refuses a client without a tenant key: none, a wrong one, or the admin token (401)', async () => {
    await expect(connectMcp(base)).rejects.toMatchObject({ code: 401 });
    await expect(connectMcp(base, bearer(`egm_live_0123456789abcdef_${'x'.repeat(43)}`))).rejects.toMatchObject({
      code: 401,
    });
    await expect(connectMcp(base, bearer(ADMIN))).rejects.toMatchObject({ code: 401 });
  });
});
