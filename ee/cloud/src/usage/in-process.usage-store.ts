/* @license Enterprise */
import type { TenantId } from '@engram/memory-core';
import { RATE_WINDOW_MS } from './redis.usage-store.js';
import {
  PERIOD_COUNTERS,
  type PeriodCounter,
  type PeriodCounters,
  type RequestAdmission,
  type RequestLimits,
  type Reservation,
  type UsageStore,
} from './usage.store.js';

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

/**
 * The usage store of a cloud process without REDIS_URL: the same rules as RedisUsageStore (see its scripts), counted
 * in this process only. Enough for a single API process and for tests; several processes would each allow the full
 * limits. A restart loses the counters like a Redis restart does, and the tracker restores them the same way.
 */
export class InProcessUsageStore implements UsageStore {
  private readonly periods = new Map<string, Expiring<PeriodCounters>>();
  private readonly buckets = new Map<string, Expiring<{ tokens: number; at: number }>>();
  private readonly memories = new Map<string, Expiring<number>>();

  constructor(private readonly now: () => number = Date.now) {}

  async admitRequest(
    tenantId: TenantId,
    period: string,
    keyId: string,
    limits: RequestLimits,
  ): Promise<RequestAdmission> {
    const now = this.now();
    const counters = live(this.periods, `${tenantId}:${period}`, now);
    if (!counters) return { outcome: 'unknown' };
    if (limits.maxRequests !== null && counters.requests + 1 > limits.maxRequests) {
      return { outcome: 'quota_exceeded', requests: counters.requests };
    }
    const capacity = limits.requestsPerMinute;
    if (capacity === null) return { outcome: 'admitted', requests: ++counters.requests, bucket: null };
    if (capacity === 0) {
      const bucket = { capacity, remaining: 0, fullInMs: RATE_WINDOW_MS, nowMs: now };
      return { outcome: 'rate_limited', retryAfterMs: RATE_WINDOW_MS, bucket };
    }
    const perToken = RATE_WINDOW_MS / capacity;
    const key = `${tenantId}:${keyId}`;
    const stored = live(this.buckets, key, now) ?? { tokens: capacity, at: now };
    let tokens = stored.tokens;
    if (now > stored.at) tokens = Math.min(capacity, tokens + (now - stored.at) / perToken);
    if (tokens < 1) {
      const bucket = { capacity, remaining: 0, fullInMs: Math.ceil((capacity - tokens) * perToken), nowMs: now };
      return { outcome: 'rate_limited', retryAfterMs: Math.ceil((1 - tokens) * perToken), bucket };
    }
    tokens -= 1;
    const fullInMs = Math.ceil((capacity - tokens) * perToken);
    this.buckets.set(key, { value: { tokens, at: now }, expiresAt: now + fullInMs + 1000 });
    return {
      outcome: 'admitted',
      requests: ++counters.requests,
      bucket: { capacity, remaining: Math.floor(tokens), fullInMs, nowMs: now },
    };
  }

  async reserve(
    tenantId: TenantId,
    period: string,
    counter: PeriodCounter,
    amount: number,
    max: number | null,
  ): Promise<Reservation> {
    const counters = live(this.periods, `${tenantId}:${period}`, this.now());
    if (!counters) return { outcome: 'unknown' };
    if (max !== null && counters[counter] + amount > max) return { outcome: 'refused', used: counters[counter] };
    counters[counter] += amount;
    return { outcome: 'reserved', used: counters[counter] };
  }

  async restorePeriod(tenantId: TenantId, period: string, counters: PeriodCounters, expireAt: Date): Promise<void> {
    const key = `${tenantId}:${period}`;
    const current = live(this.periods, key, this.now());
    const restored = {} as PeriodCounters;
    for (const counter of PERIOD_COUNTERS) restored[counter] = Math.max(current?.[counter] ?? 0, counters[counter]);
    this.periods.set(key, { value: restored, expiresAt: expireAt.getTime() });
  }

  async readPeriod(tenantId: TenantId, period: string): Promise<PeriodCounters | null> {
    const counters = live(this.periods, `${tenantId}:${period}`, this.now());
    return counters ? { ...counters } : null;
  }

  async reserveMemories(tenantId: TenantId, amount: number, max: number): Promise<Reservation> {
    const entry = this.memories.get(tenantId);
    if (!entry || entry.expiresAt <= this.now()) return { outcome: 'unknown' };
    if (entry.value + amount > max) return { outcome: 'refused', used: entry.value };
    entry.value += amount;
    return { outcome: 'reserved', used: entry.value };
  }

  async loadMemories(tenantId: TenantId, stored: number, ttlMs: number): Promise<void> {
    const now = this.now();
    if (live(this.memories, tenantId, now) !== undefined) return;
    this.memories.set(tenantId, { value: stored, expiresAt: now + ttlMs });
  }

  async releaseMemories(tenantId: TenantId, amount: number): Promise<void> {
    const entry = this.memories.get(tenantId);
    if (!entry) return;
    entry.value -= amount;
    if (entry.value < 0) this.memories.delete(tenantId);
  }

  async close(): Promise<void> {
    this.periods.clear();
    this.buckets.clear();
    this.memories.clear();
  }
}

function live<T>(entries: Map<string, Expiring<T>>, key: string, now: number): T | undefined {
  const entry = entries.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt > now) return entry.value;
  entries.delete(key);
  return undefined;
}
