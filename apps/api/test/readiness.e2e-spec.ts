import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { READY_PROBE_TIMEOUT_MS } from '../src/health/health.controller.js';
import { startTestApp, type TestApp } from './api-test.app.js';

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A Redis server of this test's own, so that it can be stopped and started again without touching the machine's
 * shared one: no persistence, files in a temporary directory.
 */
class OwnRedisServer {
  private process: ChildProcess | null = null;

  constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.process) return;
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    this.process = spawn('redis-server', [...args, '--dir', this.dir], { stdio: 'ignore' });
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    for (let attempt = 0; ; attempt++) {
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch (error) {
        if (attempt === 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

describe('GET /ready with Redis (REDIS_URL)', () => {
  let redis: OwnRedisServer;
  let api: TestApp;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engram-ready-redis-'));
    redis = new OwnRedisServer(await freePort(), dir);
    await redis.start();
    api = await startTestApp({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    // Closing the app needs Redis (BullMQ's connections wait for it), so it is up again whatever a test left.
    await redis.start();
    await api?.close();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
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
