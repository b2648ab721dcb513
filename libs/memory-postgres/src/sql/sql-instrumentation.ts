/**
 * How the SQL executors report their work (spans, pool metrics) without knowing who listens: `@engram/telemetry`
 * implements these interfaces and binds `SQL_INSTRUMENTATION`; without it the executors run bare.
 */

/**
 * Wraps the statements and transactions of an executor, e.g. in trace spans. The executor holds it only when
 * tracing is on, so that a statement costs one null check when it is off.
 */
export interface SqlObserver {
  /**
   * Runs one statement. `text` is the parameterised SQL; the bind parameters are never passed, because they carry
   * memory content and scope ids.
   */
  statement<T>(text: string, run: () => Promise<T>): Promise<T>;
  /** Runs a transaction, BEGIN to COMMIT or ROLLBACK: the statements `run` issues are reported within it. */
  transaction<T>(run: () => Promise<T>): Promise<T>;
}

/** A connection pool's counts at one instant. */
export interface SqlPoolStats {
  /** Connections open, idle or checked out. */
  total: number;
  idle: number;
  /** Callers queued for a connection because all `max` are checked out. */
  waiting: number;
  max: number;
}

/** Something whose pool counts can be read at any time (at each metrics scrape). */
export interface SqlPoolStatsSource {
  poolStats(): SqlPoolStats;
}

/** What the Postgres backend's request pool is instrumented with. */
export interface SqlInstrumentation {
  /** Null when tracing is off. */
  readonly observer: SqlObserver | null;
  /** The request pool was opened: its counts are read from then on. */
  watchPool(pool: SqlPoolStatsSource): void;
}
