import type { SqlInstrumentation, SqlObserver, SqlPoolStatsSource } from '@engram/memory-postgres';
import type { EngramMetrics } from '../metrics/engram-metrics.js';
import type { Tracing } from '../tracing/tracing.js';
import { TracedSqlObserver } from './traced.sql-observer.js';

/** The Postgres backend's SqlInstrumentation: statement spans when tracing is on, pool gauges always. */
export class ObservedSqlInstrumentation implements SqlInstrumentation {
  readonly observer: SqlObserver | null;

  constructor(
    private readonly metrics: EngramMetrics,
    tracing: Tracing,
  ) {
    this.observer = tracing.tracer === null ? null : new TracedSqlObserver(tracing.tracer);
  }

  watchPool(pool: SqlPoolStatsSource): void {
    this.metrics.watchDbPool(pool);
  }
}
