import type { SqlExecutor } from '../sql/sql-executor.js';

/**
 * The advisory lock every schema change at boot takes (migrations, vector indexes, the app role's grants).
 * Processes booting together (two API replicas, an API and a worker) would otherwise race: two
 * `CREATE TABLE IF NOT EXISTS` or `CREATE INDEX IF NOT EXISTS` running at once can both pass the check and one
 * then fails on the catalog's unique index, and concurrent GRANTs fail with "tuple concurrently updated".
 * The key is an arbitrary constant ("engram" in ASCII), the same in every process and version.
 */
export const SCHEMA_LOCK_KEY = 0x656e_6772_616d;

/**
 * Runs `work` in a transaction holding the schema lock. A transaction-level lock is released by COMMIT or
 * ROLLBACK whatever happens, so a crashed boot can never leave it held.
 */
export function withSchemaLock<T>(executor: SqlExecutor, work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
  return executor.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [SCHEMA_LOCK_KEY]);
    return work(tx);
  });
}
