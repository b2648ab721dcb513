/* @license Enterprise */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  MemoryException,
  MemoryExceptionCode,
  newId,
  type Memory,
  type MemoryScope,
  type TenantId,
} from '@engram/memory-core';
import { newInferenceEvent, PostgresInferenceEventStore } from '@engram/inference';
import { APP_ROLE, PgSqlExecutor, PostgresMemoryProvider, type SqlExecutor } from '@engram/memory-postgres';
import { openCloudDatabase } from '../src/database/cloud-database.js';
import { CloudDatabaseExceptionCode } from '../src/database/cloud-database.exception.js';
import { TENANT_SETTING, TenantSqlExecutor } from '../src/database/tenant-sql.executor.js';
import { CONTROL_TABLES, TENANT_TABLES } from '../src/migrations/cloud-migrations.js';
import { embedder, openCloudTestDatabase, type CloudTestDatabase } from './fixtures/cloud-test-database.js';

/** SQLSTATE insufficient_privilege: what PostgreSQL answers a write the policy's WITH CHECK refuses. */
const INSUFFICIENT_PRIVILEGE = '42501';

let db: CloudTestDatabase;
let appSql: TenantSqlExecutor;
let tenantA: TenantId;
let tenantB: TenantId;

beforeAll(async () => {
  db = await openCloudTestDatabase();
  appSql = db.database.appSql;
  [tenantA, tenantB] = await db.createTenants(2);
});

afterAll(() => db.teardown());

