import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { context, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Redis } from 'ioredis';
import { traceRedisCommands } from './traced.redis-commands.js';
import { captureSpans } from '../../test/span-capture.js';

/** A key and a value no span may carry: keys hold tenant and user ids, values content. */
const KEY = `engram:test:traced-redis:${randomUUID()}:user-alice`;
const VALUE = 'Alice is allergic to penicillin';

describe('Redis commands traced', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const contextManager = new AsyncLocalStorageContextManager();
  let tracer: Tracer;
  let stop: () => void;
  // Database 0, shared by suites that name their keys uniquely (as this one does) and flush nothing.
  const redis = new Redis('redis://127.0.0.1:6379/0', { lazyConnect: true, maxRetriesPerRequest: 1 });

  beforeAll(async () => {
    context.setGlobalContextManager(contextManager.enable());
    tracer = provider.getTracer('test');
    stop = traceRedisCommands(tracer);
    await redis.connect();
  });

  afterAll(async () => {
    stop();
    await redis.del(KEY);
    await redis.quit();
    await provider.shutdown();
    context.disable();
  });

  afterEach(() => exporter.reset());

  const traced = (work: () => Promise<unknown>) => captureSpans(tracer, provider, exporter, work);

  it('should make each command a client span of the active span, naming the command and nothing it carried', async () => {
    const { parent, children } = await traced(async () => {
      await redis.set(KEY, VALUE);
      await redis.get(KEY);
    });
    expect(children.map((span) => span.name)).toEqual(['redis SET', 'redis GET']);
    for (const span of children) {
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
      expect(span.attributes).toEqual({ 'db.system': 'redis', 'db.operation': span.name.slice('redis '.length) });
      const text = JSON.stringify({ name: span.name, attributes: span.attributes, events: span.events });
      expect(text).not.toContain(VALUE);
      expect(text).not.toContain('alice');
    }
  });

  it('should mark a failed command as an error', async () => {
    const { children } = await traced(async () => {
      await redis.set(KEY, VALUE);
      await redis.lpush(KEY, 'x');
    });
    const failed = children.find((span) => span.name === 'redis LPUSH');
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(JSON.stringify(failed?.status)).not.toContain(KEY);
  });

  it('should start no trace for a command outside any span', async () => {
    await redis.get(KEY);
    await provider.forceFlush();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('should trace nothing more once stopped', async () => {
    stop();
    const { children } = await traced(() => redis.get(KEY));
    expect(children).toEqual([]);
    stop = traceRedisCommands(tracer);
  });
});
