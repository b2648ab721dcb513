import pg from 'pg';
import { createHash } from 'node:crypto';
import type { QueryOptions, SqlExecutor, SqlRow } from './sql-executor.js';
import type { SqlObserver, SqlPoolStats, SqlPoolStatsSource } from './sql-instrumentation.js';

export interface PgSqlExecutorOptions {
  connectionString: string;
  /**
   * A role every pooled connection switches to with `SET ROLE` as soon as it is opened, before any statement of
   * ours runs on it. This is how request traffic on the owner's URL still runs without the owner's rights
   * (API.md: "DATABASE_URL is the owner connection").
   */
  role?: string;
  /** Settings every pooled connection starts with (`set_config(name, value, false)`), after the role switch. */
  sessionSettings?: Readonly<Record<string, string>>;
  /** Pool size; the default suits one API or worker process. */
  max?: number;
  /** Shown in pg_stat_activity, so operators can tell Engram's connections apart. */
  applicationName?: string;
  /** Reports every statement and transaction (trace spans); absent when tracing is off. */
  observer?: SqlObserver;
}

// A role name goes into `SET ROLE` as an identifier (identifiers cannot be bind parameters): only plain names.
const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** SqlExecutor over a `pg` pool: the server PostgreSQL of production and CI. */
export class PgSqlExecutor implements SqlExecutor, SqlPoolStatsSource {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly max: number;
  private readonly observer: SqlObserver | null;

  constructor(options: PgSqlExecutorOptions) {
    const { role } = options;
    if (role !== undefined && !ROLE_NAME.test(role)) throw new Error(`invalid role name: ${role}`);
    const settings = Object.entries(options.sessionSettings ?? {});
    const prepare = async (client: pg.ClientBase): Promise<void> => {
      if (role !== undefined) await client.query(`SET ROLE "${role}"`);
      for (const [name, value] of settings) await client.query('SELECT set_config($1, $2, false)', [name, value]);
    };
    this.max = options.max ?? 10;
    this.observer = options.observer ?? null;
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: this.max,
      application_name: options.applicationName ?? 'engram',
      // pg-pool awaits this hook before handing the connection out, so no statement can run as the owner first.
      onConnect: role === undefined && settings.length === 0 ? undefined : prepare,
    });
    // An idle connection can die (server restart, a test dropping its database); pg drops it from the pool and
    // the next query opens a new one. Without a listener the 'error' event would crash the process.
    this.pool.on('error', () => undefined);
  }

  query<T extends object = SqlRow>(
    text: string,
    params: readonly unknown[] = [],
    options?: QueryOptions,
  ): Promise<T[]> {
    if (this.observer === null) return rowsOf<T>(this.pool, text, params, options);
    return this.observer.statement(text, () => rowsOf<T>(this.pool, text, params, options));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.observer === null) return this.inTransaction(fn);
    return this.observer.transaction(() => this.inTransaction(fn));
  }

  /** The pool's counts now, for the metrics scrape; the pool itself stays private to the executor. */
  poolStats(): SqlPoolStats {
    return {
      total: this.pool.totalCount,
      idle: this.pool.idleCount,
      waiting: this.pool.waitingCount,
      max: this.max,
    };
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  private async inTransaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const result = await fn(new PgClientExecutor(client, this.observer));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          // The connection itself failed: it must not go back to the pool in an unknown state.
          broken = rollbackError;
        });
        throw error;
      }
    } finally {
      client.release(broken);
    }
  }
}

/** The executor handed to a transaction's callback: every statement on the transaction's one connection. */
class PgClientExecutor implements SqlExecutor {
  readonly kind = 'postgres' as const;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly observer: SqlObserver | null,
  ) {}

  query<T extends object = SqlRow>(
    text: string,
    params: readonly unknown[] = [],
    options?: QueryOptions,
  ): Promise<T[]> {
    if (this.observer === null) return rowsOf<T>(this.client, text, params, options);
    return this.observer.statement(text, () => rowsOf<T>(this.client, text, params, options));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return fn(this);
  }

  async close(): Promise<void> {
    throw new Error('a transaction executor is closed by the transaction that created it');
  }
}

async function rowsOf<T extends object>(
  queryable: pg.Pool | pg.PoolClient,
  text: string,
  params: readonly unknown[],
  options: QueryOptions | undefined,
): Promise<T[]> {
  const name = options?.prepare ? preparedName(text) : undefined;
  const result = await queryable.query({ text, values: [...params], name });
  return result.rows as T[];
}

/** pg prepares a named statement once per connection and then reuses it: one name per text, for good. */
const preparedNames = new Map<string, string>();
const PREPARED_NAMES_MAX = 1_000;

function preparedName(text: string): string {
  let name = preparedNames.get(text);
  if (name === undefined) {
    name = `engram_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    // The texts are a small set of shapes (QueryOptions.prepare); the bound only guards against misuse.
    if (preparedNames.size < PREPARED_NAMES_MAX) preparedNames.set(text, name);
  }
  return name;
}
