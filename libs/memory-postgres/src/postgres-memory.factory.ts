import { join } from 'node:path';
import type { Clock } from '@engram/memory-core';
import { PostgresMemoryProvider, type PostgresMemoryProviderOptions } from './postgres.memory-provider.js';
import { APP_ROLE, ensureAppRole } from './schema/app-role.js';
import { MEMORY_MIGRATIONS, type SqlMigration } from './schema/memory-migrations.js';
import { runMigrations } from './schema/migration-runner.js';
import { ensureVectorIndex, indexedVectorDimensions } from './schema/vector-index.js';
import { PgSqlExecutor } from './sql/pg.sql-executor.js';
import { PgliteSqlExecutor } from './sql/pglite.sql-executor.js';
import type { SqlExecutor } from './sql/sql-executor.js';
import type { SqlInstrumentation } from './sql/sql-instrumentation.js';

export interface PostgresMemoryOptions {
  /** The owner connection (DATABASE_URL): migrations and index creation. Absent: embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  /** A restricted connection for request traffic (DATABASE_APP_URL). Absent: the owner's URL as role engram_app. */
  databaseAppUrl?: string;
  /** DATA_DIR; PGlite keeps its files in `<dataDir>/pglite`. Required without databaseUrl. */
  dataDir?: string;
  /** The configured embedder's dimension: its HNSW index is created at boot (unless `vectorIndex` is 'none'). */
  embedderDimensions: number;
  /**
   * VECTOR_INDEX: 'hnsw' (default) builds the embedder's HNSW index at boot; 'none' does not. Only scopes above
   * EXACT_SCAN_MAX_ROWS search through it, and keeping it costs every embedding write an insertion into the graph
   * (~2 ms at 384 dimensions on two cores: three quarters of the ingest time, docs/benchmarks.md). Without it, such
   * scopes are scanned exactly. An index that already exists is kept (and used) either way.
   */
  vectorIndex?: 'hnsw' | 'none';
  clock?: Clock;
  /** Pool size of the app connection. */
  poolSize?: number;
  /** Overrides EXACT_SCAN_MAX_ROWS (tests, tuning). */
  exactScanMaxRows?: number;
  /** The in-memory copies of large scopes (PostgresMemoryProviderOptions.scopeIndex). */
  scopeIndex?: PostgresMemoryProviderOptions['scopeIndex'];
  /** The schema's migrations, oldest first: MEMORY_MIGRATIONS, which an edition may extend with its own. */
  migrations?: readonly SqlMigration[];
  /**
   * Run over the owner connection once the app role exists (when Engram manages it, i.e. no databaseAppUrl): the
   * grants on an edition's own tables. Migrations cannot grant to a role that may not exist yet.
   */
  grantAppRole?: (owner: SqlExecutor) => Promise<void>;
  /**
   * Spans and pool metrics of the request pool on a server. The boot-time owner connection is left out: it runs
   * before any request, so its statements would be traces of their own, and it is closed before the first scrape.
   */
  instrumentation?: SqlInstrumentation;
}

export const PGLITE_DIRECTORY = 'pglite';

/**
 * Session settings of the request pool. JIT compilation pays off for long analytical queries; for a search it
 * costs tens to hundreds of milliseconds of compilation (the cost estimates of an HNSW search, see
 * `PostgresMemoryProvider`, are far above jit_above_cost) to save microseconds.
 */
export const APP_SESSION_SETTINGS: Readonly<Record<string, string>> = { jit: 'off' };

/** The database side of the backend, ready for request traffic. */
export interface PostgresMemoryDatabase {
  /** The connection request traffic uses: never the owner on a server (see `openPostgresMemoryDatabase`). */
  sql: SqlExecutor;
  /** The embedding dimensions that have an HNSW index. */
  hnswDimensions: number[];
}

/**
 * Opens the Postgres memory backend, ready for requests: the schema migrated, the embedder's vector index built,
 * and the provider on the connection request traffic must use.
 */
export async function createPostgresMemoryProvider(options: PostgresMemoryOptions): Promise<PostgresMemoryProvider> {
  const { sql, hnswDimensions } = await openPostgresMemoryDatabase(options);
  return new PostgresMemoryProvider(sql, {
    clock: options.clock,
    hnswDimensions,
    exactScanMaxRows: options.exactScanMaxRows,
    scopeIndex: options.scopeIndex,
  });
}

/**
 * Prepares the database and opens the connection for request traffic.
 *
 * - Server (databaseUrl): migrations, the vector index and the app role's grants run once over a short-lived
 *   owner connection; request traffic gets a pool that is never the owner: DATABASE_APP_URL when given, else the
 *   owner's URL with every pooled connection switched to the role engram_app (not superuser, no BYPASSRLS).
 * - Embedded (no databaseUrl): PGlite in `<dataDir>/pglite`, the same migrations; one in-process session, so
 *   there is no role to switch to and nobody else to protect the data from.
 */
export async function openPostgresMemoryDatabase(options: PostgresMemoryOptions): Promise<PostgresMemoryDatabase> {
  if (options.databaseUrl === undefined) {
    if (options.dataDir === undefined) throw new Error('the embedded database needs a data directory (DATA_DIR)');
    const embedded = await PgliteSqlExecutor.open(join(options.dataDir, PGLITE_DIRECTORY));
    try {
      return { sql: embedded, hnswDimensions: await prepareSchema(embedded, options) };
    } catch (error) {
      await embedded.close();
      throw error;
    }
  }

  const owner = new PgSqlExecutor({
    connectionString: options.databaseUrl,
    max: 1,
    applicationName: 'engram-migrations',
  });
  let hnswDimensions: number[];
  try {
    hnswDimensions = await prepareSchema(owner, options);
    if (options.databaseAppUrl === undefined) {
      await ensureAppRole(owner);
      await options.grantAppRole?.(owner);
    }
  } finally {
    await owner.close();
  }
  const sql = new PgSqlExecutor({
    connectionString: options.databaseAppUrl ?? options.databaseUrl,
    role: options.databaseAppUrl === undefined ? APP_ROLE : undefined,
    sessionSettings: APP_SESSION_SETTINGS,
    max: options.poolSize,
    observer: options.instrumentation?.observer ?? undefined,
  });
  options.instrumentation?.watchPool(sql);
  return { sql, hnswDimensions };
}

/** Migrations, then the embedder's HNSW index; returns every dimension that has one. */
async function prepareSchema(owner: SqlExecutor, options: PostgresMemoryOptions): Promise<number[]> {
  await runMigrations(owner, options.migrations ?? MEMORY_MIGRATIONS);
  if (options.vectorIndex !== 'none') await ensureVectorIndex(owner, options.embedderDimensions);
  return indexedVectorDimensions(owner);
}
