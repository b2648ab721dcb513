import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * "An acknowledged write is never lost": real API and worker processes on PostgreSQL and Redis,
 * 5,000 memories ingested while the worker is SIGKILLed, and 5,000 more while Redis is flushed.
 * Every memory must end `ready`, none twice.
 */
const root = join(import.meta.dirname, '..');
const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
// A Redis database of its own, so FLUSHDB touches nothing another test uses.
const REDIS_URL = 'redis://127.0.0.1:6379/7';
const database = `engram_durability_${Date.now()}_${process.pid}`;
const DATABASE_URL = `postgres://postgres@127.0.0.1:5432/${database}`;

const children = new Set<ChildProcess>();

function startProcess(entry: string, env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, [entry], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code}:\n${output}`));
    });
  });
}

const env = {
  DATABASE_URL,
  REDIS_URL,
  EMBEDDINGS_PROVIDER: 'hash',
  LOG_LEVEL: 'silent',
  WORKER: 'false',
};

const startWorker = async () => (await startProcess('apps/worker/dist/main.js', env, /worker started/)).child;

async function ingest(url: string, userId: string, total: number, during: (batch: number) => Promise<void>): Promise<void> {
  for (let batch = 0; batch < total / 1000; batch++) {
    const memories = Array.from({ length: 1000 }, (_, i) => ({ content: `fact ${batch * 1000 + i} about ${userId}`, user_id: userId }));
    const res = await fetch(`${url}/v1/memories/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ memories }),
    });
    expect(res.status).toBe(202);
    await during(batch);
  }
}

async function statusCounts(db: pg.Client, userId: string): Promise<Record<string, number>> {
  const { rows } = await db.query<{ status: string; n: string }>(
    'SELECT status, count(*) AS n FROM memories WHERE user_id = $1 GROUP BY status',
    [userId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

async function untilAllReady(db: pg.Client, userId: string, total: number, timeoutMs: number): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  let counts = await statusCounts(db, userId);
  while ((counts.ready ?? 0) < total && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    counts = await statusCounts(db, userId);
  }
  return counts;
}

describe('ingest survives a killed worker and a flushed Redis', () => {
  let admin: pg.Client;
  let db: pg.Client;
  let redis: Redis;
  let url: string;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    redis = new Redis(REDIS_URL);
    await redis.flushdb();
    const api = await startProcess('apps/api/dist/main.js', { ...env, PORT: '0' }, /listening on (http:\/\/\S+)/);
    url = api.match[1];
    db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
  }, 120_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await db?.end();
    await redis?.flushdb();
    redis?.disconnect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('ends with every memory ready, none duplicated, after the worker is SIGKILLed mid-ingest', async () => {
    let worker = await startWorker();
    await ingest(url, 'killed-worker', 5000, async (batch) => {
      if (batch === 1) {
        worker.kill('SIGKILL');
        worker = await startWorker();
      }
    });
    const counts = await untilAllReady(db, 'killed-worker', 5000, 90_000);
    expect(counts).toEqual({ ready: 5000 });
    const { rows } = await db.query('SELECT count(DISTINCT content)::int AS n FROM memories WHERE user_id = $1', ['killed-worker']);
    expect(rows[0].n).toBe(5000);
  }, 150_000);

  it('ends with every memory ready, none duplicated, after Redis is flushed mid-ingest', async () => {
    await ingest(url, 'flushed-redis', 5000, async (batch) => {
      if (batch === 2) await redis.flushdb();
    });
    const counts = await untilAllReady(db, 'flushed-redis', 5000, 90_000);
    expect(counts).toEqual({ ready: 5000 });
    const { rows } = await db.query('SELECT count(DISTINCT content)::int AS n FROM memories WHERE user_id = $1', ['flushed-redis']);
    expect(rows[0].n).toBe(5000);
  }, 150_000);
});
