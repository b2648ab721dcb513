/* @license Enterprise */
import { Logger } from '@nestjs/common';
import {
  currentRequestContext,
  newId,
  runOutsideRequestContext,
  type AuditEvent,
  type AuditLogger,
  type Clock,
  type TenantId,
} from '@engram/memory-core';
import type { UnchainedAuditRecord } from './audit-chain.js';
import { currentAuditOrigin } from './audit-origin.js';
import type { AuditRepository } from './audit.repository.js';

export interface CloudAuditLoggerOptions {
  /** Events written per transaction. */
  batchSize?: number;
  /** How long a logged event waits for others before it is written (the batching window). */
  flushDelayMs?: number;
  /**
   * Unwritten events (all tenants) beyond which `log` waits for the writer: back-pressure rather than a buffer
   * that grows for as long as the database is away. Audit events are never dropped.
   */
  maxPending?: number;
  /** How long the background writer leaves the database alone after a failed write. */
  retryDelayMs?: number;
  /** Tenants written at once: the writer must not take the whole connection pool from request traffic. */
  concurrentWrites?: number;
}

/** An event the log has taken: its id is final at once, its place in the chain once it is written. */
export interface AuditEventRef {
  id: string;
  tenantId: TenantId;
}

const DEFAULTS: Required<CloudAuditLoggerOptions> = {
  batchSize: 1_000,
  flushDelayMs: 25,
  maxPending: 50_000,
  retryDelayMs: 1_000,
  concurrentWrites: 2,
};

/** What TenantSqlExecutor takes as a tenant id: anything else could never be written. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Upper bounds of what one event may carry: the log records ids and names, never payloads. */
const MAX_TEXT = 200;
const MAX_TARGETS = 10_000;

interface Waiter {
  upTo: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** One tenant's events not written yet, in the order they were logged. */
class TenantQueue {
  readonly events: UnchainedAuditRecord[] = [];
  /** Events ever taken, and ever written: a flush waits until `written` reaches `enqueued` as of its call. */
  enqueued = 0;
  written = 0;
  draining: Promise<void> | null = null;
  /** Set by the timer and by flushes: write everything, not only full batches. */
  drainAll = false;
  readonly waiters: Waiter[] = [];

  settle(error?: unknown): void {
    for (let i = this.waiters.length - 1; i >= 0; i -= 1) {
      const waiter = this.waiters[i];
      if (error !== undefined) waiter.reject(error);
      else if (waiter.upTo <= this.written) waiter.resolve();
      else continue;
      this.waiters.splice(i, 1);
    }
  }
}

/**
 * The cloud's AuditLogger: the AUDIT_LOGGER the core's services log to, and the writer of `audit_events`.
 *
 * `log` stamps the event (id, time, and from the request being served: the actor, request id and source IP) and
 * queues it; it does not wait for the database. A writer appends each tenant's queue in order, in batches of up to
 * `batchSize` events per transaction (`AuditRepository.append`, which takes the tenant's chain head lock, so that
 * writers of several processes take turns), a `flushDelayMs` after the first event or at once when a batch is
 * full. Tenants are written independently: one tenant's backlog does not hold back another's.
 *
 * `flush` (or `logDurably`) is for answers that report what the log says: an erase's receipt names its event, so
 * the response waits until that event is in the table. A failed write keeps the events, in order, for the next
 * attempt; it rejects the flushes waiting on it. Events queued when the process dies without shutting down are
 * lost (a clean shutdown flushes): the price of not adding a write to every request.
 *
 * The actor: the authenticated caller of the request being served (its API key id, or 'operator'), whatever the
 * event says; outside a request, the event's own actor ('system' for background work, the presented key's id
 * for a failed authentication).
 */
export class CloudAuditLogger implements AuditLogger {
  private readonly logger = new Logger(CloudAuditLogger.name);
  private readonly options: Required<CloudAuditLoggerOptions>;
  private readonly queues = new Map<TenantId, TenantQueue>();
  private pending = 0;
  private timer: NodeJS.Timeout | null = null;
  private quietUntil = 0;
  private stopped = false;
  private writers = 0;
  private readonly writerQueue: (() => void)[] = [];

