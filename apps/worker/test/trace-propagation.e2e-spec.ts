import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { loadConfig } from '@engram/config';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';
import { startTestApp, type TestApp } from '../../api/test/api-test.app.js';
import { spanAttribute, startOtlpReceiver, type OtlpReceiver } from '../../api/test/otlp-receiver.js';
import { WorkerModule } from '../src/worker.module.js';

/** Its own Redis database: another suite's worker on the same queue names would take these jobs. */
const REDIS_URL = 'redis://127.0.0.1:6379/8';
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const CONSUMER = 5; // OTLP SpanKind

/**
 * One trace from the HTTP request to the worker that did the queued work: the API (WORKER=false) puts the request's
 * trace context in the BullMQ job, and the worker process continues it.
 */
describe('a trace carried from the API through the job to the worker', () => {
  let receiver: OtlpReceiver;
  let scratch: ScratchDatabase;
  let api: TestApp;
  let worker: INestApplicationContext;

  const until = async (done: () => Promise<boolean>) => {
    for (let i = 0; i < 400 && !(await done()); i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
  };

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const redis = new Redis(REDIS_URL);
    await redis.flushdb();
    redis.disconnect();
    scratch = await createScratchDatabase();
    const env = { DATABASE_URL: scratch.url, REDIS_URL, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    api = await startTestApp({ ...env, WORKER: 'false' });
    worker = await NestFactory.createApplicationContext(
      await WorkerModule.forRoot(
        loadConfig({ ...env, EMBEDDINGS_PROVIDER: 'hash', LOG_LEVEL: 'silent', DATA_DIR: api.dataDir }),
      ),
      { logger: false },
    );
    await worker.init();

    const traceparent = `00-${TRACE_ID}-b7ad6b7169203331-01`;
    const added = await api.request('POST', '/v1/memories', {
      headers: { traceparent },
      body: { content: 'Frank keeps bees', user_id: 'frank' },
    });
    expect(added.status).toBe(202);
    const inferred = await api.request('POST', '/v1/memories', {
      headers: { traceparent },
      body: { user_id: 'frank', infer: true, messages: [{ role: 'user', content: 'I live in Ghent.' }] },
    });
    expect(inferred.status).toBe(202);
    await until(async () => {
      const memory = await api.request('GET', `/v1/memories/${added.body.memory.id}`);
      const event = await api.request('GET', `/v1/events/${inferred.body.event.id}`);
      return memory.body.memory?.status === 'ready' && event.body.event?.status === 'succeeded';
    });
    await api.request('POST', '/v1/memories/search', {
      headers: { traceparent },
      body: { query: 'bees', user_id: 'frank', mode: 'hybrid' },
    });
    // Closing flushes the spans each process still batches.
    await worker.close();
    await api.close();
  });
  afterAll(async () => {
    await scratch.drop();
    await receiver.close();
  });

  const traced = () => receiver.spans().filter((span) => span.traceId === TRACE_ID);

  it("continues the add's trace in the worker's embedding span, a child of the write that queued it", () => {
    const add = traced().find((span) => span.name === 'memory.add' && span.service === 'engram-api');
    const jobs = traced().filter((span) => span.name === 'embedding.jobs');
    expect(add).toBeDefined();
    expect(jobs.length).toBeGreaterThan(0);
    expect(jobs.every((span) => span.service === 'engram-worker' && span.kind === CONSUMER)).toBe(true);
    const api = new Set(
      traced()
        .filter((span) => span.service === 'engram-api')
        .map((span) => span.spanId),
    );
    expect(jobs.some((span) => span.parentSpanId !== undefined && api.has(span.parentSpanId))).toBe(true);
    const batch = traced().find((span) => span.name === 'embedding.batch');
    expect(jobs.map((span) => span.spanId)).toContain(batch?.parentSpanId);
  });

  it("runs the inference in the worker inside the add's trace, with its memory writes beneath it", () => {
    const run = traced().find((span) => span.name === 'inference.run');
    expect(run).toMatchObject({ service: 'engram-worker', kind: CONSUMER });
    const writes = traced().filter((span) => span.name === 'memory.add' && span.service === 'engram-worker');
    expect(writes.some((span) => span.parentSpanId === run!.spanId)).toBe(true);
  });

  it('shows the legs of a search and what it found, never its text', () => {
    const search = traced().find((span) => span.name === 'memory.search');
    expect(search).toBeDefined();
    expect(spanAttribute(search!, 'engram.search.mode')).toBe('hybrid');
    expect(spanAttribute(search!, 'engram.search.results')).toBe(1);
    const legs = traced()
      .filter((span) => span.parentSpanId === search!.spanId)
      .map((span) => span.name);
    expect(legs.sort()).toEqual(['search.embed_query', 'search.query']);
    expect(JSON.stringify(traced())).not.toContain('bees');
  });
});
