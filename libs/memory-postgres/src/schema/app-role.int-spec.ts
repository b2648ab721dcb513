import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OSS_TENANT_ID, asTenantId, newId } from '@engram/memory-core';
import { createScratchDatabase, testDatabaseUrl, type ScratchDatabase } from '@engram/testing';
import { openPostgresMemoryDatabase, type PostgresMemoryOptions } from '../postgres-memory.factory.js';
import { PgSqlExecutor } from '../sql/pg.sql-executor.js';
import type { SqlExecutor } from '../sql/sql-executor.js';
import { APP_ROLE } from './app-role.js';

const OTHER_TENANT = asTenantId('7d3c5e0a-4f1b-4c8e-9a2d-6b5f4e3c2a10');

interface RoleRow {
  name: string;
  rolsuper: boolean;
  rolbypassrls: boolean;
}

const WHO_AM_I = `SELECT current_user::text AS name, r.rolsuper, r.rolbypassrls
  FROM pg_roles r WHERE r.rolname = current_user`;

describe('request traffic on the owner URL', () => {
  let dataDir: string;
  let app: SqlExecutor;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'engram-app-role-'));
    ({ sql: app } = await openPostgresMemoryDatabase({
      databaseUrl: testDatabaseUrl(),
      dataDir,
      embedderDimensions: 64,
    }));
  });

  afterAll(async () => {
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('should run as engram_app, which is no superuser and cannot bypass row-level security', async () => {
    expect(await app.query<RoleRow>(WHO_AM_I)).toEqual([{ name: APP_ROLE, rolsuper: false, rolbypassrls: false }]);
  });

  it('should switch every pooled connection, not only the first', async () => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        app.transaction(async (tx) => {
          // Held open together, so the pool has to open several connections.
          await tx.query('SELECT pg_sleep(0.05)');
          return (await tx.query<RoleRow>(WHO_AM_I))[0].name;
        }),
      ),
    );
    expect(new Set(answers)).toEqual(new Set([APP_ROLE]));
  });

  it('should read and write the memory tables and nothing more', async () => {
    await expect(app.query('SELECT count(*) FROM memories')).resolves.toHaveLength(1);
    await expect(app.query('SELECT count(*) FROM migrations')).rejects.toMatchObject({ code: '42501' });
    await expect(app.query('DROP TABLE memory_history')).rejects.toMatchObject({ code: '42501' });
    await expect(app.query('CREATE TABLE intruder (x int)')).rejects.toMatchObject({ code: '42501' });
  });
});

describe('request traffic on DATABASE_APP_URL', () => {
  it('should use that connection as given, without switching role', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'engram-app-url-'));
    const url = testDatabaseUrl();
    const { sql } = await openPostgresMemoryDatabase({
      databaseUrl: url,
      databaseAppUrl: url,
      dataDir,
      embedderDimensions: 64,
    });
    try {
      const [me] = await sql.query<RoleRow>(WHO_AM_I);
      expect(me.name).toBe(new URL(url).username);
    } finally {
      await sql.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('row-level security', () => {
  let database: ScratchDatabase;
  let owner: PgSqlExecutor;
  let app: SqlExecutor;
  let dataDir: string;

  beforeAll(async () => {
    database = await createScratchDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'engram-rls-'));
    const options: PostgresMemoryOptions = { databaseUrl: database.url, dataDir, embedderDimensions: 64 };
    ({ sql: app } = await openPostgresMemoryDatabase(options));
    owner = new PgSqlExecutor({ connectionString: database.url, max: 1 });
    for (const tenant of [OSS_TENANT_ID, OTHER_TENANT]) {
      await owner.query(
        `INSERT INTO memories (tenant_id, id, user_id, namespace, content, memory_type, importance, confidence, status,
           content_hash, created_at, updated_at)
         VALUES ($1, $2, 'alice', 'default', 'x', 'fact', 5, 1, 'pending', 'h', now(), now())`,
        [tenant, newId()],
      );
    }
    // What the cloud edition's migrations do to every tenant table.
    await owner.query('ALTER TABLE memories ENABLE ROW LEVEL SECURITY');
    await owner.query(`CREATE POLICY tenant_isolation ON memories
      USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)`);
  });

  afterAll(async () => {
    await app.close();
    await owner.close();
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("should hide another tenant's rows from the app role, whatever its statements forget", async () => {
    const visible = (tenant: string) =>
      app.transaction(async (tx) => {
        await tx.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenant]);
        return (await tx.query<{ tenant_id: string }>('SELECT tenant_id FROM memories')).map((row) => row.tenant_id);
      });
    expect(await visible(OSS_TENANT_ID)).toEqual([OSS_TENANT_ID]);
    expect(await visible(OTHER_TENANT)).toEqual([OTHER_TENANT]);
    expect(await app.query('SELECT * FROM memories')).toEqual([]);
    // The owner is exempt (superuser here): which is exactly why request traffic must never run as the owner.
    expect(await owner.query('SELECT * FROM memories')).toHaveLength(2);
  });
});
