import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PrivateRedisServer } from '../../../test/support/private-services.js';
import { READY_PROBE_TIMEOUT_MS } from '../src/health/health.controller.js';
import { startTestApp, type TestApp } from './api-test.app.js';

describe('GET /ready with Redis (REDIS_URL)', () => {
  // A Redis of this test's own, so that it can be stopped and started again without touching the machine's.
  let redis: PrivateRedisServer;
  let api: TestApp;

  beforeAll(async () => {
    redis = await PrivateRedisServer.create();
    api = await startTestApp({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    // Closing the app needs Redis (BullMQ's connections wait for it), so it is up again whatever a test left.
    await redis.start();
    await api?.close();
    await redis.destroy();
  });

  it('reports the key-value store in Redis with its latency', async () => {
    const res = await api.request('GET', '/ready');
    expect(res.status).toBe(200);
    expect(res.body.dependencies.kv).toMatchObject({ status: 'up', backend: 'redis', latency_ms: expect.any(Number) });
  });

  it('is not ready while Redis is down, says which dependencies, and is ready again once it is back', async () => {
    await redis.stop();
    const started = performance.now();
    const down = await api.request('GET', '/ready');
    expect(performance.now() - started).toBeLessThan(READY_PROBE_TIMEOUT_MS + 3000);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not_ready');
    expect(down.body.dependencies.kv).toMatchObject({ status: 'down', error: expect.any(String) });
    expect(down.body.dependencies.storage.status).toBe('up');

    await redis.start();
    let again = await api.request('GET', '/ready');
    for (let attempt = 0; again.status !== 200 && attempt < 50; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      again = await api.request('GET', '/ready');
    }
    expect(again.status).toBe(200);
    expect(again.body.dependencies.kv.status).toBe('up');
  });
});
