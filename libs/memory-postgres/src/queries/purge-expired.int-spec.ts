import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { asTenantId, OSS_TENANT_ID, type MemoryScope } from '@engram/memory-core';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';
import { openPostgresMemoryDatabase } from '../postgres-memory.factory.js';
import { PostgresMemoryProvider } from '../postgres.memory-provider.js';
import { PgSqlExecutor } from '../sql/pg.sql-executor.js';
import type { SqlExecutor } from '../sql/sql-executor.js';
import { purgeExpired } from './memory.queries.js';

/**
 * The expired-memory purge on a database of its own (the counts are exact only where no other test writes):
 * batches across tenants, history kept, the partial expiry index used, and rows locked by someone else skipped
 * rather than waited for.
 */
const NOW = new Date('2026-06-01T00:00:00Z');
const EXPIRED = new Date('2026-05-31T00:00:00Z');
const TENANT_B = asTenantId('5b0f4c1e-2f7a-4d3b-8e6c-9a1d2c3b4e5f');
const inA: MemoryScope = { tenantId: OSS_TENANT_ID, userId: 'purge-a' };
const inB: MemoryScope = { tenantId: TENANT_B, agentId: 'purge-b' };

describe('PostgresMemoryProvider.purgeExpired on PostgreSQL', () => {
  let database: ScratchDatabase;
  let dataDir: string;
  let app: SqlExecutor;
  let owner: PgSqlExecutor;
  let sut: PostgresMemoryProvider;

  beforeAll(async () => {
    database = await createScratchDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'engram-purge-'));
    ({ sql: app } = await openPostgresMemoryDatabase({ databaseUrl: database.url, dataDir, embedderDimensions: 8 }));
    owner = new PgSqlExecutor({ connectionString: database.url, max: 2 });
    sut = new PostgresMemoryProvider(app, { clock: { now: () => NOW } });
  });

  afterAll(async () => {
    await sut.close();
    await owner.close();
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function count(sql: string, values: unknown[] = []): Promise<number> {
    const [row] = await owner.query<{ count: number }>(sql, values);
    return Number(row.count);
  }

  it('should delete the expired memories of every tenant in batches, keep their history and add none', async () => {
    const expired = (n: number, prefix: string) =>
      Array.from({ length: n }, (_, i) => ({ content: `${prefix} ${i}`, expiresAt: EXPIRED }));
    const a = await sut.addMany(inA, expired(1_500, 'tenant a'));
    await sut.addMany(inB, expired(700, 'tenant b'));
    const [later] = await sut.addMany(inA, [{ content: 'expires next week', expiresAt: new Date('2026-06-08Z') }]);
    const [forever] = await sut.addMany(inB, [{ content: 'never expires' }]);

    const batches: number[] = [];
    for (let purged = -1; purged !== 0;) batches.push((purged = await sut.purgeExpired(NOW, 1_000)));
    expect(batches).toEqual([1_000, 1_000, 200, 0]);

    expect(await count('SELECT count(*) FROM memories')).toBe(2);
    expect(await sut.get(inA, later.id)).not.toBeNull();
    expect(await sut.get(inB, forever.id)).not.toBeNull();
    // History outlives the memory, as after a delete; nobody deleted these, so no DELETE rows.
    expect(await count(`SELECT count(*) FROM memory_history WHERE op = 'ADD'`)).toBe(2_202);
    expect(await count(`SELECT count(*) FROM memory_history WHERE op = 'DELETE'`)).toBe(0);
    expect((await sut.history(inA, a[0].id)).map((entry) => entry.op)).toEqual(['ADD']);
  });

  it('should find the expired rows through the partial expiry index, not by scanning the table', async () => {
    await owner.query(
      `INSERT INTO memories (tenant_id, id, user_id, namespace, content, memory_type, importance, confidence, status,
         content_hash, created_at, updated_at, expires_at)
       SELECT $1::uuid, gen_random_uuid(), 'bulk', 'default', 'note ' || g, 'fact', 5, 1, 'ready', 'h', now(), now(),
         CASE WHEN g % 100 = 0 THEN $2::timestamptz END
       FROM generate_series(1, 20000) g`,
      [OSS_TENANT_ID, EXPIRED],
    );
    await owner.query('ANALYZE memories');
    const statement = purgeExpired(NOW, 1_000);
    const plan = (
      await owner.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) ${statement.text}`, statement.values)
    )
      .map((row) => row['QUERY PLAN'])
      .join('\n');
    expect(plan).toContain('Index Scan using memories_expiry_idx on memories e');
    // Deleted by ctid: neither the search nor the delete reads the whole table.
    expect(plan).toContain('Tid Scan on memories m');
    expect(plan).not.toContain('Seq Scan');
    expect(await sut.purgeExpired(NOW, 1_000)).toBe(200);
  });

  it('should skip a row another transaction holds, and take it once it is free', async () => {
    const [held, free] = await sut.addMany(inA, [
      { content: 'locked by a request', expiresAt: EXPIRED },
      { content: 'free to go', expiresAt: EXPIRED },
    ]);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const transaction = owner.transaction(async (tx) => {
      await tx.query('SELECT id FROM memories WHERE id = $1 FOR UPDATE', [held.id]);
      locked();
      await released;
    });
    await lockTaken;
    try {
      expect(await sut.purgeExpired(NOW, 1_000)).toBe(1);
      expect(await count('SELECT count(*) FROM memories WHERE id = $1', [free.id])).toBe(0);
    } finally {
      release();
      await transaction;
    }
    expect(await sut.purgeExpired(NOW, 1_000)).toBe(1);
    expect(await count('SELECT count(*) FROM memories WHERE id = $1', [held.id])).toBe(0);
  });

  it('should purge by the clock when called without arguments', async () => {
    await sut.addMany(inB, [{ content: 'expired yesterday', expiresAt: EXPIRED }]);
    expect(await sut.purgeExpired()).toBe(1);
  });
});
