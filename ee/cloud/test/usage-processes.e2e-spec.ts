/* @license Enterprise */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';

/**
 * The limits hold across API processes: two real processes (the built API, as `npm start` runs it; jest's global
 * setup builds it) on one Postgres database and one Redis (database 12, which this suite alone uses and flushes).
 */
const root = join(import.meta.dirname, '..', '..', '..');
const ADMIN = 'admin-token-for-the-usage-processes-e2e';
const REDIS_URL = 'redis://127.0.0.1:6379/12';

interface Server {
  process: ChildProcess;
  url: string;
  output: () => string;
}

function startServer(env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, ['apps/api/dist/main.js'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start:\n${output}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ process: child, url: match[1], output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
}

async function stop(server: Server | undefined): Promise<void> {
  if (!server || server.process.exitCode !== null) return;
  const exited = new Promise((resolve) => server.process.once('exit', resolve));
  server.process.kill('SIGTERM');
  await exited;
}

async function call(server: Server, method: string, path: string, options: { key?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('two API processes', () => {
  let db: ScratchDatabase;
  let redis: Redis;
  let a: Server | undefined;
  let b: Server | undefined;

  async function tenantWithKeys(quotas: Record<string, number>, keys = 1) {
    const tenant = await call(a!, 'POST', '/v1/admin/tenants', { key: ADMIN, body: { name: 'shared', quotas } });
    expect(tenant.status).toBe(201);
    const id = tenant.body.tenant.id as string;
    const issued: string[] = [];
    for (let i = 0; i < keys; i++) {
      const key = await call(b!, 'POST', `/v1/admin/tenants/${id}/api-keys`, {
        key: ADMIN,
        body: { name: `key ${i}`, scopes: ['memories:read'] },
      });
      expect(key.status).toBe(201);
      issued.push(key.body.key as string);
    }
    return { id, keys: issued };
  }

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    await redis.flushdb();
    db = await createScratchDatabase();
    const env = {
      EDITION: 'cloud',
      DATABASE_URL: db.url,
      ENGRAM_ADMIN_TOKEN: ADMIN,
      REDIS_URL,
      EMBEDDINGS_PROVIDER: 'hash',
      WORKER: 'false',
      LOG_LEVEL: 'silent',
    };
    // Both started before either failure is reported, so that afterAll stops whichever did start.
    const started = await Promise.allSettled([startServer(env), startServer(env)]);
    [a, b] = started.map((result) => (result.status === 'fulfilled' ? result.value : undefined));
    for (const result of started) if (result.status === 'rejected') throw result.reason;
  }, 60_000);
  afterAll(async () => {
    await Promise.all([stop(a), stop(b)]);
    await db?.drop();
    await redis?.flushdb();
    await redis?.quit();
  });

  it('share one key’s rate limit: its allowance is spent across both, then both answer 429', async () => {
    expect(a!.process.pid).not.toBe(b!.process.pid);
    const t = await tenantWithKeys({ requests_per_minute: 4 }, 2);
    const [key, reader] = t.keys;
    const remaining: (string | null)[] = [];
    for (const server of [a!, b!, a!, b!]) {
      const res = await call(server, 'GET', '/v1/memories?user_id=u', { key });
      expect(res.status).toBe(200);
      remaining.push(res.headers.get('x-ratelimit-remaining'));
    }
    expect(remaining).toEqual(['3', '2', '1', '0']);
    for (const server of [a!, b!]) {
      const refused = await call(server, 'GET', '/v1/memories?user_id=u', { key });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Each process counted into the same month: 4 admitted (the refused are not counted), and this read.
    const seen = await call(a!, 'GET', '/v1/usage', { key: reader });
    expect(seen.body.usage.requests.used).toBe(5);
  });

  it('share the monthly request quota, even under concurrent requests to both', async () => {
    const t = await tenantWithKeys({ max_requests_per_month: 5 }, 2);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        call(i % 2 === 0 ? a! : b!, 'GET', '/v1/memories?user_id=u', { key: t.keys[i % 4 < 2 ? 0 : 1] }),
      ),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 413)).toHaveLength(7);
  });
});
