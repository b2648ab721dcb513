/* @license Enterprise */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { EMBEDDING_QUEUE_NAME, queuePrefix } from '@engram/queue';
import {
  createScratchDatabase,
  startApiProcess,
  startWorkerProcess,
  type ApiProcess,
  type JsonResponse,
  type ScratchDatabase,
  type WorkerProcess,
} from '@engram/testing';
import { createTenantWithKey } from './fixtures/cloud-admin.js';

/**
 * The deployment of docs/scaling.md in small: two API processes (WORKER=false) and two worker processes, the built
 * apps as production runs them (jest's global setup builds them), on one Postgres database and one Redis (database 2,
 * which this suite alone uses and flushes). Requests are spread over both APIs as a load balancer would.
 *
 * The embedding and inference work is counted by the database itself: triggers this suite adds to its scratch
 * database record every vector written and every inference run started, whichever process did it, so a job run
 * twice shows as two rows.
 */
const ADMIN = 'admin-token-for-the-scale-out-e2e';
const REDIS_URL = 'redis://127.0.0.1:6379/2';

const ENV = {
  EDITION: 'cloud',
  ENGRAM_ADMIN_TOKEN: ADMIN,
  REDIS_URL,
  EMBEDDINGS_PROVIDER: 'hash',
  LOG_LEVEL: 'silent',
};

