import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testDatabaseUrl } from '@engram/testing';
import { PgSqlExecutor } from './pg.sql-executor.js';

describe('PgSqlExecutor', () => {
  // One connection: what one statement prepares, the next finds on the same session.
  let sql: PgSqlExecutor;

  beforeAll(() => {
    sql = new PgSqlExecutor({ connectionString: testDatabaseUrl(), max: 1 });
  });

  afterAll(() => sql.close());

  const prepared = () =>
    sql.query<{ name: string; statement: string }>(
      `SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'engram_%' ORDER BY name`,
    );

  it('should keep a statement asked to be prepared under one name per text, and reuse it', async () => {
    const text = 'SELECT $1::int + 1 AS n';
    expect(await sql.query(text, [1], { prepare: true })).toEqual([{ n: 2 }]);
    expect(await sql.query(text, [41], { prepare: true })).toEqual([{ n: 42 }]);
    await sql.query('SELECT $1::int * 2 AS n', [2], { prepare: true });
    const statements = await prepared();
    expect(statements.map((s) => s.statement).sort()).toEqual(['SELECT $1::int * 2 AS n', text]);
    expect(new Set(statements.map((s) => s.name)).size).toBe(2);
  });

  it('should not prepare a statement by default', async () => {
    const before = (await prepared()).length;
    await sql.query('SELECT $1::int - 1 AS n', [1]);
    await sql.transaction((tx) => tx.query('SELECT $1::int - 2 AS n', [1]));
    expect(await prepared()).toHaveLength(before);
  });

  it('should prepare inside a transaction too, on the transaction connection', async () => {
    await sql.transaction((tx) => tx.query('SELECT $1::text AS t', ['x'], { prepare: true }));
    expect((await prepared()).map((s) => s.statement)).toContain('SELECT $1::text AS t');
  });
});
