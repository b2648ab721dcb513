import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { asTenantId, newId, OSS_TENANT_ID } from '@engram/memory-core';
import { INTERRUPTED_AFTER_MS, newInferenceEvent, PostgresInferenceEventStore } from '@engram/inference';
import { PgSqlExecutor } from '@engram/memory-postgres';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';
import { startTestApp, type TestApp } from './api-test.app.js';

/** Polls GET /v1/events/{id} until the inference is done. */
async function settled(app: TestApp, id: string) {
  for (let i = 0; i < 400; i += 1) {
    const { body } = await app.request('GET', `/v1/events/${id}`);
    if (body.event?.status === 'succeeded' || body.event?.status === 'failed') return body.event;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`event ${id} did not settle`);
}

/** Two API processes on one database (here two apps in one test process): events are in Postgres, not in either. */
describe('durable inference events', () => {
  let scratch: ScratchDatabase;
  let first: TestApp;
  let second: TestApp | undefined;

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    first = await startTestApp({ DATABASE_URL: scratch.url });
  });
  afterAll(async () => {
    await second?.close();
    await first.close();
    await scratch.drop();
  });

  it('should show an event written by one app instance to another on the same database', async () => {
    second = await startTestApp({ DATABASE_URL: scratch.url });
    const added = await first.request('POST', '/v1/memories?wait=true', {
      body: { user_id: 'alice', infer: true, messages: [{ role: 'user', content: 'I live in Paris.' }] },
    });
    expect(added.status).toBe(200);
    const { status, body } = await second.request('GET', `/v1/events/${added.body.event.id}`);
    expect(status).toBe(200);
    expect(body.event).toEqual(added.body.event);
    expect((await second.request('GET', `/v1/events/${newId()}`)).status).toBe(404);
  });

  it('should run again, at the next boot, an event its process left unfinished, and fail one it cannot run', async () => {
    const owner = new PgSqlExecutor({ connectionString: scratch.url, max: 1 });
    const store = new PostgresInferenceEventStore(owner);
    const long = new Date(Date.now() - 2 * INTERRUPTED_AFTER_MS);
    const event = (at: Date) => newInferenceEvent(newId(), { tenantId: OSS_TENANT_ID, userId: 'bob' }, 'rules', at);
    const request = { messages: [{ role: 'user' as const, content: 'I work at Acme.' }], actor: 'api', wait: false };
    const crashed = { ...event(long), status: 'running' as const };
    const withoutRequest = { ...event(long), status: 'running' as const };
    const recent = { ...event(new Date()), status: 'running' as const };
    try {
      await store.create(crashed, request);
      await store.create(withoutRequest);
      await store.create(recent, request);
      const restarted = await startTestApp({ DATABASE_URL: scratch.url });
      try {
        const resumed = await settled(restarted, crashed.id);
        expect(resumed).toMatchObject({ status: 'succeeded', results: [expect.objectContaining({ op: 'ADD' })] });
        const { body } = await restarted.request('GET', '/v1/memories?user_id=bob');
        expect(body.memories.map((m: { content: string }) => m.content)).toEqual(['I work at Acme']);
        expect(await store.request(OSS_TENANT_ID, crashed.id)).toBeNull();

        const failed = await restarted.request('GET', `/v1/events/${withoutRequest.id}`);
        expect(failed.body.event).toMatchObject({ status: 'failed', error: 'interrupted' });
        // Another process's inference may still be under way: a recent event is left alone.
        expect((await restarted.request('GET', `/v1/events/${recent.id}`)).body.event.status).toBe('running');
      } finally {
        await restarted.close();
      }
      expect(await store.get(asTenantId(newId()), crashed.id)).toBeNull();
    } finally {
      await owner.close();
    }
  });
});