  constructor(
    private readonly repository: AuditRepository,
    private readonly clock: Clock,
    options: CloudAuditLoggerOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Queues the event; resolves at once, unless so many events wait that the caller must wait for the writer. */
  async log(event: AuditEvent): Promise<void> {
    const ref = this.enqueue(event);
    if (ref && this.pending >= this.options.maxPending) await this.flush(ref.tenantId);
  }

  /** Queues the event and resolves once it is written: for a response that reports it. */
  async logDurably(event: AuditEvent): Promise<AuditEventRef> {
    const ref = this.enqueue(event);
    if (!ref) throw new Error(`an audit event needs a tenant id (a uuid), got ${JSON.stringify(event.tenantId)}`);
    await this.flush(ref.tenantId);
    return ref;
  }

  /**
   * Resolves once every event logged before the call (of `tenantId`, or of every tenant) is written; rejects if
   * writing them failed (they stay queued for the next attempt).
   */
  async flush(tenantId?: TenantId): Promise<void> {
    const tenants = tenantId === undefined ? [...this.queues.keys()] : [tenantId.toLowerCase() as TenantId];
    await Promise.all(tenants.map((id) => this.flushTenant(id)));
  }

  /** Events taken but not written yet. */
  pendingEvents(): number {
    return this.pending;
  }

  /** Writes what is left; events logged afterwards (requests still finishing) are written one drain at a time. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    try {
      await this.flush();
    } catch (error) {
      this.logger.error(`${this.pending} audit events could not be written at shutdown: ${(error as Error).message}`);
    }
  }

  private enqueue(event: AuditEvent): AuditEventRef | null {
    if (typeof event.tenantId !== 'string' || !UUID.test(event.tenantId)) {
      // Never queued: an event that cannot be written would block its tenant's queue for good.
      this.logger.error(`audit event ${event.action} dropped: its tenant id is not a uuid`);
      return null;
    }
    const tenantId = event.tenantId.toLowerCase() as TenantId;
    const record = this.stamp(tenantId, event);
    let queue = this.queues.get(tenantId);
    if (!queue) this.queues.set(tenantId, (queue = new TenantQueue()));
    queue.events.push(record);
    queue.enqueued += 1;
    this.pending += 1;
    // Once stopped there is no timer: what is logged during shutdown is written at once, while the pool is open.
    if (this.stopped) void this.drain(tenantId, true);
    else if (queue.events.length >= this.options.batchSize && Date.now() >= this.quietUntil) {
      void this.drain(tenantId, false);
    } else this.schedule(this.options.flushDelayMs);
    return { id: record.id, tenantId };
  }

  private stamp(tenantId: TenantId, event: AuditEvent): UnchainedAuditRecord {
    const context = currentRequestContext();
    const origin = currentAuditOrigin();
    const principal = context?.principal;
    const actor =
      principal?.kind === 'tenant'
        ? (principal.keyId ?? 'tenant')
        : principal?.kind === 'operator'
          ? 'operator'
          : event.actor || 'system';
    return {
      tenantId,
      id: newId(),
      at: this.clock.now(),
      actor: clean(actor),
      action: clean(event.action),
      targetIds: event.targetIds.slice(0, MAX_TARGETS).map(clean),
      requestId: optional(event.requestId ?? context?.requestId ?? origin?.requestId),
      sourceIp: optional(event.sourceIp ?? origin?.sourceIp),
      outcome: event.outcome === 'failure' ? 'failure' : 'success',
    };
  }

  private flushTenant(tenantId: TenantId): Promise<void> {
    const queue = this.queues.get(tenantId);
    if (!queue || queue.written === queue.enqueued) return Promise.resolve();
    const flushed = new Promise<void>((resolve, reject) =>
      queue.waiters.push({ upTo: queue.enqueued, resolve, reject }),
    );
    void this.drain(tenantId, true);
    return flushed;
  }

  /**
   * Writes the tenant's queue: all of it (`all`: the timer, a flush), or its full batches only (a batch filled up
   * before the timer: the rest waits to be batched with what comes next). One drain per tenant at a time.
   */
  private drain(tenantId: TenantId, all: boolean): Promise<void> {
    const queue = this.queues.get(tenantId);
    if (!queue) return Promise.resolve();
    if (all) queue.drainAll = true;
    // The queue holds events of many requests: written outside whichever one happened to start the drain.
    queue.draining ??= runOutsideRequestContext(() => this.writeQueue(tenantId, queue)).then((failed) => {
      queue.draining = null;
      queue.drainAll = false;
      if (failed) return;
      if (queue.events.length > 0) {
        if (queue.waiters.length > 0) void this.drain(tenantId, true);
        else this.schedule(this.options.flushDelayMs);
      } else if (queue.waiters.length === 0 && this.queues.get(tenantId) === queue) {
        this.queues.delete(tenantId);
      }
    });
    return queue.draining;
  }

  /** Resolves true when a write failed (the events stay queued), false once what was to be written is. */
  private async writeQueue(tenantId: TenantId, queue: TenantQueue): Promise<boolean> {
    const batchSize = this.options.batchSize;
    while (queue.events.length >= (queue.drainAll || queue.waiters.length > 0 ? 1 : batchSize)) {
      const batch = queue.events.slice(0, batchSize);
      try {
        await this.withWriteSlot(() => this.repository.append(tenantId, batch));
      } catch (error) {
        this.logger.warn(
          `writing ${queue.events.length} audit events of tenant ${tenantId} failed, kept for the next attempt: ` +
            (error as Error).message,
        );
        this.quietUntil = Date.now() + this.options.retryDelayMs;
        queue.settle(error);
        this.schedule(this.options.retryDelayMs);
        return true;
      }
      // Only appended to while this ran: the batch is still the queue's head.
      queue.events.splice(0, batch.length);
      queue.written += batch.length;
      this.pending -= batch.length;
      queue.settle();
    }
    return false;
  }

  private async withWriteSlot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.writers >= this.options.concurrentWrites) await new Promise<void>((go) => this.writerQueue.push(go));
    else this.writers += 1;
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next waiter, if any; otherwise it is freed.
      const next = this.writerQueue.shift();
      if (next) next();
      else this.writers -= 1;
    }
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        if (Date.now() < this.quietUntil) return this.schedule(this.options.retryDelayMs);
        for (const [tenantId, queue] of this.queues) if (queue.events.length > 0) void this.drain(tenantId, true);
      },
      Math.max(delayMs, this.quietUntil - Date.now()),
    );
    this.timer.unref();
  }
}

/** Text the database takes and the hash covers as it was logged: no NUL, no lone surrogate, bounded. */
function clean(value: string): string {
  return String(value)
    .replace(/\0/g, '')
    .slice(0, MAX_TEXT)
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

function optional(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : clean(value);
}
