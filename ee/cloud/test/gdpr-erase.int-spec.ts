/* @license Enterprise */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { CachedEmbedder } from '@engram/embeddings';
import {
  asTenantId,
  contentHash,
  EmbeddingPipeline,
  embeddingJobOf,
  MemoryException,
  MemoryExceptionCode,
  newId,
  systemClock,
  type AuditEvent,
  type AuditLogger,
  type Embedder,
  type Memory,
  type TenantId,
} from '@engram/memory-core';
import { BagOfWordsEmbedder } from '@engram/memory-core/testing';
import { PostgresMemoryProvider } from '@engram/memory-postgres';
import { BullMqEmbeddingQueue, EMBEDDING_QUEUE_NAME, embeddingJobId, queuePrefix } from '@engram/queue';
import { EmbeddingCachePurger } from '../src/gdpr/embedding-cache.purger.js';
import { erasureAuditTrail } from '../src/gdpr/erasure-audit.js';
import { ErasureRepository } from '../src/gdpr/erasure.repository.js';
import { subjectDigest, type CloudErasureReceipt } from '../src/gdpr/erasure.js';
import { CloudGdprService } from '../src/gdpr/gdpr.service.js';
import { CloudMemoryProvider } from '../src/memory/cloud.memory-provider.js';
import { TenantRepository } from '../src/tenants/tenant.repository.js';
import {
  liveTenants,
  openCloudTestDatabase,
  requestTenant,
  type CloudTestDatabase,
} from './fixtures/cloud-test-database.js';
import { RedisKeyValueStore, scanRedis, scanTables, testRedisUrl, type Trace } from './gdpr-fixtures.js';

const REDIS_URL = testRedisUrl(14);

/** The cloud's AuditLogger as far as the erase uses it: events written at once, with ids. */
class RecordingAuditLogger implements AuditLogger {
  readonly events: Array<AuditEvent & { id: string }> = [];
  async log(event: AuditEvent): Promise<void> {
    await this.logDurably(event);
  }
  async logDurably(event: AuditEvent): Promise<{ id: string }> {
    const recorded = { ...event, id: newId() };
    this.events.push(recorded);
    return recorded;
  }
}

/** An embedder whose first call waits at a gate: to erase while a job is being embedded. */
class GatedEmbedder implements Embedder {
  readonly inner = new BagOfWordsEmbedder();
  readonly model = this.inner.model;
  readonly dimensions = this.inner.dimensions;
  private onStart!: () => void;
  readonly started = new Promise<void>((resolve) => (this.onStart = resolve));
  private open!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));

  release(): void {
    this.open();
  }

  async embed(texts: readonly string[]): Promise<number[][]> {
    this.onStart();
    await this.gate;
    return this.inner.embed(texts);
  }
}

/** Everything of one data subject planted in every store, and what a scan looks for. */
interface Planted {
  tenantId: TenantId;
  userId: string;
  memories: Memory[];
  /** Every content the subject ever had (the history keeps the old ones). */
  contents: string[];
  needles: string[];
}

/**
 * The GDPR erase on the cloud stack: Postgres with row-level security, the BullMQ queue and key-value entries on a
 * Redis database of its own (14), an embedding cache in this process and in another one (a second purger on the
 * same channel). Every subject's data is planted in every store first; the scans then read every table and every
 * Redis key.
 */
