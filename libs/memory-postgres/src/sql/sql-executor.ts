/**
 * The one seam between the Postgres provider and a database: server PostgreSQL through a `pg` pool, or PGlite
 * (embedded PostgreSQL compiled to WebAssembly) in the same process. Everything above it (migrations, the
 * provider, the search SQL) is written once against this interface and runs unchanged on both.
 *
 * Statements are always parameterised: values travel in `params` ($1, $2, …), never inside `text`.
 */
export interface SqlExecutor {
  /** Which engine answers: for health details and for the few places that must differ (roles, pooling). */
  readonly kind: SqlExecutorKind;
  /** The rows of one statement (an empty array for statements that return none). */
  query<T extends object = SqlRow>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<T[]>;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. `tx` is bound to that
   * transaction; calling `transaction` on it again joins the same transaction (no savepoints).
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export type SqlExecutorKind = 'postgres' | 'pglite';

export interface QueryOptions {
  /**
   * Keep the statement prepared on each connection, by a name derived from its text: later runs skip parsing and,
   * once PostgreSQL settles on a generic plan, planning. For hot statements whose text comes from a small set of
   * shapes (the search statement without a filter: planning its CTEs costs as much as running it on a small scope).
   * Never for statements whose text varies without bound: each prepared text stays on its connection.
   */
  prepare?: boolean;
}

export type SqlRow = Record<string, unknown>;