/** As the owner (superuser): the triggers run SECURITY DEFINER, since request traffic's role may not write here. */
const COUNTING_TRIGGERS = [
  `CREATE TABLE scale_out_embedding_writes (memory_id uuid NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  `CREATE FUNCTION scale_out_count_embedding_write() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
     SET search_path = public AS $$
     BEGIN INSERT INTO scale_out_embedding_writes (memory_id) VALUES (NEW.id); RETURN NULL; END $$`,
  // A vector written by the pipeline; an edit that keeps the content rewrites it too, but this suite's counted
  // memories are never edited.
  `CREATE TRIGGER scale_out_embedding_writes AFTER UPDATE OF embedding ON memories FOR EACH ROW
     WHEN (NEW.embedding IS NOT NULL AND NEW.status = 'ready') EXECUTE FUNCTION scale_out_count_embedding_write()`,
  `CREATE TABLE scale_out_inference_runs (event_id uuid NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  `CREATE FUNCTION scale_out_count_inference_run() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
     SET search_path = public AS $$
     BEGIN INSERT INTO scale_out_inference_runs (event_id) VALUES (NEW.id); RETURN NULL; END $$`,
  // InferenceService.run marks its event running before anything else: one row per run of an event.
  `CREATE TRIGGER scale_out_inference_runs AFTER UPDATE OF status ON inference_events FOR EACH ROW
     WHEN (NEW.status = 'running') EXECUTE FUNCTION scale_out_count_inference_run()`,
];

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function waitUntil<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last saw ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('two API processes and two worker processes on one Postgres and one Redis', () => {
  let db: ScratchDatabase;
  let owner: pg.Client;
  let redis: Redis;
  let queue: Queue;
  let apis: ApiProcess[] = [];
  let workers: WorkerProcess[] = [];
  /** The tenant of the load: a rate limit far above what the suite sends. */
  let load: { id: string; key: string };

  /** Round-robin over the two APIs, as a load balancer would. */
  const api = (i: number) => apis[i % 2];

  async function statusCounts(ids: readonly string[]): Promise<Record<string, number>> {
    const { rows } = await owner.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM memories WHERE id = ANY($1::uuid[]) GROUP BY status',
      [ids],
    );
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  async function embeddingWrites(ids: readonly string[]): Promise<Map<string, number>> {
    const { rows } = await owner.query<{ memory_id: string; n: number }>(
      'SELECT memory_id, count(*)::int AS n FROM scale_out_embedding_writes WHERE memory_id = ANY($1::uuid[]) GROUP BY 1',
      [ids],
    );
    return new Map(rows.map((r) => [r.memory_id, r.n]));
  }

  /** The job ids (`<memory id>_<hash>`) that BullMQ's stall check moved back to waiting, from the queue's events. */
  async function stalledJobIds(): Promise<string[]> {
    const entries = await redis.xrange(queue.toKey('events'), '-', '+');
    return entries.flatMap(([, fields]) => {
      const field = (name: string) => fields[fields.indexOf(name) + 1];
      return field('event') === 'stalled' ? [field('jobId')] : [];
    });
  }

  function added(res: JsonResponse): string[] {
    expect(res.status).toBe(202);
    return res.body.memories ? res.body.memories.map((m: { id: string }) => m.id) : [res.body.memory.id];
  }

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    await redis.flushdb();
    db = await createScratchDatabase();
    const env = { ...ENV, DATABASE_URL: db.url };
    // All four boot at once, migrating the same empty database (the migration lock makes that safe). Every start is
    // awaited before a failure is reported, so that afterAll stops whichever did start.
    const started = await Promise.allSettled([
      startApiProcess({ ...env, WORKER: 'false' }),
      startApiProcess({ ...env, WORKER: 'false' }),
      startWorkerProcess(env),
      startWorkerProcess(env),
    ]);
    const value = <T>(r: PromiseSettledResult<T>) => (r.status === 'fulfilled' ? r.value : undefined);
    apis = started
      .slice(0, 2)
      .map(value)
      .filter((p) => p !== undefined) as ApiProcess[];
    workers = started
      .slice(2)
      .map(value)
      .filter((p) => p !== undefined) as WorkerProcess[];
    for (const result of started) if (result.status === 'rejected') throw result.reason;

    owner = new pg.Client({ connectionString: db.url });
    await owner.connect();
    for (const statement of COUNTING_TRIGGERS) await owner.query(statement);
    queue = new Queue(EMBEDDING_QUEUE_NAME, {
      connection: { url: REDIS_URL, maxRetriesPerRequest: null },
      prefix: queuePrefix(EMBEDDING_QUEUE_NAME),
    });
    const tenant = await createTenantWithKey(apis[0].url, ADMIN, {
      name: 'load',
      quotas: { requests_per_minute: 1_000_000 },
    });
    load = { id: tenant.id, key: tenant.key };
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...apis, ...workers].map((p) => p.stop()));
    await queue?.close();
    await owner?.end();
    await db?.drop();
    await redis?.flushdb();
    await redis?.quit();
  });

  it("shares one key's rate limit: N admitted across both APIs together, then 429 with Retry-After", async () => {
    const limited = await createTenantWithKey(apis[1].url, ADMIN, {
      name: 'limited',
      quotas: { requests_per_minute: 5 },
    });
    // All at once, half through each process: the bucket lives in Redis, so the boundary holds under the race.
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        api(i).request('GET', '/v1/memories?user_id=u', { headers: bearer(limited.key) }),
      ),
    );
    const admitted = answers.filter((r) => r.status === 200);
    const refused = answers.filter((r) => r.status === 429);
    expect(admitted).toHaveLength(5);
    expect(refused).toHaveLength(7);
    // Both processes refused some: neither had an allowance of its own.
    expect(new Set(answers.flatMap((r, i) => (r.status === 429 ? [i % 2] : []))).size).toBe(2);
    for (const res of refused) {
      expect(res.body.error.code).toBe('RATE_LIMITED');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
    }
    expect(admitted.map((r) => r.headers.get('x-ratelimit-remaining')).sort()).toEqual(['0', '1', '2', '3', '4']);
  });

  it('embeds every memory added through either API exactly once, by one of the workers', async () => {
    // 40 single adds and 4 batches of 40, interleaved over both APIs, 8 requests in flight.
    const requests = [
      ...Array.from({ length: 40 }, (_, i) => ({
        path: '/v1/memories',
        body: { content: `single fact number ${i} about load`, user_id: `load-user-${i % 4}` },
      })),
      ...Array.from({ length: 4 }, (_, b) => ({
        path: '/v1/memories/batch',
        body: {
          memories: Array.from({ length: 40 }, (_, i) => ({
            content: `batched fact ${b}-${i} about load`,
            user_id: `load-user-${b}`,
          })),
        },
      })),
    ];
    const ids: string[] = [];
    for (let i = 0; i < requests.length; i += 8) {
      const answers = await Promise.all(
        requests
          .slice(i, i + 8)
          .map((r, j) => api(i + j).request('POST', r.path, { headers: bearer(load.key), body: r.body })),
      );
      for (const res of answers) ids.push(...added(res));
    }
    expect(new Set(ids).size).toBe(200);

    await waitUntil(
      'every memory ready',
      () => statusCounts(ids),
      (c) => c.ready === 200,
      20_000,
    );
    const writes = await embeddingWrites(ids);
    expect(writes.size).toBe(200);
    expect([...writes].filter(([, n]) => n !== 1)).toEqual([]);
    // Nothing doubled either: one memory and one ADD history row per acknowledged add.
    const { rows } = await owner.query<{ memories: number; adds: number }>(
      `SELECT (SELECT count(*)::int FROM memories WHERE tenant_id = $1) AS memories,
              (SELECT count(*)::int FROM memory_history WHERE tenant_id = $1 AND op = 'ADD') AS adds`,
      [load.id],
    );
    expect(rows[0]).toEqual({ memories: 200, adds: 200 });
  });

  it('runs each inference event once: its outcomes once, its memories not doubled', async () => {
    const events: string[] = [];
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        api(i).request('POST', '/v1/memories', {
          headers: bearer(load.key),
          body: {
            infer: true,
            user_id: `infer-user-${i}`,
            messages: [{ role: 'user', content: `I live in City${i}. I work at Company${i}.` }],
          },
        }),
      ),
    );
    for (const res of answers) {
      expect(res.status).toBe(202);
      events.push(res.body.event.id);
    }
    // Each event read through the other API than the one that took it.
    const done = await Promise.all(
      events.map((id, i) =>
        waitUntil(
          `event ${id}`,
          () => api(i + 1).request('GET', `/v1/events/${id}`, { headers: bearer(load.key) }),
          (res) => res.status === 200 && ['succeeded', 'failed'].includes(res.body.event.status),
          20_000,
        ),
      ),
    );
    for (const [i, res] of done.entries()) {
      expect(res.body.event.status).toBe('succeeded');
      expect(res.body.event.error).toBeNull();
      expect(res.body.event.results.map((r: { op: string }) => r.op)).toEqual(['ADD', 'ADD']);
      const listed = await api(i).request('GET', `/v1/memories?user_id=infer-user-${i}`, { headers: bearer(load.key) });
      expect(listed.body.memories.map((m: { content: string }) => m.content).sort()).toEqual(
        res.body.event.results.map((r: { content: string }) => r.content).sort(),
      );
    }
    const { rows } = await owner.query<{ event_id: string; n: number }>(
      'SELECT event_id, count(*)::int AS n FROM scale_out_inference_runs WHERE event_id = ANY($1::uuid[]) GROUP BY 1',
      [events],
    );
    expect(rows).toHaveLength(6);
    expect(rows.filter((r) => r.n !== 1)).toEqual([]);
  });

  it('reads, searches and lists through one API what was written through the other, at once', async () => {
    const [a, b] = apis;
    const headers = bearer(load.key);
    const write = await a.request('POST', '/v1/memories', {
      headers,
      body: { content: 'Quentin keeps bonsai trees on the balcony', user_id: 'reader' },
    });
    expect(write.status).toBe(202);
    const id = write.body.memory.id as string;

    const read = await b.request('GET', `/v1/memories/${id}`, { headers });
    expect(read.status).toBe(200);
    expect(read.body.memory.content).toBe('Quentin keeps bonsai trees on the balcony');
    // Pending or already embedded: the keyword leg finds it either way.
    const search = await b.request('POST', '/v1/memories/search', {
      headers,
      body: { query: 'bonsai balcony', user_id: 'reader' },
    });
    expect(search.status).toBe(200);
    expect(search.body.results.map((r: { memory: { id: string } }) => r.memory.id)).toContain(id);
    const listed = await b.request('GET', '/v1/memories?user_id=reader', { headers });
    expect(listed.body.memories.map((m: { id: string }) => m.id)).toEqual([id]);

    const patched = await b.request('PATCH', `/v1/memories/${id}`, {
      headers,
      body: { content: 'Quentin keeps cacti on the balcony' },
    });
    expect(patched.status).toBe(200);
    const seen = await a.request('GET', `/v1/memories/${id}`, { headers });
    expect(seen.body.memory.content).toBe('Quentin keeps cacti on the balcony');
    const found = await a.request('POST', '/v1/memories/search', {
      headers,
      body: { query: 'cacti', user_id: 'reader', mode: 'keyword' },
    });
    expect(found.body.results.map((r: { memory: { id: string } }) => r.memory.id)).toEqual([id]);
    const history = await a.request('GET', `/v1/memories/${id}/history`, { headers });
    expect(history.body.history.map((h: { op: string }) => h.op)).toEqual(['ADD', 'UPDATE']);

    const deleted = await b.request('DELETE', `/v1/memories/${id}`, { headers });
    expect(deleted.status).toBe(200);
    expect((await a.request('GET', `/v1/memories/${id}`, { headers })).status).toBe(404);
    expect((await a.request('GET', '/v1/memories?user_id=reader', { headers })).body.memories).toEqual([]);
  });

  it('loses nothing when a worker is killed mid-load: the other takes its jobs over', async () => {
    const [victim, survivor] = workers;
    const ids: string[] = [];
    const send = async (from: number, to: number) => {
      for (let b = from; b < to; b += 2) {
        const answers = await Promise.all(
          [b, b + 1].map((n) =>
            api(n).request('POST', '/v1/memories/batch', {
              headers: bearer(load.key),
              body: {
                memories: Array.from({ length: 100 }, (_, i) => ({
                  content: `crash fact ${n}-${i} about durability`,
                  user_id: `crash-user-${n % 3}`,
                })),
              },
            }),
          ),
        );
        for (const res of answers) ids.push(...added(res));
      }
    };
    // Killed once both workers are busy (jobs active, some done): the victim then holds jobs of its own, and the
    // adds go on while they are still locked to it.
    const killed = waitUntil(
      'jobs under way',
      async () => ({ active: await queue.getActiveCount(), counts: await statusCounts(ids) }),
      (s) => s.active > 0 && (s.counts.ready ?? 0) > 0,
      10_000,
    ).then(() => victim.kill());
    await Promise.all([send(0, 12), killed]);
    expect(victim.process.signalCode).toBe('SIGKILL');
    const acknowledged = ids.length;
    expect(acknowledged).toBe(1200);

    // The lock (10 s) runs out and the survivor's stall check (every 5 s) hands the jobs over.
    await waitUntil(
      'every memory ready',
      () => statusCounts(ids),
      (c) => c.ready === acknowledged,
      40_000,
    );
    expect(survivor.process.exitCode).toBeNull();
    // The takeover happened: BullMQ's stall check logged jobs of these memories that the victim held when it died.
    const stalled = await stalledJobIds();
    expect(stalled.filter((jobId) => ids.includes(jobId.split('_')[0])).length).toBeGreaterThan(0);
    const { rows } = await owner.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM memories WHERE id = ANY($1::uuid[])',
      [ids],
    );
    expect(rows[0].n).toBe(acknowledged);
    // Each written once at least (a job the victim finished but never acknowledged may be written again).
    expect((await embeddingWrites(ids)).size).toBe(acknowledged);
  }, 60_000);
});