/** Rows of a table per tenant, as the owner (a superuser, whom row-level security does not hold) sees them. */
async function ownerCount(table: string, tenantId: TenantId): Promise<number> {
  const [row] = await db.owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`, [
    tenantId,
  ]);
  return row.n;
}

class Rollback extends Error {
  constructor(readonly rows: unknown[]) {
    super('rolled back on purpose');
  }
}

/** Runs statements in a transaction that is then rolled back, and returns what they returned. */
async function rolledBack(sql: SqlExecutor, text: string, params: unknown[] = []): Promise<unknown[]> {
  try {
    await sql.transaction(async (tx) => {
      throw new Rollback(await tx.query(text, params));
    });
  } catch (error) {
    if (error instanceof Rollback) return error.rows;
    throw error;
  }
  throw new Error('unreachable');
}

/**
 * Row-level security with no application wall: the Postgres provider straight on the tenant-setting executor,
 * running for tenant A, handed scopes of tenant B. Only the database stands between A and B's memories here.
 */
describe('row-level security alone (the Postgres provider, no application wall)', () => {
  let provider: PostgresMemoryProvider;
  let scopeB: MemoryScope;
  let tenantOnlyB: MemoryScope;
  let theirs: Memory;

  beforeAll(async () => {
    provider = new PostgresMemoryProvider(appSql, { hnswDimensions: db.database.hnswDimensions });
    scopeB = { tenantId: tenantB, userId: `user-${newId()}` };
    tenantOnlyB = { tenantId: tenantB };
    theirs = await appSql.withTenant(tenantB, async () => {
      const added = await provider.add(scopeB, { content: 'Mallory: the vault code is 4321', metadata: { k: 1 } });
      const [vector] = await embedder.embed([added.content]);
      await provider.setEmbedding(scopeB, added.id, {
        vector,
        model: embedder.model,
        dimensions: vector.length,
        contentHash: added.contentHash,
      });
      await provider.update(scopeB, added.id, { importance: 8 });
      return (await provider.get(scopeB, added.id))!;
    });
    // A has a memory of the same user id and content, so that a leak could not hide behind an empty tenant.
    await appSql.withTenant(tenantA, () =>
      provider.add({ tenantId: tenantA, userId: scopeB.userId }, { content: 'Mallory: the vault code is 4321' }),
    );
    // An inference event in each tenant, so that every tenant table has rows of both.
    for (const tenantId of [tenantA, tenantB]) {
      await appSql.withTenant(tenantId, () =>
        new PostgresInferenceEventStore(appSql).create(
          newInferenceEvent(newId(), { tenantId, userId: scopeB.userId }, 'rules', new Date()),
        ),
      );
    }
  });

  const asA = <T>(fn: () => Promise<T>): Promise<T> => appSql.withTenant(tenantA, fn);

  async function expectTheirsUntouched(): Promise<void> {
    expect(await appSql.withTenant(tenantB, () => provider.get(scopeB, theirs.id))).toEqual(theirs);
    expect(await appSql.withTenant(tenantB, () => provider.history(scopeB, theirs.id))).toHaveLength(2);
  }

  async function expectNotFound(promise: Promise<unknown>): Promise<void> {
    await expect(promise).rejects.toBeInstanceOf(MemoryException);
    await expect(promise).rejects.toMatchObject({ code: MemoryExceptionCode.MEMORY_NOT_FOUND });
  }

  async function searchAll(scope: MemoryScope): Promise<string[]> {
    const text = 'vault code';
    const [vector] = await embedder.embed([text]);
    const found: string[] = [];
    for (const mode of ['keyword', 'vector', 'hybrid'] as const) {
      const embedding = mode === 'keyword' ? undefined : { vector, model: embedder.model };
      const results = await provider.search(scope, { text, mode, limit: 10, embedding });
      found.push(...results.map((result) => result.memory.tenantId));
    }
    return found;
  }

  describe('running for tenant A with scopes of tenant B', () => {
    it('should not return a memory of another tenant by id (get, getMany, exists)', async () => {
      for (const scope of [scopeB, tenantOnlyB]) {
        expect(await asA(() => provider.get(scope, theirs.id))).toBeNull();
        expect(await asA(() => provider.getMany(scope, [theirs.id]))).toEqual([]);
        expect(await asA(() => provider.exists(scope, theirs.id))).toBe(false);
      }
    });

    it('should not return a memory of another tenant from list, search or count, with or without a filter', async () => {
      const filter = {
        kind: 'condition',
        field: { kind: 'metadata', path: ['k'], type: 'json' },
        op: 'eq',
        value: 1,
      } as const;
      expect(await asA(() => provider.list(scopeB, { limit: 100 }))).toEqual({ items: [], nextCursor: null });
      expect(await asA(() => provider.list(scopeB, { limit: 100, filter }))).toEqual({ items: [], nextCursor: null });
      expect(await asA(() => searchAll(scopeB))).toEqual([]);
      expect(await asA(() => provider.count(scopeB))).toBe(0);
      expect(await asA(() => provider.count(scopeB, filter))).toBe(0);
      expect(await asA(() => provider.speakerLabels(scopeB))).toEqual([]);
    });

    it('should not return the history of a memory of another tenant', async () => {
      for (const scope of [scopeB, tenantOnlyB]) {
        expect(await asA(() => provider.history(scope, theirs.id))).toEqual([]);
      }
    });

    it('should not update, delete, clear, embed, fail or count access to a memory of another tenant', async () => {
      for (const scope of [scopeB, tenantOnlyB]) {
        await expectNotFound(asA(() => provider.update(scope, theirs.id, { content: 'hijacked' })));
        await expectNotFound(asA(() => provider.delete(scope, theirs.id)));
        expect(await asA(() => provider.deleteMany(scope, [theirs.id]))).toBe(0);
        await asA(() => provider.recordAccess(scope, [{ id: theirs.id, count: 3, at: new Date() }]));
        await asA(() => provider.markFailed(scope, theirs.id, 'sabotage'));
        const embedding = { vector: [1, 0, 0], model: 'm', dimensions: 3, contentHash: theirs.contentHash };
        expect(await asA(() => provider.setEmbedding(scope, theirs.id, embedding))).toBe('skipped');
      }
      expect(await asA(() => provider.clear(scopeB))).toBe(0);
      await expectTheirsUntouched();
    });

    it('should refuse to write a memory into another tenant', async () => {
      const before = await ownerCount('memories', tenantB);
      await expect(asA(() => provider.add(scopeB, { content: 'planted' }))).rejects.toMatchObject({
        code: INSUFFICIENT_PRIVILEGE,
      });
      expect(await ownerCount('memories', tenantB)).toBe(before);
    });

    it('should not list the pending memories of another tenant', async () => {
      const pendingB = await appSql.withTenant(tenantB, () => provider.add(scopeB, { content: 'not embedded yet' }));
      const jobs = await asA(() => provider.listPending(new Date(Date.now() + 60_000), 100_000));
      expect(jobs.map((job) => job.memoryId)).not.toContain(pendingB.id);
      expect(new Set(jobs.map((job) => job.tenantId))).toEqual(new Set([tenantA]));
    });
  });

  describe('raw statements that forget the tenant filter', () => {
    it('should read only the current tenant rows of every tenant table', async () => {
      for (const table of TENANT_TABLES) {
        const rows = await asA(() =>
          appSql.query<{ tenant_id: string }>(`SELECT DISTINCT tenant_id::text FROM ${table}`),
        );
        expect(rows).toEqual([{ tenant_id: tenantA }]);
      }
    });

    it('should update and delete only the current tenant rows', async () => {
      const updated = await asA(() =>
        rolledBack(appSql, `UPDATE memories SET content = 'overwritten' RETURNING tenant_id::text AS t`),
      );
      const deleted = await asA(() => rolledBack(appSql, `DELETE FROM memory_history RETURNING tenant_id::text AS t`));
      expect(updated.length).toBeGreaterThan(0);
      expect(deleted.length).toBeGreaterThan(0);
      expect(new Set([...updated, ...deleted].map((row) => (row as { t: string }).t))).toEqual(new Set([tenantA]));
      await expectTheirsUntouched();
    });

    it('should refuse to move a row into another tenant or insert one there', async () => {
      await expect(asA(() => appSql.query(`UPDATE memories SET tenant_id = $1`, [tenantB]))).rejects.toMatchObject({
        code: INSUFFICIENT_PRIVILEGE,
      });
      await expect(
        asA(() =>
          appSql.query(
            `INSERT INTO memory_history (tenant_id, id, memory_id, namespace, op, actor, at)
             VALUES ($1, $2, $2, 'default', 'ADD', 'intruder', now())`,
            [tenantB, newId()],
          ),
        ),
      ).rejects.toMatchObject({ code: INSUFFICIENT_PRIVILEGE });
    });
  });

  describe('without any tenant set', () => {
    it('should show nothing at all', async () => {
      expect(await ownerCount('memories', tenantB)).toBeGreaterThan(0);
      for (const table of TENANT_TABLES) {
        expect(await appSql.query(`SELECT 1 FROM ${table} LIMIT 1`)).toEqual([]);
      }
      expect(await provider.get(scopeB, theirs.id)).toBeNull();
      expect(await provider.exists(tenantOnlyB, theirs.id)).toBe(false);
      expect(await provider.list(scopeB, { limit: 100 })).toEqual({ items: [], nextCursor: null });
      expect(await searchAll(scopeB)).toEqual([]);
      expect(await provider.count(scopeB)).toBe(0);
      expect(await provider.history(scopeB, theirs.id)).toEqual([]);
      // The reconciler's scan, which crosses tenants in the OSS edition: nothing of any tenant.
      expect(await provider.listPending(new Date(Date.now() + 60_000), 100_000)).toEqual([]);
    });

    it('should refuse every write and change nothing', async () => {
      await expect(provider.add(scopeB, { content: 'orphan' })).rejects.toMatchObject({ code: INSUFFICIENT_PRIVILEGE });
      await expectNotFound(provider.update(scopeB, theirs.id, { content: 'hijacked' }));
      await expectNotFound(provider.delete(tenantOnlyB, theirs.id));
      expect(await provider.clear(scopeB)).toBe(0);
      expect(await provider.purgeExpired()).toBe(0);
      await expect(appSql.query(`UPDATE memories SET content = 'x' RETURNING id`)).resolves.toEqual([]);
      await expectTheirsUntouched();
    });
  });
});

describe('TenantSqlExecutor', () => {
  const currentSetting = `SELECT current_setting('${TENANT_SETTING}', true) AS tenant`;

  it('should leave no tenant behind on a pooled connection once its transaction ends', async () => {
    // One connection, so the statement after the tenant's runs on the very same session.
    const pool = new PgSqlExecutor({ connectionString: db.scratch.url, role: APP_ROLE, max: 1 });
    const sql = new TenantSqlExecutor(pool);
    try {
      expect(await sql.withTenant(tenantA, () => sql.query(currentSetting))).toEqual([{ tenant: tenantA }]);
      const [after] = await sql.query<{ tenant: string | null }>(currentSetting);
      expect(after.tenant ?? '').toBe('');
      expect(await sql.query(`SELECT 1 FROM memories LIMIT 1`)).toEqual([]);
    } finally {
      await sql.close();
    }
  });

  it('should keep the tenants of concurrent callers apart', async () => {
    const tenants = [tenantA, tenantB];
    const seen = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const tenantId = tenants[i % 2];
        return appSql.withTenant(tenantId, async () => {
          // Interleaved on purpose: each caller yields between its statements.
          await new Promise((resolve) => setTimeout(resolve, (i * 7) % 13));
          const rows = await appSql.query<{ t: string }>(`SELECT DISTINCT tenant_id::text AS t FROM memories`);
          const [setting] = await appSql.query<{ tenant: string }>(currentSetting);
          return { tenantId, rows: rows.map((row) => row.t), setting: setting.tenant };
        });
      }),
    );
    for (const { tenantId, rows, setting } of seen) {
      expect(rows).toEqual([tenantId]);
      expect(setting).toBe(tenantId);
    }
  });

  it('should join the transaction when transaction is called on the transaction executor', async () => {
    const [outer, inner] = await appSql.withTenant(tenantA, () =>
      appSql.transaction(async (tx) => {
        const [first] = await tx.query<{ xid: string; tenant: string }>(
          `SELECT txid_current()::text AS xid, current_setting('${TENANT_SETTING}') AS tenant`,
        );
        const second = await tx.transaction(async (nested) => {
          const [row] = await nested.query<{ xid: string; tenant: string }>(
            `SELECT txid_current()::text AS xid, current_setting('${TENANT_SETTING}') AS tenant`,
          );
          return row;
        });
        return [first, second];
      }),
    );
    expect(inner).toEqual(outer);
    expect(outer.tenant).toBe(tenantA);
  });

  it('should refuse a tenant id that is not a uuid, before any statement', async () => {
    await expect(appSql.withTenant('not-a-tenant' as TenantId, () => appSql.query('SELECT 1'))).rejects.toMatchObject({
      code: MemoryExceptionCode.VALIDATION_FAILED,
    });
  });
});

describe('the role request traffic runs as', () => {
  interface RoleRow {
    role: string;
    rolsuper: boolean;
    rolbypassrls: boolean;
  }
  const WHO_AM_I = `SELECT current_user::text AS role, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user`;

  it('should be engram_app, neither superuser nor able to bypass row-level security', async () => {
    const expected = { role: APP_ROLE, rolsuper: false, rolbypassrls: false };
    expect(await db.database.controlSql.query<RoleRow>(WHO_AM_I)).toEqual([expected]);
    expect(await appSql.withTenant(tenantA, () => appSql.query<RoleRow>(WHO_AM_I))).toEqual([expected]);
  });

  it('should not own any table it uses (an owner could switch row-level security off)', async () => {
    const rows = await db.database.controlSql.query<{ tablename: string; tableowner: string; me: string }>(
      `SELECT tablename::text, tableowner::text, current_user::text AS me FROM pg_tables
        WHERE schemaname = current_schema() AND tablename = ANY($1::text[])`,
      [[...TENANT_TABLES, ...CONTROL_TABLES]],
    );
    expect(rows).toHaveLength(TENANT_TABLES.length + CONTROL_TABLES.length);
    for (const row of rows) expect(row.tableowner).not.toBe(row.me);
    await expect(db.database.controlSql.query('ALTER TABLE memories DISABLE ROW LEVEL SECURITY')).rejects.toMatchObject(
      {
        code: INSUFFICIENT_PRIVILEGE,
      },
    );
    await expect(db.database.controlSql.query('DROP POLICY tenant_isolation ON memories')).rejects.toMatchObject({
      code: INSUFFICIENT_PRIVILEGE,
    });
  });

  it('should not be able to turn row-level security off for its session', async () => {
    // row_security = off makes PostgreSQL refuse a query that a policy would filter, rather than bypass the policy.
    await expect(
      appSql.withTenant(tenantA, () =>
        appSql.transaction(async (tx) => {
          await tx.query(`SET LOCAL row_security = off`);
          return tx.query('SELECT count(*) FROM memories');
        }),
      ),
    ).rejects.toMatchObject({ code: INSUFFICIENT_PRIVILEGE });
  });

  it('should find row-level security enabled and forced on every tenant table, and off on the control tables', async () => {
    const rows = await db.owner.query<{ relname: string; on: boolean; forced: boolean; policies: string[] }>(
      `SELECT c.relname::text, c.relrowsecurity AS on, c.relforcerowsecurity AS forced,
          ARRAY(SELECT polname::text FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
         FROM pg_class c WHERE c.relname = ANY($1::text[]) AND c.relnamespace = current_schema()::regnamespace
        ORDER BY c.relname`,
      [[...TENANT_TABLES, ...CONTROL_TABLES]],
    );
    const byName = new Map(rows.map((row) => [row.relname, row]));
    for (const table of TENANT_TABLES) {
      expect(byName.get(table)).toEqual({ relname: table, on: true, forced: true, policies: ['tenant_isolation'] });
    }
    for (const table of CONTROL_TABLES) {
      expect(byName.get(table)).toEqual({ relname: table, on: false, forced: false, policies: [] });
    }
  });

  it('should read and write the control tables without a tenant (they are looked up before one is known)', async () => {
    const rows = await db.database.controlSql.query<{ id: string }>(`SELECT id::text FROM tenants WHERE id = $1`, [
      tenantA,
    ]);
    expect(rows).toEqual([{ id: tenantA }]);
    const key = `key_${newId()}`;
    await db.database.controlSql.query(
      `INSERT INTO api_keys (id, tenant_id, scopes, secret_hash, created_at) VALUES ($1, $2, $3, $4, now())`,
      [key, tenantA, ['memories:read'], Buffer.from('hash')],
    );
    expect(await db.database.controlSql.query(`DELETE FROM api_keys WHERE id = $1 RETURNING id`, [key])).toHaveLength(
      1,
    );
  });
});

describe('openCloudDatabase', () => {
  it('should refuse to serve requests as a role that bypasses row-level security', async () => {
    // The test database's owner URL is a superuser's: as DATABASE_APP_URL it would void the policies.
    await expect(
      openCloudDatabase({
        databaseUrl: db.scratch.url,
        databaseAppUrl: db.scratch.url,
        embedderDimensions: embedder.dimensions,
      }),
    ).rejects.toMatchObject({ code: CloudDatabaseExceptionCode.REQUEST_ROLE_NOT_RESTRICTED });
  });

  it('should refuse to start without a server database', async () => {
    await expect(openCloudDatabase({ databaseUrl: '', embedderDimensions: embedder.dimensions })).rejects.toMatchObject(
      {
        code: CloudDatabaseExceptionCode.SERVER_DATABASE_REQUIRED,
      },
    );
  });

  it('should open an already migrated database again, applying nothing twice', async () => {
    const again = await openCloudDatabase({ databaseUrl: db.scratch.url, embedderDimensions: embedder.dimensions });
    try {
      const migrations = await db.owner.query<{ name: string; n: number }>(
        `SELECT name, count(*)::int AS n FROM migrations GROUP BY name ORDER BY min(id)`,
      );
      expect(migrations.map((row) => row.n)).toEqual(migrations.map(() => 1));
      expect(migrations.map((row) => row.name)).toEqual(
        expect.arrayContaining(['CreateTenantTables1795441200000', 'TenantRowLevelSecurity1795441260000']),
      );
      expect(
        await again.appSql.withTenant(tenantB, () => again.appSql.query('SELECT 1 FROM memories LIMIT 1')),
      ).toHaveLength(1);
    } finally {
      await again.close();
    }
  });
});
