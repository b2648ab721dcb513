/* @license Enterprise */
import { Logger } from '@nestjs/common';
import {
  MemoryException,
  MemoryExceptionCode,
  type Clock,
  type RateLimitState,
  type TenantId,
  type UsageOperation,
  type UsageTracker,
} from '@engram/memory-core';
import type { TenantUsageRepository } from './tenant-usage.repository.js';
import { periodOf, type UsagePeriod } from './usage-period.js';
import { effectiveQuotas, QUOTA_NAMES, type EffectiveQuotas, type StoredQuotas } from './usage-quotas.js';
import {
  NO_USAGE,
  PERIOD_COUNTERS,
  type BucketState,
  type PeriodCounter,
  type PeriodCounters,
  type UsageStore,
} from './usage.store.js';

export interface CloudUsageTrackerOptions {
  /** How often the counters are copied to Postgres; a Redis restart loses at most this much counting. */
  snapshotEveryMs?: number;
  /** How long a tenant's quotas are kept in memory: a changed quota applies within this. */
  quotasTtlMs?: number;
  /** How long the count of memories stored is trusted before it is counted again in Postgres. */
  memoriesTtlMs?: number;
  /** The quotas of a tenant that was not given some (default PLATFORM_DEFAULT_QUOTAS). */
  defaults?: EffectiveQuotas;
  /** Told of everything counted (the per-tenant counters of /metrics). */
  onCounted?: (tenantId: TenantId, counter: PeriodCounter, amount: number) => void;
}

/** A tenant's usage of a period, as `GET /v1/usage` and the operator's route show it. */
export interface TenantUsage {
  tenantId: TenantId;
  period: UsagePeriod;
  quotas: EffectiveQuotas;
  counters: PeriodCounters;
  /** Now, not as of the period. */
  memoriesStored: number;
}

/** What the metered memory provider needs: the quotas that depend on what is written, not on the request. */
export interface MemoryQuotas {
  /** Counts `count` memories more against the tenant's cap, or throws QUOTA_EXCEEDED. */
  reserveMemories(tenantId: TenantId, count: number): Promise<void>;
  /** Memories that were deleted, or reserved and then not written. */
  releaseMemories(tenantId: TenantId, count: number): Promise<void>;
  /** Counts `tokens` against the month's embedding tokens, or throws QUOTA_EXCEEDED. */
  reserveEmbeddingTokens(tenantId: TenantId, tokens: number): Promise<void>;
  /** Tokens reserved for work that then failed. */
  releaseEmbeddingTokens(tenantId: TenantId, tokens: number): Promise<void>;
}

/** What the tracker needs of Postgres (TenantUsageRepository). */
export type UsageSnapshots = Pick<TenantUsageRepository, 'save' | 'find' | 'countMemories'>;

/** The months' counters stay in the store this long after their month, for late reads and snapshots. */
const PERIOD_RETENTION_MS = 35 * 24 * 3600 * 1000;

/**
 * The cloud's UsageTracker: per-tenant quotas (memories stored, requests and embedding tokens per month) and per-key
 * rate limits (requests per minute), checked before any work is done.
 *
 * - A limited amount is counted when it is admitted, by the store's atomic test-and-count, never after the work: two
 *   processes admitting the last unit of a quota at once cannot both pass. Work refused later, or failing, gives its
 *   reservation back where that matters (memories, embedding tokens); a request stays counted once admitted.
 * - The store is Redis, shared by every API process. Its monthly counters are copied to `tenant_usage` every
 *   `snapshotEveryMs` (and at shutdown); when the store does not have a month's counters (a Redis restart, or a new
 *   month), they are restored from that copy before anything is counted, so a restart loses at most one interval of
 *   counting. Token buckets are not copied: a restart refills them, a burst of at most one minute's allowance.
 * - The memories stored are counted in Postgres (the truth, whatever erased them), kept in the store for
 *   `memoriesTtlMs` and moved by the writes and deletes in between.
 * - The store unreachable: requests are refused (503), never let through unmetered; counts of work already done
 *   (`record`) are dropped with a warning rather than failing a request that succeeded.
 */
