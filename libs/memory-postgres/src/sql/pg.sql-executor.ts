import pg from 'pg';
import type { SqlExecutor, SqlRow } from './sql-executor.js';

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
}

// A role name goes into `SET ROLE` as an identifier (identifiers cannot be bind parameters): only plain names.
const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** SqlExecutor over a `pg` pool: the server PostgreSQL of production and CI. */
export class PgSqlExecutor implements SqlExecutor {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(options: PgSqlExecutorOptions) {
    const { role } = options;
    if (role !== undefined && !ROLE_NAME.test(role)) throw new Error(`invalid role name: ${role}`);
    const settings = Object.entries(options.sessionSettings ?? {});
    const prepare = async (client: pg.ClientBase): Promise<void> => {
      if (role !== undefined) await client.query(`SET ROLE "${role}"`);
      for (const [name, value] of settings) await client.query('SELECT set_config($1, $2, false)', [name, value]);
    };
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.max ?? 10,
      application_name: options.applicationName ?? 'engram',
      // pg-pool awaits this hook before handing the connection out, so no statement can run as the owner first.
      onConnect: role === undefined && settings.length === 0 ? undefined : prepare,
    });
    // An idle connection can die (server restart, a test dropping its database); pg drops it from the pool and
    // the next query opens a new one. Without a listener the 'error' event would crash the process.
    this.pool.on('error', () => undefined);
  }

  async query<T extends object = SqlRow>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    const result = await this.pool.query(text, [...params]);
    return result.rows as T[];
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const result = await fn(new PgClientExecutor(client));
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

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}

/** The executor handed to a transaction's callback: every statement on the transaction's one connection. */
class PgClientExecutor implements SqlExecutor {
  readonly kind = 'postgres' as const;

  constructor(private readonly client: pg.PoolClient) {}

  async query<T extends object = SqlRow>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    const result = await this.client.query(text, [...params]);
    return result.rows as T[];
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return fn(this);
  }

  async close(): Promise<void> {
    throw new Error('a transaction executor is closed by the transaction that created it');
  }
}
