import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { InferenceRunOutcome, ObservedOperation, TenantUsageCounter } from '@engram/memory-core';

/** Seconds: HTTP answers and memory operations are milliseconds on the hot path, seconds when something is wrong. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** An embedding batch is one model call over up to hundreds of texts: slower than a request. */
const BATCH_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const MEMORY_OPERATIONS: readonly Exclude<ObservedOperation, 'embedding_batch'>[] = [
  'add',
  'get',
  'update',
  'delete',
  'delete_all',
  'list',
  'search',
  'history',
  'owners',
  'count',
];
export type Outcome = 'ok' | 'error';

/** What the queue gauge reads at each scrape (the embedding queue's port, structurally). */
export interface QueueDepthSource {
  depth(): Promise<number>;
}

/** What the pool gauges read at each scrape (the Postgres executor's pool counts, structurally). */
export interface DbPoolSource {
  poolStats(): { total: number; idle: number; waiting: number; max: number };
}

type Observe = (seconds: number) => void;

/**
 * Every Prometheus metric Engram exports, in one registry per app (so that several apps in one process, as in the
 * tests, never clash over the global registry).
 *
 * Labels are bounded sets only: method, route pattern, status, operation, outcome. Never a tenant, user, memory id
 * or raw URL: each distinct label value is a time series kept in memory by this process and by Prometheus, so an
 * unbounded label (a thousand tenants × routes × statuses × buckets) grows without limit and slows every scrape.
 * Per-tenant usage belongs to the usage tracker (cloud), and a given tenant's requests to traces and logs.
 */
export class EngramMetrics {
  readonly registry = new Registry();

  readonly httpRequestDuration = new Histogram({
    name: 'engram_http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern and status; _count is the request count.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly operationDuration = new Histogram({
    name: 'engram_memory_operation_duration_seconds',
    help: 'Memory operations (MemoryService) by operation and outcome; _count is the operation count.',
    labelNames: ['operation', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly memoriesAdded = new Counter({
    name: 'engram_memories_added_total',
    help: 'Memories accepted by add operations (a batch counts each memory).',
    registers: [this.registry],
  });

  private readonly batchDuration = new Histogram({
    name: 'engram_embedding_batch_duration_seconds',
    help: 'Embedding pipeline batches (re-read, embed, write) by outcome.',
    labelNames: ['outcome'] as const,
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });

  private readonly jobsProcessed = new Counter({
    name: 'engram_embedding_jobs_total',
    help: 'Embedding jobs taken by the pipeline, by outcome of their batch.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly inferenceRuns = new Counter({
    name: 'engram_inference_events_total',
    help: 'Inference runs (infer: true) by outcome: succeeded, fallback (messages stored raw), failed.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /**
   * The one family with a tenant label, and a counter only (no buckets): one series per tenant and usage counter, so it
   * grows with the tenants, not with their traffic. What an operator bills and alerts on per tenant; the deleted
   * tenants' series go at the next restart.
   */
  private readonly tenantUsage = new Counter({
    name: 'engram_tenant_usage_total',
    help: "A tenant's counted usage since the process started (cloud): requests, memories_added, searches, reads, embedding_tokens.",
    labelNames: ['tenant_id', 'counter'] as const,
    registers: [this.registry],
  });

  /**
   * Label children created at start-up: every operation's series exists (at 0) from the first scrape, so rates and
   * alerts work before the first call, and the hot path does no label object building of its own.
   */
  private readonly operationObservers = new Map<ObservedOperation, Record<Outcome, Observe>>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const operation of MEMORY_OPERATIONS) {
      const ok = this.operationDuration.labels(operation, 'ok');
      const error = this.operationDuration.labels(operation, 'error');
      this.operationObservers.set(operation, { ok: (s) => ok.observe(s), error: (s) => error.observe(s) });
    }
    const ok = this.batchDuration.labels('ok');
    const error = this.batchDuration.labels('error');
    this.operationObservers.set('embedding_batch', { ok: (s) => ok.observe(s), error: (s) => error.observe(s) });
    for (const outcome of ['succeeded', 'fallback', 'failed'] as const) this.inferenceRuns.labels(outcome).inc(0);
  }

  /** Records one MemoryService operation or embedding batch, and how many memories or jobs it carried. */
  recordOperation(operation: ObservedOperation, outcome: Outcome, seconds: number, items?: number): void {
    this.operationObservers.get(operation)?.[outcome](seconds);
    if (items === undefined) return;
    if (operation === 'add' && outcome === 'ok') this.memoriesAdded.inc(items);
    else if (operation === 'embedding_batch') this.jobsProcessed.labels(outcome).inc(items);
  }

  recordTenantUsage(tenantId: string, counter: TenantUsageCounter, amount: number): void {
    this.tenantUsage.labels(tenantId, counter).inc(amount);
  }

  recordInference(outcome: InferenceRunOutcome): void {
    this.inferenceRuns.labels(outcome).inc();
  }

  /** Records one answered HTTP request. `route` is the route's pattern (`/v1/memories/:id`), never the URL. */
  recordHttpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpRequestDuration.observe({ method, route, status: String(status) }, seconds);
  }

  /** The queue's depth, read at scrape time (no polling in between); a failed read leaves the gauge unset. */
  watchQueueDepth(queue: QueueDepthSource): void {
    new Gauge({
      name: 'engram_embedding_queue_depth',
      help: 'Embedding jobs waiting or running, read from the queue at each scrape.',
      registers: [this.registry],
      async collect() {
        try {
          this.set(await queue.depth());
        } catch {
          this.reset();
        }
      },
    });
  }

  private readonly dbPools: DbPoolSource[] = [];

  /**
   * The database pool's connections (total, idle, and callers waiting for one) and its size, read at scrape time.
   * Several pools in one process are summed: what an operator compares with the server's max_connections.
   * The gauges exist from the first watched pool on, so a process without a database exports none.
   */
  watchDbPool(pool: DbPoolSource): void {
    if (this.dbPools.push(pool) > 1) return;
    const pools = this.dbPools;
    new Gauge({
      name: 'engram_db_pool_connections',
      help: 'Database pool connections by state (total, idle) and callers waiting for one, read at each scrape.',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const { total, idle, waiting } = sumOf(pools);
        this.set({ state: 'total' }, total);
        this.set({ state: 'idle' }, idle);
        this.set({ state: 'waiting' }, waiting);
      },
    });
    new Gauge({
      name: 'engram_db_pool_max',
      help: 'The most connections the database pool opens.',
      registers: [this.registry],
      collect() {
        this.set(sumOf(pools).max);
      },
    });
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function sumOf(pools: readonly DbPoolSource[]): ReturnType<DbPoolSource['poolStats']> {
  const sum = { total: 0, idle: 0, waiting: 0, max: 0 };
  for (const pool of pools) {
    const stats = pool.poolStats();
    sum.total += stats.total;
    sum.idle += stats.idle;
    sum.waiting += stats.waiting;
    sum.max += stats.max;
  }
  return sum;
}