export class CloudUsageTracker implements UsageTracker, MemoryQuotas {
  private readonly logger = new Logger(CloudUsageTracker.name);
  private readonly snapshotEveryMs: number;
  private readonly quotasTtlMs: number;
  private readonly memoriesTtlMs: number;
  private readonly defaults: EffectiveQuotas | undefined;
  private readonly onCounted: (tenantId: TenantId, counter: PeriodCounter, amount: number) => void;
  private readonly quotaCache = new Map<TenantId, { quotas: EffectiveQuotas; at: number }>();
  /** The periods this process counted in since its last snapshot. */
  private dirty = new Map<string, { tenantId: TenantId; period: string }>();
  private readonly restoring = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: UsageStore,
    private readonly snapshots: UsageSnapshots,
    private readonly storedQuotas: (tenantId: TenantId) => Promise<StoredQuotas | null>,
    private readonly clock: Clock,
    options: CloudUsageTrackerOptions = {},
  ) {
    this.snapshotEveryMs = options.snapshotEveryMs ?? 10_000;
    this.quotasTtlMs = options.quotasTtlMs ?? 10_000;
    this.memoriesTtlMs = options.memoriesTtlMs ?? 60_000;
    this.defaults = options.defaults;
    this.onCounted = options.onCounted ?? (() => undefined);
  }

  async admitRequest(tenantId: TenantId, keyId: string | undefined): Promise<RateLimitState | null> {
    const quotas = await this.quotasOf(tenantId);
    const period = periodOf(this.clock.now());
    const admission = await this.counting(tenantId, period, () =>
      this.store.admitRequest(tenantId, period.id, keyId ?? 'tenant', {
        maxRequests: quotas.maxRequestsPerMonth,
        requestsPerMinute: quotas.requestsPerMinute,
      }),
    );
    switch (admission.outcome) {
      case 'admitted':
        this.markDirty(tenantId, period);
        this.onCounted(tenantId, 'requests', 1);
        return admission.bucket ? rateLimitStateOf(admission.bucket) : null;
      case 'quota_exceeded':
        throw quotaExceeded('maxRequestsPerMonth', quotas.maxRequestsPerMonth, admission.requests, 1, period);
      case 'rate_limited': {
        const state = rateLimitStateOf(admission.bucket);
        const retryAfterSeconds = Math.max(1, Math.ceil(admission.retryAfterMs / 1000));
        throw MemoryException.rateLimited(
          `the API key's rate limit of ${state.limit} requests per minute is spent: retry in ${retryAfterSeconds} s`,
          { limit: state.limit, remaining: 0, reset_at: state.resetAt, retry_after_seconds: retryAfterSeconds },
        );
      }
      case 'unknown':
        throw storeUnavailable();
    }
  }

  /** Core operations: the embedding tokens are metered here; memories by MeteredMemoryProvider (adds, not updates). */
  async check(tenantId: TenantId, operation: UsageOperation, amount: number): Promise<void> {
    switch (operation) {
      case 'embedding':
        return this.reserveEmbeddingTokens(tenantId, amount);
      case 'inference':
        // Room for `amount` memories now; the worker's writes reserve their own as any add does.
        await this.reserveMemories(tenantId, amount);
        return this.releaseMemories(tenantId, amount);
      case 'memory.write':
      case 'memory.read':
      case 'memory.search':
      case 'memory.delete':
        return;
    }
  }

  /** Counts work done, for the usage report; limited amounts were counted when admitted. */
  async record(tenantId: TenantId, operation: UsageOperation, amount: number): Promise<void> {
    const counter = statisticOf(operation);
    if (counter === null || amount <= 0) return;
    const period = periodOf(this.clock.now());
    try {
      await this.counting(tenantId, period, () => this.store.reserve(tenantId, period.id, counter, amount, null));
      this.markDirty(tenantId, period);
      this.onCounted(tenantId, counter, amount);
    } catch (error) {
      this.logger.warn(`counting ${amount} ${counter} of tenant ${tenantId} failed: ${messageOf(error)}`);
    }
  }

  async reserveEmbeddingTokens(tenantId: TenantId, tokens: number): Promise<void> {
    if (tokens <= 0) return;
    const quotas = await this.quotasOf(tenantId);
    const period = periodOf(this.clock.now());
    const max = quotas.maxEmbeddingTokensPerMonth;
    const reservation = await this.counting(tenantId, period, () =>
      this.store.reserve(tenantId, period.id, 'embedding_tokens', tokens, max),
    );
    if (reservation.outcome === 'refused') {
      throw quotaExceeded('maxEmbeddingTokensPerMonth', max, reservation.used, tokens, period);
    }
    this.markDirty(tenantId, period);
    // Reservations, counted as they are made: tokens given back after failed work stay counted here (a counter only
    // goes up), while the monthly quota gets them back.
    this.onCounted(tenantId, 'embedding_tokens', tokens);
  }

  async releaseEmbeddingTokens(tenantId: TenantId, tokens: number): Promise<void> {
    if (tokens <= 0) return;
    const period = periodOf(this.clock.now());
    try {
      await this.store.reserve(tenantId, period.id, 'embedding_tokens', -tokens, null);
    } catch (error) {
      this.logger.warn(`giving back ${tokens} embedding tokens of tenant ${tenantId} failed: ${messageOf(error)}`);
    }
  }

  async reserveMemories(tenantId: TenantId, count: number): Promise<void> {
    const max = (await this.quotasOf(tenantId)).maxMemories;
    if (max === null || count <= 0) return;
    const reserve = () => this.store.reserveMemories(tenantId, count, max);
    let reservation = await this.guarded(reserve);
    if (reservation.outcome === 'unknown') {
      const stored = await this.guarded(() => this.snapshots.countMemories(tenantId));
      await this.guarded(() => this.store.loadMemories(tenantId, stored, this.memoriesTtlMs));
      reservation = await this.guarded(reserve);
    }
    switch (reservation.outcome) {
      case 'reserved':
        return;
      case 'refused':
        throw quotaExceeded('maxMemories', max, reservation.used, count);
      case 'unknown':
        throw storeUnavailable();
    }
  }

  async releaseMemories(tenantId: TenantId, count: number): Promise<void> {
    if (count <= 0) return;
    try {
      await this.store.releaseMemories(tenantId, count);
    } catch (error) {
      this.logger.warn(`taking ${count} memories off tenant ${tenantId}'s count failed: ${messageOf(error)}`);
    }
  }

  /**
   * A tenant's usage of `period` (default: the current month): the store's counters or the snapshot's, whichever is
   * greater, with the quotas in force and the memories stored now.
   */
  async usageOf(tenantId: TenantId, period: UsagePeriod = periodOf(this.clock.now())): Promise<TenantUsage> {
    const [quotas, live, saved, memoriesStored] = await Promise.all([
      this.quotasOf(tenantId, true),
      this.guarded(() => this.store.readPeriod(tenantId, period.id)),
      this.snapshots.find(tenantId, period.id),
      this.snapshots.countMemories(tenantId),
    ]);
    const counters = {} as PeriodCounters;
    for (const counter of PERIOD_COUNTERS) counters[counter] = Math.max(live?.[counter] ?? 0, saved?.[counter] ?? 0);
    return { tenantId, period, quotas, counters, memoriesStored };
  }

  /** Copies the counters this process changed since the last snapshot to `tenant_usage`. */
  async snapshot(): Promise<void> {
    this.forgetStaleQuotas();
    const pending = [...this.dirty.values()];
    this.dirty = new Map();
    const at = this.clock.now();
    for (const { tenantId, period } of pending) {
      try {
        const counters = await this.store.readPeriod(tenantId, period);
        // Gone from the store: nothing newer than the last snapshot to save; the next count restores it from there.
        if (counters) await this.snapshots.save(tenantId, period, counters, at);
      } catch (error) {
        this.dirty.set(`${tenantId}:${period}`, { tenantId, period });
        this.logger.warn(`snapshotting the usage of tenant ${tenantId} failed, kept for the next: ${messageOf(error)}`);
      }
    }
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.snapshot(), this.snapshotEveryMs);
    this.timer.unref();
  }

  /** The last snapshot; the store stays open (`close`) for requests still being answered. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.snapshot();
  }

  close(): Promise<void> {
    return this.store.close();
  }

  /** Runs a counting step; when the store has no counters for the period, restores them from the snapshot first. */
  private async counting<T extends { outcome: string }>(
    tenantId: TenantId,
    period: UsagePeriod,
    step: () => Promise<T>,
  ): Promise<T> {
    const result = await this.guarded(step);
    if (result.outcome !== 'unknown') return result;
    await this.restore(tenantId, period);
    return this.guarded(step);
  }

  /** One restore per tenant and period at a time in this process; concurrent ones across processes are harmless. */
  private restore(tenantId: TenantId, period: UsagePeriod): Promise<void> {
    const key = `${tenantId}:${period.id}`;
    let restoring = this.restoring.get(key);
    if (!restoring) {
      restoring = this.guarded(async () => {
        const saved = await this.snapshots.find(tenantId, period.id);
        const expireAt = new Date(period.end.getTime() + PERIOD_RETENTION_MS);
        await this.store.restorePeriod(tenantId, period.id, saved ?? NO_USAGE, expireAt);
        if (saved) this.logger.log(`restored the usage of tenant ${tenantId} for ${period.id} from its snapshot`);
      }).finally(() => this.restoring.delete(key));
      this.restoring.set(key, restoring);
    }
    return restoring;
  }

  private async quotasOf(tenantId: TenantId, fresh = false): Promise<EffectiveQuotas> {
    const now = this.clock.now().getTime();
    const cached = this.quotaCache.get(tenantId);
    if (!fresh && cached && now - cached.at < this.quotasTtlMs) return cached.quotas;
    const quotas = effectiveQuotas(await this.guarded(() => this.storedQuotas(tenantId)), this.defaults);
    this.quotaCache.set(tenantId, { quotas, at: now });
    return quotas;
  }

  private forgetStaleQuotas(): void {
    const now = this.clock.now().getTime();
    for (const [tenantId, cached] of this.quotaCache) {
      if (now - cached.at >= this.quotasTtlMs) this.quotaCache.delete(tenantId);
    }
  }

  private markDirty(tenantId: TenantId, period: UsagePeriod): void {
    this.dirty.set(`${tenantId}:${period.id}`, { tenantId, period: period.id });
  }

  /** A store or database failure becomes a 503: nothing is let through unmetered. */
  private async guarded<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof MemoryException) throw error;
      this.logger.warn(`the usage store or database failed: ${messageOf(error)}`);
      throw storeUnavailable();
    }
  }
}

