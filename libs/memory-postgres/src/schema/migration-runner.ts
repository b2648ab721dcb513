import type { SqlExecutor } from '../sql/sql-executor.js';
import { MEMORY_MIGRATIONS, type MigrationQueryRunner, type SqlMigration } from './memory-migrations.js';
import { withSchemaLock } from './schema-lock.js';

/** TypeORM's own bookkeeping table and layout, so the `typeorm` CLI and this runner agree on what is applied. */
export const MIGRATIONS_TABLE = 'migrations';

const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS migrations (
  id serial PRIMARY KEY,
  timestamp bigint NOT NULL,
  name varchar NOT NULL
)`;

/**
 * Applies the migrations not applied yet, oldest first, and returns their names.
 *
 * Runs the TypeORM migration classes without TypeORM, over a SqlExecutor, so the very same migrations build the
 * schema on server PostgreSQL and on PGlite (which TypeORM has no driver for). Each migration runs in its own
 * transaction together with its row in `migrations`: it is applied entirely or not at all. Each transaction takes
 * the schema lock first and re-reads `migrations` under it, so processes booting at once apply each migration
 * exactly once, the later ones waiting and then finding nothing left to do.
 */
export async function runMigrations(
  executor: SqlExecutor,
  migrations: readonly SqlMigration[] = MEMORY_MIGRATIONS,
): Promise<string[]> {
  const applied: string[] = [];
  for (const migration of sortByTimestamp(migrations)) {
    const ran = await withSchemaLock(executor, async (tx) => {
      await tx.query(CREATE_MIGRATIONS_TABLE);
      const done = await tx.query('SELECT 1 FROM migrations WHERE name = $1', [migration.name]);
      if (done.length > 0) return false;
      await migration.up(queryRunnerOf(tx));
      await tx.query('INSERT INTO migrations (timestamp, name) VALUES ($1, $2)', [
        timestampOf(migration),
        migration.name,
      ]);
      return true;
    });
    if (ran) applied.push(migration.name);
  }
  return applied;
}

/** The names of the migrations applied so far, oldest first; empty on a database never migrated. */
export async function appliedMigrations(executor: SqlExecutor): Promise<string[]> {
  const [table] = await executor.query<{ exists: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS exists`, [
    MIGRATIONS_TABLE,
  ]);
  if (!table?.exists) return [];
  const rows = await executor.query<{ name: string }>('SELECT name FROM migrations ORDER BY timestamp, id');
  return rows.map((row) => row.name);
}

/** TypeORM's convention: the class name ends with the 13-digit creation time in milliseconds. */
export function timestampOf(migration: SqlMigration): number {
  const match = /(\d{13})$/.exec(migration.name);
  if (!match) throw new Error(`migration ${migration.name} does not end with its 13-digit timestamp`);
  return Number(match[1]);
}

function sortByTimestamp(migrations: readonly SqlMigration[]): SqlMigration[] {
  return [...migrations].sort((a, b) => timestampOf(a) - timestampOf(b));
}

/** All a migration may use of TypeORM's query runner: `query`, here bound to the migration's transaction. */
function queryRunnerOf(tx: SqlExecutor): MigrationQueryRunner {
  return { query: (sql: string, parameters?: unknown[]) => tx.query(sql, parameters) };
}
