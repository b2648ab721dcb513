/* @license Enterprise */
import type { TenantId } from '@engram/memory-core';

/** The counters kept per tenant and period (a month), in the store and in `tenant_usage`. */
export const PERIOD_COUNTERS = ['requests', 'embedding_tokens', 'memories_added', 'searches', 'reads'] as const;
export type PeriodCounter = (typeof PERIOD_COUNTERS)[number];
export type PeriodCounters = Record<PeriodCounter, number>;

export const NO_USAGE: Readonly<PeriodCounters> = Object.freeze({
  requests: 0,
  embedding_tokens: 0,
  memories_added: 0,
  searches: 0,
  reads: 0,
});

/** A key's token bucket, as the store saw it (on the store's clock). */
export interface BucketState {
  capacity: number;
  /** Whole requests left. */
  remaining: number;
  /** Until the bucket is full again. */
  fullInMs: number;
  /** The store's clock, epoch ms. */
  nowMs: number;
}

/**
 * `unknown`: the period's counters are not in the store (a new period, or the store lost them: a Redis restart, a
 * new process of the in-process store); the caller restores them from the last snapshot and asks again.
 */
export type RequestAdmission =
  | { outcome: 'admitted'; requests: number; bucket: BucketState | null }
  | { outcome: 'quota_exceeded'; requests: number }
  | { outcome: 'rate_limited'; bucket: BucketState; retryAfterMs: number }
  | { outcome: 'unknown' };

export type Reservation =
  { outcome: 'reserved'; used: number } | { outcome: 'refused'; used: number } | { outcome: 'unknown' };

export interface RequestLimits {
  /** null: no monthly cap. */
  maxRequests: number | null;
  /** The bucket's size per minute; null: no rate limit. */
  requestsPerMinute: number | null;
}

/**
 * Where usage is counted, shared by every API process of a deployment (Redis), or by one (in-process). Every method
 * that tests a limit also counts, in one atomic step, so concurrent callers at the boundary cannot all pass.
 */
export interface UsageStore {
  /** One request of `keyId`: refused if the month's cap is reached, else if the key's bucket is empty; else counted. */
  admitRequest(tenantId: TenantId, period: string, keyId: string, limits: RequestLimits): Promise<RequestAdmission>;
  /** Adds `amount` to a period counter unless that passes `max` (null: always adds). */
  reserve(
    tenantId: TenantId,
    period: string,
    counter: PeriodCounter,
    amount: number,
    max: number | null,
  ): Promise<Reservation>;
  /**
   * Puts restored counters in place: each becomes the greater of what the store has and what is given (so processes
   * restoring at once, or restoring late, never lower a count). The period's counters then exist until `expireAt`.
   */
  restorePeriod(tenantId: TenantId, period: string, counters: PeriodCounters, expireAt: Date): Promise<void>;
  /** null when the store does not have them (see `unknown`). */
  readPeriod(tenantId: TenantId, period: string): Promise<PeriodCounters | null>;

  /** Adds `amount` to the memories stored unless that passes `max`; `unknown` when the count must be loaded. */
  reserveMemories(tenantId: TenantId, amount: number, max: number): Promise<Reservation>;
  /** The count of memories stored, from the database, kept for `ttlMs` (unless another process loaded it first). */
  loadMemories(tenantId: TenantId, stored: number, ttlMs: number): Promise<void>;
  /** Memories deleted: taken off the count, if it is loaded. */
  releaseMemories(tenantId: TenantId, amount: number): Promise<void>;

  close(): Promise<void>;
}
