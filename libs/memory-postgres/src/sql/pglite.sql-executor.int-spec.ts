import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { PgliteSqlExecutor } from './pglite.sql-executor.js';

/** PGlite is one session: the executor must keep concurrent callers from sharing a transaction. */
describe('PgliteSqlExecutor', () => {
  let sut: PgliteSqlExecutor;

  beforeAll(async () => {
    sut = await PgliteSqlExecutor.open();
    await sut.query('CREATE TABLE notes (n int)');
  });

  afterAll(async () => {
    await sut.close();
  });

  beforeEach(async () => {
    await sut.query('DELETE FROM notes');
  });

  it('should hold a statement issued during a transaction until the transaction ends, outside of it', async () => {
    let finish!: () => void;
    const gate = new Promise<void>((resolve) => (finish = resolve));
    let inside!: () => void;
    const started = new Promise<void>((resolve) => (inside = resolve));
    const transaction = sut.transaction(async (tx) => {
      await tx.query('INSERT INTO notes VALUES (1)');
      inside();
      await gate;
      throw new Error('roll back');
    });
    await started;

    let answered = false;
    const during = sut.query<{ count: number }>('SELECT count(*)::int AS count FROM notes').then((rows) => {
      answered = true;
      return rows;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(false);

    finish();
    await expect(transaction).rejects.toThrow('roll back');
    // Had it run inside the transaction, it would have seen the row that the rollback then took away.
    expect(await during).toEqual([{ count: 0 }]);
  });

  it('should run concurrent transactions one after the other, each with its own SET LOCALs', async () => {
    const run = (value: string) =>
      sut.transaction(async (tx) => {
        await tx.query(`SELECT set_config('engram.test', $1, true)`, [value]);
        await new Promise((resolve) => setTimeout(resolve, 10));
        await tx.query('INSERT INTO notes VALUES ($1::int)', [Number(value)]);
        const [row] = await tx.query<{ value: string }>(`SELECT current_setting('engram.test') AS value`);
        return row.value;
      });
    expect(await Promise.all(['1', '2', '3'].map(run))).toEqual(['1', '2', '3']);
    expect(await sut.query('SELECT n FROM notes ORDER BY n')).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('should send json parameters as node-postgres does: strings as JSON text, objects serialised', async () => {
    const [row] = await sut.query<{ text: unknown; object: unknown }>('SELECT $1::jsonb AS text, $2::jsonb AS object', [
      '{"a":1}',
      { b: [2] },
    ]);
    expect(row).toEqual({ text: { a: 1 }, object: { b: [2] } });
  });

  it('should keep working after a statement fails', async () => {
    await expect(sut.query('SELECT * FROM missing_table')).rejects.toMatchObject({ code: '42P01' });
    await expect(sut.transaction((tx) => tx.query('SELECT 1/0'))).rejects.toMatchObject({ code: '22012' });
    expect(await sut.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});
