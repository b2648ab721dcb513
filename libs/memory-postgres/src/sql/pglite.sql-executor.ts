import { mkdir } from 'node:fs/promises';
import { PGlite, types, type Transaction } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { AsyncMutex } from './async-mutex.js';
import type { SqlExecutor, SqlRow } from './sql-executor.js';

/**
 * SqlExecutor over PGlite: PostgreSQL (with pgvector) inside this process, its files in `dataDir`. The
 * embedded default of `npm start` when no DATABASE_URL is given.
 *
 * PGlite is ONE session shared by every caller. Two interleaved transactions would therefore be one
 * transaction (each would see, commit or roll back the other's work, and share its `SET LOCAL`s), and a
 * statement issued while a transaction is open would run inside it. So every statement and every transaction
 * goes through one FIFO mutex: a transaction holds it from BEGIN to COMMIT, and statements outside it wait.
 * (PGlite serialises its own calls too; the mutex makes the guarantee ours rather than an implementation detail.)
 */
export class PgliteSqlExecutor implements SqlExecutor {
  readonly kind = 'pglite' as const;
  private readonly mutex = new AsyncMutex();

  private constructor(private readonly db: PGlite) {}

  /** Opens (creating it when missing) the database in `dataDir`; without one, a throw-away in-memory database. */
  static async open(dataDir?: string): Promise<PgliteSqlExecutor> {
    if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
    const db = await PGlite.create({
      dataDir,
      extensions: { vector },
      serializers: { [types.JSON]: serializeJson, [types.JSONB]: serializeJson },
    });
    return new PgliteSqlExecutor(db);
  }

  query<T extends object = SqlRow>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.mutex.run(async () => (await this.db.query<T>(text, [...params])).rows);
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.mutex.run(() => this.db.transaction((tx) => fn(new PgliteTransactionExecutor(tx))));
  }

  close(): Promise<void> {
    return this.mutex.run(async () => {
      if (!this.db.closed) await this.db.close();
    });
  }
}

/** Statements of one PGlite transaction; they run while the transaction holds the executor's mutex. */
class PgliteTransactionExecutor implements SqlExecutor {
  readonly kind = 'pglite' as const;

  constructor(private readonly tx: Transaction) {}

  async query<T extends object = SqlRow>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.tx.query<T>(text, [...params])).rows;
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return fn(this);
  }

  async close(): Promise<void> {
    throw new Error('a transaction executor is closed by the transaction that created it');
  }
}

/**
 * A json/jsonb parameter as node-postgres sends it: a string is taken to be JSON text already, anything else is
 * serialised. (PGlite's default serialises strings again, into a JSON string literal, so the same statement and
 * parameters would mean different things on the two engines.)
 */
function serializeJson(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
