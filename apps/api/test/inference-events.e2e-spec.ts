import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { asTenantId, newId, OSS_TENANT_ID } from '@engram/memory-core';
import { INTERRUPTED_AFTER_MS, newInferenceEvent, PostgresInferenceEventStore } from '@engram/inference';
import { PgSqlExecutor } from '@engram/memory-postgres';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';
import { startTestApp, type TestApp } from './api-test.app.js';

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

  it("should mark failed, at the next boot, an event its process's death left running", async () => {
    const owner = new PgSqlExecutor({ connectionString: scratch.url, max: 1 });
    const store = new PostgresInferenceEventStore(owner);
    const long = new Date(Date.now() - 2 * INTERRUPTED_AFTER_MS);
    const crashed = newInferenceEvent(newId(), { tenantId: OSS_TENANT_ID, userId: 'bob' }, 'rules', long);
    const recent = newInferenceEvent(newId(), { tenantId: OSS_TENANT_ID, userId: 'bob' }, 'rules', new Date());
    try {
      await store.create({ ...crashed, status: 'running' });
      await store.create({ ...recent, status: 'running' });
      const restarted = await startTestApp({ DATABASE_URL: scratch.url });
      try {
        const { body } = await restarted.request('GET', `/v1/events/${crashed.id}`);
        expect(body.event).toMatchObject({ status: 'failed', error: 'interrupted' });
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