describe('GDPR erase (Postgres, Redis, caches, jobs)', () => {
  let db: CloudTestDatabase;
  let redis: Redis;
  let provider: CloudMemoryProvider;
  let tenantA: TenantId;
  let tenantB: TenantId;
  const channel = `engram-test:gdpr:${randomUUID()}`;
  const opened: Array<{ close(): Promise<void> }> = [];
  const cacheHere = new CachedEmbedder(new BagOfWordsEmbedder());
  const cacheThere = new CachedEmbedder(new BagOfWordsEmbedder());
  let queue: BullMqEmbeddingQueue;
  let herePurger: EmbeddingCachePurger;
  let kv: RedisKeyValueStore;
  let audit: RecordingAuditLogger;
  let gdpr: CloudGdprService;

  async function purger(cache: Embedder): Promise<EmbeddingCachePurger> {
    const started = new EmbeddingCachePurger(cache, { redisUrl: REDIS_URL, channel });
    await started.start();
    opened.push({ close: () => started.stop() });
    return started;
  }

  function newQueue(): BullMqEmbeddingQueue {
    const created = new BullMqEmbeddingQueue({ redisUrl: REDIS_URL, backoffMs: 10 });
    opened.push(created);
    return created;
  }

  /** The erase as a process builds it (the edition's providers), with the test's key-value store. */
  function newService(): CloudGdprService {
    const { controlSql, appSql } = db.database;
    return new CloudGdprService(
      new ErasureRepository(controlSql, appSql),
      new TenantRepository(controlSql),
      queue,
      herePurger,
      [kv],
      erasureAuditTrail(audit),
      systemClock,
      { jobsTimeoutMs: 10_000, lockWaitMs: 10_000 },
    );
  }

  /**
   * Plants subjects, each: three memories (one edited, one deleted: the history keeps their old contents), two of
   * them embedded by a worker through this process's cache (completed job records), a job waiting and one delayed
   * (queued once the worker is gone, so that they stay so), the contents in the other process's cache, and a
   * key-value entry.
   */
  async function plant(...owners: Array<[TenantId, string]>): Promise<Planted[]> {
    const planted: Array<Planted & { waiting: Memory; delayed: Memory }> = [];
    for (const [tenantId, userId] of owners) {
      const tag = randomUUID().slice(0, 8);
      const scope = { tenantId, userId };
      const [tea, city, phone] = await provider.addMany(scope, [
        { content: `likes green tea ${tag}` },
        { content: `lives in Lisbon ${tag}` },
        { content: `phone 555-0100 ${tag}` },
      ]);
      const moved = await provider.update(scope, city.id, { content: `moved to Porto ${tag}` });
      await provider.delete(scope, phone.id);
      await kv.set(tenantId, userId, 'seat', `prefers the aisle ${tag}`);
      const contents = [tea.content, city.content, moved.content, phone.content];
      await cacheThere.embed(contents);
      const memories = [tea, moved, phone];
      const needles = [userId, tag, ...contents, ...memories.map((m) => m.id), ...contents.map(contentHash)];
      planted.push({ tenantId, userId, memories, contents, needles, waiting: city, delayed: phone });
    }

    const worker = new BullMqEmbeddingQueue({ redisUrl: REDIS_URL, backoffMs: 10 });
    worker.start(new EmbeddingPipeline(provider, cacheHere));
    const embedded = planted.flatMap((p) => p.memories.slice(0, 2));
    await worker.enqueue(embedded.map(embeddingJobOf));
    const outcomes = await worker.waitFor(
      embedded.map((m) => m.id),
      10_000,
    );
    expect([...outcomes.values()].filter((o) => o === 'completed')).toHaveLength(embedded.length);
    await worker.close();

    // The job of a content before its edit, waiting, and one delayed as a retry waits for its backoff.
    await queue.enqueue(planted.map((p) => embeddingJobOf(p.waiting)));
    const raw = new Queue(EMBEDDING_QUEUE_NAME, {
      connection: { url: REDIS_URL },
      prefix: queuePrefix(EMBEDDING_QUEUE_NAME),
    });
    for (const { delayed } of planted)
      await raw.add('embed', embeddingJobOf(delayed), {
        jobId: embeddingJobId(embeddingJobOf(delayed)),
        delay: 600_000,
      });
    await raw.close();
    return planted;
  }

  /** The subject's traces left anywhere: every table, every Redis key. The same user id in another tenant is another subject. */
  async function traces(subject: Planted): Promise<Trace[]> {
    const found = [...(await scanTables(db.owner, subject.needles)), ...(await scanRedis(redis, subject.needles))];
    const others = (await liveAndDeletedTenants()).filter((t) => t !== subject.tenantId);
    return found.filter((t) => t.text.includes(subject.tenantId) || !others.some((o) => t.text.includes(o)));
  }

  async function liveAndDeletedTenants(): Promise<string[]> {
    return (await db.owner.query<{ id: string }>(`SELECT id::text AS id FROM tenants`)).map((row) => row.id);
  }

  async function storedMemories(tenantId: TenantId, userId: string): Promise<number> {
    const [row] = await db.owner.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM memories WHERE tenant_id = $1 AND user_id = $2`,
      [tenantId, userId],
    );
    return row.n;
  }

  async function jobsOf(tenantId: TenantId, userId: string): Promise<string[]> {
    const raw = new Queue(EMBEDDING_QUEUE_NAME, {
      connection: { url: REDIS_URL },
      prefix: queuePrefix(EMBEDDING_QUEUE_NAME),
    });
    try {
      const jobs = await raw.getJobs(['waiting', 'delayed', 'completed', 'failed', 'active']);
      return jobs.filter((j) => j.data.tenantId === tenantId && j.data.userId === userId).map((j) => j.id ?? '');
    } finally {
      await raw.close();
    }
  }

  beforeAll(async () => {
    db = await openCloudTestDatabase();
    [tenantA, tenantB] = await db.createTenants(2);
    const { appSql, controlSql, hnswDimensions } = db.database;
    provider = new CloudMemoryProvider(new PostgresMemoryProvider(appSql, { hnswDimensions }), appSql, {
      currentTenant: requestTenant,
      tenantIds: () => liveTenants(controlSql),
    });
    redis = new Redis(REDIS_URL);
    await redis.flushdb();
    kv = new RedisKeyValueStore(redis);
    audit = new RecordingAuditLogger();
    queue = newQueue();
    herePurger = await purger(cacheHere);
    await purger(cacheThere);
    gdpr = newService();
  });

  afterEach(() => {
    kv.failures = 0;
  });

  afterAll(async () => {
    for (const resource of opened.reverse()) await resource.close();
    await redis?.flushdb();
    redis?.disconnect();
    await provider?.close();
    await db?.teardown();
  });

  it('erases a subject from every table, Redis key and cache, and leaves the others', async () => {
    const userId = `subject-${randomUUID()}`;
    const [subject, neighbour, namesake] = await plant(
      [tenantA, userId],
      [tenantA, `neighbour-${randomUUID()}`],
      [tenantB, userId],
    );
    // The scan sees the subject everywhere it was planted.
    const jobKeys = (await jobsOf(tenantA, subject.userId)).map(
      (id) => `${queuePrefix(EMBEDDING_QUEUE_NAME)}:${EMBEDDING_QUEUE_NAME}:${id}`,
    );
    expect(jobKeys).toHaveLength(4);
    expect(new Set((await traces(subject)).map((t) => t.where))).toEqual(
      new Set([
        'memories',
        'memory_history',
        `kv:{${tenantA}}:${subject.userId}:seat`,
        ...jobKeys,
        ...['events', 'completed', 'wait', 'delayed'].map(
          (key) => `${queuePrefix(EMBEDDING_QUEUE_NAME)}:${EMBEDDING_QUEUE_NAME}:${key}`,
        ),
      ]),
    );

    const receipt = await gdpr.eraseSubject(tenantA, subject.userId);

    expect(receipt).toMatchObject({
      tenantId: tenantA,
      userId: subject.userId,
      deleted: { memories: 2, history: 5, kv: 1, jobs: 4, cache: 6 },
    });
    expect(receipt.auditEventId).toBe(audit.events.at(-1)?.id);
    expect(await traces(subject)).toEqual([]);
    expect(subject.contents.some((text) => cacheHolds(cacheHere, text) || cacheHolds(cacheThere, text))).toBe(false);

    // The audit event names the erase and the subject's digest, never the subject.
    const event = audit.events.at(-1);
    expect(event).toMatchObject({
      tenantId: tenantA,
      action: 'gdpr.erase_subject',
      outcome: 'success',
      targetIds: [receipt.id, `subject:${subjectDigest(tenantA, subject.userId)}`],
    });
    expect(JSON.stringify(event)).not.toContain(subject.userId);

    // The neighbour in the same tenant, and the same user id in another tenant, keep everything.
    for (const other of [neighbour, namesake]) {
      expect(await storedMemories(other.tenantId, other.userId)).toBe(2);
      expect(await jobsOf(other.tenantId, other.userId)).toHaveLength(4);
      expect(await kv.keys(other.tenantId, other.userId)).toHaveLength(1);
      expect(other.contents.every((text) => cacheHolds(cacheThere, text))).toBe(true);
      const history = await db.owner.query(`SELECT 1 FROM memory_history WHERE tenant_id = $1 AND user_id = $2`, [
        other.tenantId,
        other.userId,
      ]);
      expect(history).toHaveLength(5);
    }
  });

  it('gives the same receipt when repeated, and a new one once the subject has new data', async () => {
    const [subject] = await plant([tenantA, `subject-${randomUUID()}`]);
    const first = await gdpr.eraseSubject(tenantA, subject.userId);
    const events = audit.events.length;

    const again = await gdpr.eraseSubject(tenantA, subject.userId);
    expect(again).toEqual(first);
    // The repeat is on the audit log, naming the erase it found done.
    expect(audit.events.slice(events).map((e) => e.targetIds[0])).toEqual([first.id]);
    const records = await db.owner.query(`SELECT id FROM gdpr_erasures WHERE subject_digest = $1`, [
      subjectDigest(tenantA, subject.userId),
    ]);
    expect(records).toHaveLength(1);

    await provider.add({ tenantId: tenantA, userId: subject.userId }, { content: 'came back later' });
    const later = await gdpr.eraseSubject(tenantA, subject.userId);
    expect(later.id).not.toBe(first.id);
    expect(later.deleted).toMatchObject({ memories: 1, history: 1 });
    expect(await gdpr.eraseSubject(tenantA, subject.userId)).toEqual(later);
  });

  it('joins an erase of the same subject that is running: one erase, one receipt', async () => {
    const [subject] = await plant([tenantA, `subject-${randomUUID()}`]);
    const [one, two] = await Promise.all([
      gdpr.eraseSubject(tenantA, subject.userId),
      gdpr.eraseSubject(tenantA, subject.userId),
    ]);
    expect(two).toEqual(one);
    expect(one.deleted.memories).toBe(2);
  });

  it('completes an erase that failed after its first store when the request is repeated', async () => {
    const [subject] = await plant([tenantA, `subject-${randomUUID()}`]);
    kv.failures = 1;

    const failed = gdpr.eraseSubject(tenantA, subject.userId);
    await expect(failed).rejects.toBeInstanceOf(MemoryException);
    await expect(failed).rejects.toMatchObject({ code: MemoryExceptionCode.DEPENDENCY_UNAVAILABLE });
    // Half-way: the memories are gone, the later stores untouched, the record knows where it stopped.
    const [record] = await db.owner.query<{ state: string; steps_done: string[]; counts: object; attempts: number }>(
      `SELECT state, steps_done, counts, attempts FROM gdpr_erasures WHERE subject_digest = $1`,
      [subjectDigest(tenantA, subject.userId)],
    );
    expect(record).toMatchObject({ state: 'running', steps_done: ['memories'], counts: { memories: 2, history: 5 } });
    expect(await storedMemories(tenantA, subject.userId)).toBe(0);
    expect(await jobsOf(tenantA, subject.userId)).toHaveLength(4);
    expect(await kv.keys(tenantA, subject.userId)).toHaveLength(1);
    expect(audit.events.at(-1)).toMatchObject({ action: 'gdpr.erase_subject', outcome: 'failure' });

    const receipt = await gdpr.eraseSubject(tenantA, subject.userId);

    // The counts of the first attempt are kept: the receipt covers the whole erase.
    expect(receipt.deleted).toEqual({ memories: 2, history: 5, kv: 1, jobs: 4, cache: 6 });
    expect(await traces(subject)).toEqual([]);
    const [done] = await db.owner.query<{ attempts: number; user_id: string | null }>(
      `SELECT attempts, user_id FROM gdpr_erasures WHERE id = $1`,
      [receipt.id],
    );
    expect(done).toEqual({ attempts: 2, user_id: null });
  });

  it('lets the resumer finish an erase that stopped half-way, whose repeat then gets the receipt', async () => {
    const [subject] = await plant([tenantA, `subject-${randomUUID()}`]);
    kv.failures = 1;
    await expect(gdpr.eraseSubject(tenantA, subject.userId)).rejects.toBeInstanceOf(MemoryException);

    // Another process (a worker) resumes it, with a service of its own.
    expect(await newService().resumeUnfinished()).toBe(1);
    expect(await traces(subject)).toEqual([]);
    const receipt = await gdpr.eraseSubject(tenantA, subject.userId);
    expect(receipt.deleted).toEqual({ memories: 2, history: 5, kv: 1, jobs: 4, cache: 6 });
    expect(audit.events.filter((e) => e.targetIds[0] === receipt.id).map((e) => e.outcome)).toEqual([
      'failure',
      'success',
      'success',
    ]);
  });

  it('does not let a memory that is being embedded during the erase come back', async () => {
    const gated = new GatedEmbedder();
    const workerCache = new CachedEmbedder(gated);
    await purger(workerCache); // the worker process listens for evictions like every process
    const worker = new BullMqEmbeddingQueue({ redisUrl: REDIS_URL, backoffMs: 10 });
    worker.start(new EmbeddingPipeline(provider, workerCache));
    const userId = `subject-${randomUUID()}`;
    const scope = { tenantId: tenantA, userId };
    const memory = await provider.add(scope, { content: `embedding while erased ${randomUUID()}` });
    await worker.enqueue([embeddingJobOf(memory)]);
    await gated.started; // the pipeline has read the memory and is embedding it

    const erasing = gdpr.eraseSubject(tenantA, userId);
    while ((await storedMemories(tenantA, userId)) > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    gated.release(); // the vector arrives after the memory is gone

    const receipt = await erasing;
    await worker.close();
    expect(receipt.deleted).toMatchObject({ memories: 1, jobs: 1, cache: 1 });
    expect(await provider.get(scope, memory.id)).toBeNull();
    const rows = await db.owner.query(`SELECT 1 FROM memories WHERE id = $1`, [memory.id]);
    expect(rows).toEqual([]);
    expect(cacheHolds(workerCache, memory.content)).toBe(false);
    const needles = [userId, memory.id, memory.content];
    expect([...(await scanTables(db.owner, needles)), ...(await scanRedis(redis, needles))]).toEqual([]);
  });

  it('erases nothing of a tenant that does not exist', async () => {
    expect(await gdpr.erase({ kind: 'subject', tenantId: asTenantId(newId()), userId: 'u' })).toBeNull();
    expect(await gdpr.eraseTenant(asTenantId(newId()))).toBeNull();
  });

  it('erases a whole tenant: its keys first, then every store; a repeat gives the same receipt', async () => {
    const [tenantC] = await db.createTenants(1);
    const [one, two] = await plant([tenantC, `subject-${randomUUID()}`], [tenantC, `subject-${randomUUID()}`]);

    const receipt = (await gdpr.eraseTenant(tenantC)) as CloudErasureReceipt;

    expect(receipt).toMatchObject({
      tenantId: tenantC,
      userId: null,
      deleted: { memories: 4, history: 10, kv: 2, jobs: 8, cache: 12, apiKeys: 0 },
    });
    for (const subject of [one, two]) expect(await traces(subject)).toEqual([]);
    const [tenant] = await db.owner.query<{ deleted: boolean }>(
      `SELECT deleted_at IS NOT NULL AS deleted FROM tenants WHERE id = $1`,
      [tenantC],
    );
    expect(tenant.deleted).toBe(true);
    expect(await gdpr.eraseTenant(tenantC)).toEqual(receipt);
    // A subject of an erased tenant: no such tenant any more.
    expect(await gdpr.erase({ kind: 'subject', tenantId: tenantC, userId: one.userId })).toBeNull();
  });
});

/** Whether the cache held the text; it no longer does (asked by evicting it, which does not embed it). */
function cacheHolds(cache: CachedEmbedder, text: string): boolean {
  return cache.evictContent([contentHash(text)]) === 1;
}
