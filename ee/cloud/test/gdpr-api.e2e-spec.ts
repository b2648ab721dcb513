/* @license Enterprise */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { loadConfig } from '@engram/config';
import { contentHash } from '@engram/memory-core';
import { PgSqlExecutor } from '@engram/memory-postgres';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';
import { startTestApp, type TestApp } from '../../../apps/api/test/api-test.app.js';
import { WorkerModule } from '../../../apps/worker/src/worker.module.js';
import { ERASABLE_STORES } from '../src/cloud.tokens.js';
import type { ErasableStore } from '../src/gdpr/erasable-store.js';
import { createTenantWithKey } from './fixtures/cloud-admin.js';
import { scanRedis, scanTables, testRedisUrl, type Trace } from './gdpr-fixtures.js';

const ADMIN = 'admin-token-for-the-gdpr-e2e';
const REDIS_URL = testRedisUrl(15);

/**
 * The GDPR erase through HTTP, on the cloud edition as it runs: Postgres, the BullMQ queue on a Redis database of
 * its own (15), the embedding workers in the API process. After an erase, no route returns the subject's data and
 * neither the database nor Redis holds any of it.
 */
describe('GDPR erase over HTTP', () => {
  let db: ScratchDatabase;
  let owner: PgSqlExecutor;
  let redis: Redis;
  let api: TestApp;
  const admin = { authorization: `Bearer ${ADMIN}` };
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  const tenantWithKey = (name: string) =>
    createTenantWithKey(api, ADMIN, { name, scopes: ['memories:read', 'memories:write', 'kv:read', 'kv:write'] });

  async function putKv(key: string, path: string, body: Record<string, unknown>) {
    const put = await api.request('PUT', `/v1/kv/${path}`, { headers: bearer(key), body });
    expect(put.status).toBe(200);
  }

  const kvStatus = async (key: string, path: string) =>
    (await api.request('GET', `/v1/kv/${path}`, { headers: bearer(key) })).status;

  async function remember(key: string, userId: string, content: string) {
    const added = await api.request('POST', '/v1/memories?wait=true', {
      headers: bearer(key),
      body: { content, user_id: userId },
    });
    expect(added.status).toBe(201);
    return added.body.memory as { id: string; content: string };
  }

  /**
   * The subject's traces in every table and every Redis key. The audit log keeps the ids of the memories it
   * recorded changes of (never their content or owner): it is append-only, and the erase's own event names the
   * subject only by digest; ids are looked for everywhere else.
   */
  async function traces(values: string[], ids: string[], otherTenant?: string): Promise<Trace[]> {
    const tables = [
      ...(await scanTables(owner, values)),
      ...(await scanTables(owner, ids)).filter((t) => t.where !== 'audit_events'),
    ];
    const found = [...tables, ...(await scanRedis(redis, [...values, ...ids]))];
    return otherTenant ? found.filter((t) => !t.text.includes(otherTenant)) : found;
  }

  beforeAll(async () => {
    db = await createScratchDatabase();
    owner = new PgSqlExecutor({ connectionString: db.url, max: 2 });
    redis = new Redis(REDIS_URL);
    await redis.flushdb();
    api = await startTestApp({ EDITION: 'cloud', DATABASE_URL: db.url, ENGRAM_ADMIN_TOKEN: ADMIN, REDIS_URL });
  });

  afterAll(async () => {
    await api?.close();
    await redis?.flushdb();
    redis?.disconnect();
    await owner?.close();
    await db?.drop();
  });

  it('erases a data subject: no route returns their data, no table or Redis key holds it, a repeat agrees', async () => {
    const a = await tenantWithKey('acme');
    const b = await tenantWithKey('globex');
    const subject = `alice-${randomUUID()}`;
    const tag = randomUUID().slice(0, 8);
    const tea = await remember(a.key, subject, `alice likes green tea ${tag}`);
    const city = await remember(a.key, subject, `alice lives in Lisbon ${tag}`);
    const moved = await api.request('PATCH', `/v1/memories/${city.id}?wait=true`, {
      headers: bearer(a.key),
      body: { content: `alice moved to Porto ${tag}` },
    });
    expect(moved.status).toBe(200);
    const neighbour = await remember(a.key, `bob-${randomUUID()}`, `bob likes coffee ${tag}`);
    const namesake = await remember(b.key, subject, `another alice, of another tenant ${tag}`);
    // Key-value entries: two of the subject's, a neighbour's, one of nobody's, and the namesake's in the other tenant.
    await putKv(a.key, `prefs/${tag}/seat`, { value: 'aisle', user_id: subject, tags: { kind: 'pref' } });
    await putKv(a.key, `cart/${tag}`, { value: { items: [1] }, user_id: subject, ttl_seconds: 600 });
    await putKv(a.key, `prefs/${tag}/bob`, { value: 'window', user_id: `bob-${randomUUID()}` });
    await putKv(a.key, `shared/${tag}`, { value: 'for everyone' });
    await putKv(b.key, `prefs/${tag}/seat`, { value: 'middle', user_id: subject });
    const contents = [tea.content, city.content, moved.body.memory.content as string];
    const values = [subject, ...contents, ...contents.map(contentHash)];
    const ids = [tea.id, city.id];
    expect((await traces(values, ids, b.id)).length).toBeGreaterThan(0);
    const listed = await api.request('GET', `/mem0/v1/memories/?user_id=${subject}`, {
      headers: { authorization: `Token ${a.key}` },
    });
    expect(JSON.stringify(listed.body)).toContain(tag);

    const erased = await api.request('POST', `/v1/admin/tenants/${a.id}/gdpr/erase`, {
      headers: admin,
      body: { user_id: subject },
    });

    expect(erased.status).toBe(200);
    const receipt = erased.body.receipt;
    expect(Object.keys(receipt).sort()).toEqual(['at', 'audit_event_id', 'deleted', 'id', 'tenant_id', 'user_id']);
    expect(receipt).toMatchObject({
      tenant_id: a.id,
      user_id: subject,
      // Two adds and an edit: their history rows, their three finished embedding jobs, the three texts cached.
      deleted: { memories: 2, history: 3, kv: 2, cache: 3, jobs: 3 },
    });
    expect(new Date(receipt.at).toISOString()).toBe(receipt.at);
    // The receipt's event is in the audit log already, naming the erase, not the subject.
    const [event] = await owner.query<{ action: string; target_ids: string[] }>(
      `SELECT action, target_ids FROM audit_events WHERE id = $1`,
      [receipt.audit_event_id],
    );
    expect(event).toMatchObject({ action: 'gdpr.erase_subject' });
    expect(event.target_ids[0]).toBe(receipt.id);
    expect(JSON.stringify(event)).not.toContain(subject);

    // No route returns the subject's data.
    const asA = { headers: bearer(a.key) };
    expect((await api.request('GET', `/v1/memories?user_id=${subject}`, asA)).body.memories).toEqual([]);
    for (const id of ids) {
      expect((await api.request('GET', `/v1/memories/${id}`, asA)).status).toBe(404);
      const history = await api.request('GET', `/v1/memories/${id}/history`, asA);
      expect(history.status === 404 || history.body.history?.length === 0).toBe(true);
    }
    for (const mode of ['hybrid', 'keyword', 'vector']) {
      const search = await api.request('POST', '/v1/memories/search', {
        ...asA,
        body: { query: `alice green tea Porto ${tag}`, user_id: subject, mode },
      });
      expect(search.status).toBe(200);
      expect(search.body.results).toEqual([]);
    }
    // Nor do the mem0-compatible routes (mem0's clients send `Token <key>`).
    const mem0 = { headers: { authorization: `Token ${a.key}` } };
    const reads = [
      await api.request('GET', `/mem0/v1/memories/?user_id=${subject}`, mem0),
      await api.request('GET', '/mem0/v1/entities/', mem0),
      await api.request('POST', '/mem0/v2/memories/search/', {
        ...mem0,
        body: { query: `alice green tea ${tag}`, filters: { user_id: subject } },
      }),
    ];
    for (const read of reads) {
      expect(read.status).toBe(200);
      expect(JSON.stringify(read.body)).not.toContain(subject);
      expect(JSON.stringify(read.body)).not.toContain(tag);
    }
    for (const id of ids) expect((await api.request('GET', `/mem0/v1/memories/${id}/`, mem0)).status).toBe(404);
    expect(await kvStatus(a.key, `prefs/${tag}/seat`)).toBe(404);
    expect(await kvStatus(a.key, `cart/${tag}`)).toBe(404);
    const kvList = await api.request('GET', `/v1/kv?tag=kind:pref`, asA);
    expect(kvList.status).toBe(200);
    expect(JSON.stringify(kvList.body)).not.toContain(subject);
    expect(await traces(values, ids, b.id)).toEqual([]);

    // Everyone else keeps everything: the neighbour, and the same user id in another tenant.
    expect((await api.request('GET', `/v1/memories/${neighbour.id}`, asA)).status).toBe(200);
    const theirs = await api.request('GET', `/v1/memories?user_id=${subject}`, { headers: bearer(b.key) });
    expect(theirs.body.memories.map((m: { id: string }) => m.id)).toEqual([namesake.id]);
    expect(await kvStatus(a.key, `prefs/${tag}/bob`)).toBe(200);
    expect(await kvStatus(a.key, `shared/${tag}`)).toBe(200);
    const namesakeKv = await api.request('GET', `/v1/kv/prefs/${tag}/seat`, { headers: bearer(b.key) });
    expect(namesakeKv.body.entry).toMatchObject({ value: 'middle', user_id: subject });

    // A repeat finds nothing more: the same receipt.
    const again = await api.request('POST', `/v1/admin/tenants/${a.id}/gdpr/erase`, {
      headers: admin,
      body: { user_id: subject },
    });
    expect(again.status).toBe(200);
    expect(again.body.receipt).toEqual(receipt);
  });

  it('takes the operator’s token only, a valid body and a tenant that exists', async () => {
    const a = await tenantWithKey('rules');
    const url = `/v1/admin/tenants/${a.id}/gdpr/erase`;
    expect((await api.request('POST', url, { headers: bearer(a.key), body: { user_id: 'u' } })).status).toBe(403);
    expect((await api.request('POST', url, { body: { user_id: 'u' } })).status).toBe(401);
    const invalid = await api.request('POST', url, { headers: admin, body: {} });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('VALIDATION_FAILED');
    expect((await api.request('POST', url, { headers: admin, body: { user_id: '' } })).status).toBe(400);
    const unknown = await api.request('POST', `/v1/admin/tenants/${randomUUID()}/gdpr/erase`, {
      headers: admin,
      body: { user_id: 'u' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('TENANT_NOT_FOUND');
    expect((await api.request('POST', '/v1/admin/tenants/nope/gdpr/erase', { headers: admin, body: {} })).status).toBe(
      400,
    );
  });

  it('erases a whole tenant through DELETE, with the same procedure and receipt', async () => {
    const c = await tenantWithKey('leaving');
    const d = await tenantWithKey('staying');
    const tag = randomUUID().slice(0, 8);
    const one = await remember(c.key, 'u1', `first customer note ${tag}`);
    const two = await remember(c.key, 'u2', `second customer note ${tag}`);
    const kept = await remember(d.key, 'u1', `a note of another tenant ${tag}`);
    await putKv(c.key, `notes/${tag}`, { value: 1, user_id: 'u1' });
    await putKv(c.key, `config/${tag}`, { value: 2 });
    await putKv(d.key, `notes/${tag}`, { value: 3, user_id: 'u1' });

    const erased = await api.request('DELETE', `/v1/admin/tenants/${c.id}`, { headers: admin });

    expect(erased.status).toBe(200);
    expect(erased.body.receipt).toMatchObject({
      tenant_id: c.id,
      user_id: null,
      deleted: { memories: 2, history: 2, kv: 2, cache: 2, jobs: 2, api_keys: 1 },
    });
    expect(typeof erased.body.receipt.audit_event_id).toBe('string');
    expect((await api.request('GET', '/v1/memories?user_id=u1', { headers: bearer(c.key) })).status).toBe(401);
    expect((await api.request('GET', `/v1/admin/tenants/${c.id}`, { headers: admin })).status).toBe(404);
    expect(await traces([one.content, two.content], [one.id, two.id])).toEqual([]);
    expect((await api.request('GET', `/v1/memories/${kept.id}`, { headers: bearer(d.key) })).status).toBe(200);
    expect(await kvStatus(d.key, `notes/${tag}`)).toBe(200);
    expect(await redis.keys(`engram:kv:{${c.id}}:*`)).toEqual([]);

    const again = await api.request('DELETE', `/v1/admin/tenants/${c.id}`, { headers: admin });
    expect(again.status).toBe(200);
    expect(again.body.receipt).toEqual(erased.body.receipt);
  });
});

/**
 * The production topology: an API process without workers and a worker process (here both in this test process,
 * each with its own Nest application, cache and connections). An erase that stops half-way in the API is finished
 * by the worker's resumer when the worker boots; the embedding cache that matters is the worker's, purged over
 * Redis.
 */
describe('GDPR erase resumed by the worker process', () => {
  let db: ScratchDatabase;
  let owner: PgSqlExecutor;
  let redis: Redis;
  let api: TestApp;
  let worker: INestApplicationContext | undefined;
  const admin = { authorization: `Bearer ${ADMIN}` };
  const env = () => ({ EDITION: 'cloud', DATABASE_URL: db.url, ENGRAM_ADMIN_TOKEN: ADMIN, REDIS_URL });

  beforeAll(async () => {
    db = await createScratchDatabase();
    owner = new PgSqlExecutor({ connectionString: db.url, max: 2 });
    redis = new Redis(REDIS_URL);
    await redis.flushdb();
    api = await startTestApp({ ...env(), WORKER: 'false' });
  });

  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await redis?.flushdb();
    redis?.disconnect();
    await owner?.close();
    await db?.drop();
  });

  it('removes a queued inference of the subject: its messages never become memories, no job or event is left', async () => {
    const { id: tenantId, key } = await createTenantWithKey(api, ADMIN, { name: 'inference' });
    const subject = `carol-${randomUUID()}`;
    const secret = `carol's passport number is ${randomUUID()}`;
    // No worker runs: the inference waits in Redis, its messages kept with its event in Postgres.
    const added = await api.request('POST', '/v1/memories', {
      headers: { authorization: `Bearer ${key}` },
      body: { user_id: subject, infer: true, messages: [{ role: 'user', content: secret }] },
    });
    expect(added.status).toBe(202);
    const eventId = added.body.event.id as string;
    expect((await scanRedis(redis, [subject])).length).toBeGreaterThan(0);
    expect((await scanTables(owner, [secret])).length).toBeGreaterThan(0);

    const erased = await api.request('POST', `/v1/admin/tenants/${tenantId}/gdpr/erase`, {
      headers: admin,
      body: { user_id: subject },
    });
    expect(erased.status).toBe(200);
    expect(erased.body.receipt.deleted).toMatchObject({ memories: 0, jobs: 1 });
    expect(
      (await api.request('GET', `/v1/events/${eventId}`, { headers: { authorization: `Bearer ${key}` } })).status,
    ).toBe(404);
    expect([...(await scanTables(owner, [subject, secret])), ...(await scanRedis(redis, [subject, eventId]))]).toEqual(
      [],
    );
  });

  it('finishes, at the worker’s boot, an erase that failed after its first store', async () => {
    const { id: tenantId, key } = await createTenantWithKey(api, ADMIN, { name: 'resumed' });
    const subject = `alice-${randomUUID()}`;
    const content = `alice is allergic to peanuts ${randomUUID()}`;
    // No worker yet: the memory stays pending, its job waiting in Redis.
    const added = await api.request('POST', '/v1/memories', {
      headers: { authorization: `Bearer ${key}` },
      body: { content, user_id: subject },
    });
    expect(added.status).toBe(202);
    // A store that fails once: the erase stops after the memories step.
    const failing: ErasableStore = {
      name: 'flaky',
      erase: async () => {
        throw new Error('injected failure');
      },
    };
    api.app.get<ErasableStore[]>(ERASABLE_STORES).push(failing);

    const failed = await api.request('POST', `/v1/admin/tenants/${tenantId}/gdpr/erase`, {
      headers: admin,
      body: { user_id: subject },
    });
    expect(failed.status).toBe(503);
    const erasureId = failed.body.error.details.erasure_id as string;
    const needles = [subject, content, added.body.memory.id as string];
    expect((await scanRedis(redis, needles)).length).toBeGreaterThan(0);
    api.app.get<ErasableStore[]>(ERASABLE_STORES).pop();

    worker = await NestFactory.createApplicationContext(
      await WorkerModule.forRoot(loadConfig({ ...env(), EMBEDDINGS_PROVIDER: 'hash', LOG_LEVEL: 'silent' })),
      { logger: false },
    );
    const deadline = Date.now() + 20_000;
    let state = 'running';
    while (state !== 'completed' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      [{ state }] = await owner.query<{ state: string }>(`SELECT state FROM gdpr_erasures WHERE id = $1`, [erasureId]);
    }
    expect(state).toBe('completed');

    const receipt = await api.request('POST', `/v1/admin/tenants/${tenantId}/gdpr/erase`, {
      headers: admin,
      body: { user_id: subject },
    });
    expect(receipt.body.receipt).toMatchObject({
      id: erasureId,
      user_id: subject,
      deleted: { memories: 1, history: 1 },
    });
    expect(receipt.body.receipt.deleted.jobs).toBeGreaterThanOrEqual(1);
    expect([...(await scanTables(owner, needles.slice(0, 2))), ...(await scanRedis(redis, needles))]).toEqual([]);
  });
});
