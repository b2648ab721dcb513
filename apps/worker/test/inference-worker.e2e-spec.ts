import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { loadConfig } from '@engram/config';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';
import { startTestApp, type TestApp } from '../../api/test/api-test.app.js';
import { WorkerModule } from '../src/worker.module.js';

/** Its own Redis database: a worker of another suite on the same queue name would take these jobs. */
const REDIS_URL = 'redis://127.0.0.1:6379/6';

async function eventOf(api: TestApp, id: string) {
  const { status, body } = await api.request('GET', `/v1/events/${id}`);
  expect(status).toBe(200);
  return body.event as { status: string; results: Array<{ op: string; content: string }> };
}

async function settled(api: TestApp, id: string) {
  for (let i = 0; i < 1200; i += 1) {
    const event = await eventOf(api, id);
    if (event.status === 'succeeded' || event.status === 'failed') return event;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`event ${id} did not settle`);
}

/** Production's shape: an API process that runs no workers (WORKER=false) and a separate worker process. */
describe('inference in the worker', () => {
  let scratch: ScratchDatabase;
  let api: TestApp;
  let worker: INestApplicationContext | undefined;

  beforeAll(async () => {
    const redis = new Redis(REDIS_URL);
    await redis.flushdb();
    redis.disconnect();
    scratch = await createScratchDatabase();
    api = await startTestApp({ DATABASE_URL: scratch.url, REDIS_URL, WORKER: 'false' });
  });
  afterAll(async () => {
    await worker?.close();
    await api.close();
    await scratch.drop();
  });

  it('should leave an inference queued until a worker takes it, then show what the worker did', async () => {
    const added = await api.request('POST', '/v1/memories', {
      body: { user_id: 'alice', infer: true, messages: [{ role: 'user', content: 'I live in Paris. I love jazz.' }] },
    });
    expect(added.status).toBe(202);
    const id = added.body.event.id as string;

    // The API process runs no workers: nothing happens to the event until one starts.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await eventOf(api, id)).status).toBe('pending');

    const config = loadConfig({
      DATABASE_URL: scratch.url,
      REDIS_URL,
      EMBEDDINGS_PROVIDER: 'hash',
      LOG_LEVEL: 'silent',
      DATA_DIR: api.dataDir,
    });
    worker = await NestFactory.createApplicationContext(await WorkerModule.forRoot(config), { logger: false });
    await worker.init();

    const event = await settled(api, id);
    expect(event.status).toBe('succeeded');
    expect(event.results.map((r) => [r.op, r.content])).toEqual([
      ['ADD', 'I live in Paris'],
      ['ADD', 'I love jazz'],
    ]);
    const { body } = await api.request('GET', '/v1/memories?user_id=alice');
    expect(body.memories.map((m: { content: string }) => m.content).sort()).toEqual(['I live in Paris', 'I love jazz']);
  });

  it('should answer ?wait=true once a worker has done the inference', async () => {
    const added = await api.request('POST', '/v1/memories?wait=true', {
      body: { user_id: 'bob', infer: true, messages: [{ role: 'user', content: 'My name is Bob.' }] },
    });
    expect(added.status).toBe(200);
    expect(added.body.event).toMatchObject({ status: 'succeeded', results: [expect.objectContaining({ op: 'ADD' })] });
    const search = await api.request('POST', '/v1/memories/search', { body: { user_id: 'bob', query: 'name' } });
    expect(search.body.results).toHaveLength(1);
  });
});