function statisticOf(operation: UsageOperation): PeriodCounter | null {
  switch (operation) {
    case 'memory.write':
      return 'memories_added';
    case 'memory.search':
      return 'searches';
    case 'memory.read':
      return 'reads';
    case 'memory.delete':
    case 'embedding':
    case 'inference':
      return null;
  }
}

function rateLimitStateOf(bucket: BucketState): RateLimitState {
  return {
    limit: bucket.capacity,
    remaining: bucket.remaining,
    resetAt: Math.ceil((bucket.nowMs + bucket.fullInMs) / 1000),
  };
}

function quotaExceeded(
  quota: keyof EffectiveQuotas,
  limit: number | null,
  used: number,
  requested: number,
  period?: UsagePeriod,
): MemoryException {
  const name = QUOTA_NAMES[quota];
  return MemoryException.quotaExceeded(`the tenant's quota ${name} (${limit}) would be exceeded: ${used} used`, {
    quota: name,
    limit,
    used,
    requested,
    ...(period ? { period: period.id } : {}),
  });
}

/** Says which dependency, not why: the reason (hosts, ports) is for the log, not the caller. */
function storeUnavailable(): MemoryException {
  return new MemoryException(
    MemoryExceptionCode.DEPENDENCY_UNAVAILABLE,
    'usage cannot be counted right now (the usage store is unavailable)',
    { dependency: 'usage' },
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
