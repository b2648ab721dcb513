import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiProcess, type ApiProcess, type JsonResponse } from '@engram/testing';
import { eventually, PrivatePostgresServer, PrivateRedisServer } from './support/private-services.js';

/**
 * The built API on a PostgreSQL and a Redis of this suite's own, which it stops and starts under the running
 * process: while one is away, the routes that need it answer 503 DEPENDENCY_UNAVAILABLE with Retry-After (never a 500,
 * never a hang, never a crash), and once it is back they answer again without the API being restarted.
 */

const USER = { user_id: 'recovery-user' };

function expectUnavailable(res: JsonResponse): void {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
}

/** Resolves once `attempt` answers with `status`; fails with the last answer otherwise. */
async function answersWith(status: number, attempt: () => Promise<JsonResponse>): Promise<JsonResponse> {
  return eventually(async () => {
    const res = await attempt();
    if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
    return res;
  }, 20_000);
}

describe('recovery from a dependency going away (built API process)', () => {
  let postgres: PrivatePostgresServer;
  let redis: PrivateRedisServer;
  let api: ApiProcess;

  beforeAll(async () => {
    [postgres, redis] = await Promise.all([PrivatePostgresServer.create(), PrivateRedisServer.create()]);
    api = await startApiProcess({
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      EMBEDDINGS_PROVIDER: 'hash',
      LOG_LEVEL: 'error',
    });
  }, 60_000);

  afterAll(async () => {
    // Both up again, so that the API's own shutdown (BullMQ closes its connections) does not wait on them.
    await redis?.start();
    await postgres?.start().catch(() => undefined);
    await api?.stop();
    await Promise.all([postgres?.destroy(), redis?.destroy()]);
  }, 60_000);

  const add = (content: string, query = '') =>
    api.request('POST', `/v1/memories${query}`, { body: { ...USER, content } });
  const search = (query: string) => api.request('POST', '/v1/memories/search', { body: { ...USER, query } });

  it('serves memories and key-value entries while both are up', async () => {
    expect((await add('likes green tea', '?wait=true')).status).toBe(201);
    expect((await search('green tea')).body.results).toHaveLength(1);
    expect((await api.request('PUT', '/v1/kv/recovery:k', { body: { value: 1 } })).status).toBe(200);
    expect((await api.request('GET', '/ready')).status).toBe(200);
  }, 60_000);

  it('answers 503 with Retry-After while Postgres is down, stays alive, and recovers when it is back', async () => {
    await postgres.stop();

    expectUnavailable(await add('written while the database is down'));
    expectUnavailable(await search('green tea'));
    expectUnavailable(await api.request('GET', `/v1/memories?user_id=${USER.user_id}`));
    const ready = await api.request('GET', '/ready');
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).not.toBeNull();
    expect(ready.body.dependencies.storage).toMatchObject({ status: 'down', error: expect.any(String) });
    expect(ready.body.dependencies.kv.status).toBe('up');
    expect((await api.request('GET', '/health')).status).toBe(200);
    // Key-value memory lives in Redis: unaffected.
    expect((await api.request('GET', '/v1/kv/recovery:k')).status).toBe(200);

    await postgres.start();
    await answersWith(200, () => api.request('GET', '/ready'));
    expect((await add('written after the database came back', '?wait=true')).status).toBe(201);
    expect((await search('database came back')).body.results[0].memory.content).toBe(
      'written after the database came back',
    );
    expect(api.process.exitCode).toBeNull();
  }, 60_000);

  it('answers 503 with Retry-After while Redis is down, stays alive, and recovers when it is back', async () => {
    await redis.stop();

    expectUnavailable(await api.request('PUT', '/v1/kv/recovery:k2', { body: { value: 2 } }));
    expectUnavailable(await api.request('GET', '/v1/kv/recovery:k'));
    const ready = await api.request('GET', '/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.dependencies.kv.status).toBe('down');
    expect(ready.body.dependencies.queue.status).toBe('down');
    expect(ready.body.dependencies.storage.status).toBe('up');
    // Reads and searches need Postgres only.
    expect((await search('green tea')).status).toBe(200);
    // An add is still acknowledged: the memory is stored pending in Postgres, and queued once Redis is back (the
    // reconciler); one that waits to be searchable cannot be served, and says so.
    const acknowledged = await add('written while Redis was down');
    expect(acknowledged.status).toBe(202);
    expectUnavailable(await add('waited for while Redis was down', '?wait=true'));

    await redis.start();
    await answersWith(200, () => api.request('GET', '/ready'));
    // Redis came back empty (no persistence): the entry is gone, but the store works.
    expect((await api.request('PUT', '/v1/kv/recovery:k2', { body: { value: 2 } })).status).toBe(200);
    expect((await api.request('GET', '/v1/kv/recovery:k2')).body.entry.value).toBe(2);
    expect((await add('written after Redis came back', '?wait=true')).status).toBe(201);
    // Nothing acknowledged is lost: the memory added while Redis was down is embedded once it is back.
    const id = acknowledged.body.memory.id as string;
    await eventually(async () => {
      const read = await api.request('GET', `/v1/memories/${id}`);
      if (read.body.memory?.status !== 'ready') throw new Error(`still ${read.body.memory?.status}`);
    }, 45_000);
    expect(api.process.exitCode).toBeNull();
  }, 90_000);
});
