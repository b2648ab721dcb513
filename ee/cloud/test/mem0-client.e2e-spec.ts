/* @license Enterprise */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';
import { startTestApp, type TestApp } from '../../../apps/api/test/api-test.app.js';
import {
  describeMem0ClientScenario,
  listenForMem0,
  loadMem0,
  mem0Fetch,
  quietly,
  settledEvent,
  type Mem0Module,
} from '../../../apps/api/test/mem0-client.scenario.js';
import { createTenantWithKey, issueApiKey, type TenantQuotas } from './fixtures/cloud-admin.js';

/**
 * The official mem0 JS client against the cloud edition, with tenant keys: the whole scenario, then what only the
 * cloud has (other tenants, scopes of keys, quotas and rate limits). A database of its own: the cloud turns row-level
 * security on.
 */
const ADMIN = 'admin-token-for-the-mem0-e2e';

describe('mem0-compatible API (cloud edition)', () => {
  let db: ScratchDatabase;
  let api: TestApp;
  let host: string;
  let mem0: Mem0Module;

  const tenantWithKey = (name: string, quotas?: TenantQuotas) => createTenantWithKey(api, ADMIN, { name, quotas });

  beforeAll(async () => {
    db = await createScratchDatabase();
    api = await startTestApp({ EDITION: 'cloud', DATABASE_URL: db.url, ENGRAM_ADMIN_TOKEN: ADMIN });
    host = await listenForMem0(api);
    mem0 = await loadMem0();
  });
  afterAll(async () => {
    await api?.close();
    await db?.drop();
  });

  describeMem0ClientScenario('cloud, with a tenant key', async () => {
    const tenant = await tenantWithKey('mem0 scenario');
    return { host, apiKey: tenant.key };
  });

  it("shows another tenant's key nothing through the mem0 routes", async () => {
    const acme = await tenantWithKey('acme');
    const globex = await tenantWithKey('globex');
    const mine = new mem0.MemoryClient({ apiKey: acme.key, host });
    const theirs = new mem0.MemoryClient({ apiKey: globex.key, host });
    const userId = 'alice'; // the same user id in both tenants: only the key tells them apart

    const added = (await mine.add([{ role: 'user', content: 'The acme launch is in May' }], {
      userId,
      infer: false,
      asyncMode: false,
    })) as unknown as { eventId: string; results: { id: string }[] };
    const id = added.results[0].id;

    expect((await theirs.getAll({ filters: { user_id: userId } })).count).toBe(0);
    expect((await theirs.search('acme launch', { filters: { user_id: userId } })).results).toEqual([]);
    expect((await theirs.users()).results).toEqual([]);
    await expect(theirs.get(id)).rejects.toBeInstanceOf(mem0.MemoryNotFoundError);
    await expect(theirs.history(id)).rejects.toBeInstanceOf(mem0.MemoryNotFoundError);
    await expect(theirs.update(id, { text: 'hijacked' })).rejects.toBeInstanceOf(mem0.MemoryNotFoundError);
    await expect(theirs.batchUpdate([{ memoryId: id, text: 'hijacked' }])).rejects.toBeInstanceOf(
      mem0.MemoryNotFoundError,
    );
    await expect(theirs.delete(id)).rejects.toBeInstanceOf(mem0.MemoryNotFoundError);
    expect(await theirs.batchDelete([id])).toEqual({ message: 'Successfully deleted 0 memories' });
    expect((await mem0Fetch({ host, apiKey: globex.key }, 'GET', `/v1/event/${added.eventId}/`)).status).toBe(404);
    await theirs.deleteAll({ userId });
    await theirs.deleteUsers({ userId });

    expect(await mine.get(id)).toMatchObject({ memory: 'The acme launch is in May', userId });
    expect((await mine.getAll({ filters: { user_id: userId } })).count).toBe(1);
    expect((await mine.users()).results.map((e) => [e.type, e.name, e.totalMemories])).toEqual([['user', userId, 1]]);
    expect((await settledEvent({ host, apiKey: acme.key }, added.eventId)).status).toBe('SUCCEEDED');
  });

  it('refuses a write to a key without memories:write with 403 (AuthenticationError); its reads work', async () => {
    const { id: tenantId } = await tenantWithKey('scoped');
    const { key: readerKey } = await issueApiKey(api, ADMIN, tenantId, { scopes: ['memories:read'] });
    const reader = new mem0.MemoryClient({ apiKey: readerKey, host });
    await expect(reader.ping()).resolves.toBeUndefined();
    await expect(reader.add([{ role: 'user', content: 'nope' }], { userId: 'u', infer: false })).rejects.toBeInstanceOf(
      mem0.AuthenticationError,
    );
    const raw = await mem0Fetch({ host, apiKey: readerKey }, 'POST', '/v3/memories/add/', {
      messages: [{ role: 'user', content: 'nope' }],
      user_id: 'u',
    });
    expect(raw.status).toBe(403);
    expect(typeof raw.body.detail).toBe('string');
    expect((await reader.getAll({ filters: { user_id: 'u' } })).count).toBe(0);
  });

  it('answers the admin token on the mem0 routes with 401 {"detail": ...}', async () => {
    const raw = await mem0Fetch({ host, apiKey: ADMIN }, 'GET', '/v1/ping/');
    expect(raw.status).toBe(401);
    expect(typeof raw.body.detail).toBe('string');
  });

  it('refuses a write over the memory quota with 413 (MemoryQuotaExceededError)', async () => {
    const small = await tenantWithKey('small', { max_memories: 2 });
    const client = new mem0.MemoryClient({ apiKey: small.key, host });
    await client.add(
      [
        { role: 'user', content: 'first' },
        { role: 'user', content: 'second' },
      ],
      { userId: 'u', infer: false },
    );
    await expect(
      client.add([{ role: 'user', content: 'one too many' }], { userId: 'u', infer: false }),
    ).rejects.toBeInstanceOf(mem0.MemoryQuotaExceededError);
    // An inferred add (mem0's default) is refused up front too, though its memories would be written by a worker.
    await expect(client.add([{ role: 'user', content: 'I live in Oslo.' }], { userId: 'u' })).rejects.toBeInstanceOf(
      mem0.MemoryQuotaExceededError,
    );
    for (const infer of [false, true]) {
      const raw = await mem0Fetch({ host, apiKey: small.key }, 'POST', '/v3/memories/add/', {
        messages: [{ role: 'user', content: 'one too many' }],
        user_id: 'u',
        infer,
      });
      expect(raw.status).toBe(413);
      expect(raw.body.detail).toMatch(/quota|memories/i);
    }
    expect((await client.getAll({ filters: { user_id: 'u' } })).count).toBe(2);
  });

  it('refuses a key over its rate limit with 429 (RateLimitError) and Retry-After', async () => {
    const busy = await tenantWithKey('busy', { requests_per_minute: 3 });
    const target = { host, apiKey: busy.key };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await mem0Fetch(target, 'GET', '/v1/ping/')).status);
    expect(statuses).toEqual([200, 200, 200]);

    const limited = await mem0Fetch(target, 'GET', '/v1/ping/');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(typeof limited.body.detail).toBe('string');

    await quietly(async () => {
      const client = new mem0.MemoryClient({ apiKey: busy.key, host });
      await expect(client.getAll({ filters: { user_id: 'u' } })).rejects.toBeInstanceOf(mem0.RateLimitError);
    });
  });
});
