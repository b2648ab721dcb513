/* @license Enterprise */
import { beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { asTenantId, MemoryException, MemoryExceptionCode, type TenantId } from '@engram/memory-core';
import { ManualClock } from '@engram/memory-core/testing';
import { CloudUsageTracker, type UsageSnapshots } from './cloud.usage-tracker.js';
import { InProcessUsageStore } from './in-process.usage-store.js';
import { PLATFORM_DEFAULT_QUOTAS, type StoredQuotas } from './usage-quotas.js';
import type { PeriodCounters, UsageStore } from './usage.store.js';

class FakeSnapshots implements UsageSnapshots {
  readonly rows = new Map<string, PeriodCounters>();
  memories = 0;
  failSaves = false;
  async save(tenantId: TenantId, period: string, counters: PeriodCounters): Promise<void> {
    if (this.failSaves) throw new Error('database down');
    this.rows.set(`${tenantId}:${period}`, { ...counters });
  }
  async find(tenantId: TenantId, period: string): Promise<PeriodCounters | null> {
    return this.rows.get(`${tenantId}:${period}`) ?? null;
  }
  async countMemories(): Promise<number> {
    return this.memories;
  }
}

const TENANT = asTenantId('01900000-0000-7000-8000-000000000001');

/** The refusal's code and details (as the response shows them). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read the details' fields
async function codeOf(promise: Promise<unknown>): Promise<{ code: MemoryExceptionCode; details: any }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MemoryException) return { code: error.code, details: error.details };
    throw error;
  }
  throw new Error('expected a MemoryException');
}

describe('CloudUsageTracker', () => {
  beforeAll(() => Logger.overrideLogger(false));

  let clock: ManualClock;
  let store: InProcessUsageStore;
  let snapshots: FakeSnapshots;
  let quotas: StoredQuotas;
  let sut: CloudUsageTracker;

  function newTracker(usageStore: UsageStore = store): CloudUsageTracker {
    return new CloudUsageTracker(usageStore, snapshots, async () => quotas, clock, { quotasTtlMs: 0 });
  }

  beforeEach(() => {
    clock = new ManualClock('2026-05-10T12:00:00Z');
    store = new InProcessUsageStore(() => clock.now().getTime());
    snapshots = new FakeSnapshots();
    quotas = {};
    sut = newTracker();
  });

  describe('rate limit (per key, requests per minute)', () => {
    it('admits exactly the limit, then refuses with when to retry', async () => {
      quotas = { requestsPerMinute: 3 };
      const states = [];
      for (let i = 0; i < 3; i++) states.push(await sut.admitRequest(TENANT, 'key-a'));
      expect(states.map((s) => s?.remaining)).toEqual([2, 1, 0]);
      expect(states[2]).toMatchObject({ limit: 3, resetAt: clock.now().getTime() / 1000 + 60 });

      const refused = await codeOf(sut.admitRequest(TENANT, 'key-a'));
      expect(refused.code).toBe(MemoryExceptionCode.RATE_LIMITED);
      expect(refused.details).toEqual({
        limit: 3,
        remaining: 0,
        reset_at: clock.now().getTime() / 1000 + 60,
        retry_after_seconds: 20,
      });
    });

    it('refills evenly: one request back after a third of a minute at 3 per minute', async () => {
      quotas = { requestsPerMinute: 3 };
      for (let i = 0; i < 3; i++) await sut.admitRequest(TENANT, 'key-a');
      clock.advance(19_999);
      expect((await codeOf(sut.admitRequest(TENANT, 'key-a'))).details.retry_after_seconds).toBe(1);
      clock.advance(1);
      expect(await sut.admitRequest(TENANT, 'key-a')).toMatchObject({ remaining: 0 });
    });

    it('keeps a bucket per key', async () => {
      quotas = { requestsPerMinute: 1 };
      await sut.admitRequest(TENANT, 'key-a');
      expect((await codeOf(sut.admitRequest(TENANT, 'key-a'))).code).toBe(MemoryExceptionCode.RATE_LIMITED);
      expect(await sut.admitRequest(TENANT, 'key-b')).toMatchObject({ limit: 1, remaining: 0 });
    });

    it('refuses every request of a key whose limit is 0', async () => {
      quotas = { requestsPerMinute: 0 };
      const refused = await codeOf(sut.admitRequest(TENANT, 'key-a'));
      expect(refused.code).toBe(MemoryExceptionCode.RATE_LIMITED);
      expect(refused.details.retry_after_seconds).toBe(60);
    });

    it('reports no state when there is no rate limit', async () => {
      sut = new CloudUsageTracker(store, snapshots, async () => ({}), clock, {
        defaults: { ...PLATFORM_DEFAULT_QUOTAS, requestsPerMinute: null },
      });
      expect(await sut.admitRequest(TENANT, 'key-a')).toBeNull();
    });
  });

  describe('requests per month', () => {
    it('admits exactly the quota, then refuses with 413 naming it', async () => {
      quotas = { maxRequestsPerMonth: 2, requestsPerMinute: 100 };
      await sut.admitRequest(TENANT, 'key-a');
      await sut.admitRequest(TENANT, 'key-b');
      const refused = await codeOf(sut.admitRequest(TENANT, 'key-a'));
      expect(refused.code).toBe(MemoryExceptionCode.QUOTA_EXCEEDED);
      expect(refused.details).toEqual({
        quota: 'max_requests_per_month',
        limit: 2,
        used: 2,
        requested: 1,
        period: '2026-05',
      });
    });

    it('starts again with the next month', async () => {
      quotas = { maxRequestsPerMonth: 1 };
      await sut.admitRequest(TENANT, 'key-a');
      clock.advance(31 * 24 * 3600 * 1000);
      await expect(sut.admitRequest(TENANT, 'key-a')).resolves.not.toBeNull();
    });
  });

  describe('snapshots', () => {
    it('restores the month’s counters from the last snapshot when the store lost them', async () => {
      quotas = { maxRequestsPerMonth: 5 };
      for (let i = 0; i < 3; i++) await sut.admitRequest(TENANT, `key-${i}`);
      await sut.record(TENANT, 'memory.search', 2);
      await sut.snapshot();
      expect(snapshots.rows.get(`${TENANT}:2026-05`)).toMatchObject({ requests: 3, searches: 2 });

      await store.close(); // Redis restarted: everything gone
      await sut.admitRequest(TENANT, 'key-a');
      await sut.admitRequest(TENANT, 'key-a');
      expect((await codeOf(sut.admitRequest(TENANT, 'key-a'))).code).toBe(MemoryExceptionCode.QUOTA_EXCEEDED);
      expect((await sut.usageOf(TENANT)).counters).toMatchObject({ requests: 5, searches: 2 });
    });

    it('keeps what it could not save for the next snapshot', async () => {
      await sut.admitRequest(TENANT, 'key-a');
      snapshots.failSaves = true;
      await sut.snapshot();
      snapshots.failSaves = false;
      await sut.snapshot();
      expect(snapshots.rows.get(`${TENANT}:2026-05`)?.requests).toBe(1);
    });

    it('shows the greater of the store’s and the snapshot’s counters', async () => {
      snapshots.rows.set(`${TENANT}:2026-04`, { ...zero(), requests: 40, embedding_tokens: 9 });
      const april = await sut.usageOf(TENANT, { id: '2026-04', start: new Date(0), end: new Date(0) });
      expect(april.counters).toMatchObject({ requests: 40, embedding_tokens: 9 });
    });
  });

  describe('memories stored', () => {
    it('counts from the database, then admits exactly the cap and refuses one more', async () => {
      quotas = { maxMemories: 5 };
      snapshots.memories = 3;
      await sut.reserveMemories(TENANT, 2);
      const refused = await codeOf(sut.reserveMemories(TENANT, 1));
      expect(refused).toEqual({
        code: MemoryExceptionCode.QUOTA_EXCEEDED,
        details: { quota: 'max_memories', limit: 5, used: 5, requested: 1 },
      });
      await sut.releaseMemories(TENANT, 1);
      await sut.reserveMemories(TENANT, 1);
    });

    it('refuses a whole batch that does not fit', async () => {
      quotas = { maxMemories: 5 };
      snapshots.memories = 4;
      expect((await codeOf(sut.reserveMemories(TENANT, 2))).code).toBe(MemoryExceptionCode.QUOTA_EXCEEDED);
      await sut.reserveMemories(TENANT, 1);
    });

    it('does not count at all without a cap', async () => {
      snapshots.memories = 10 ** 9;
      await sut.reserveMemories(TENANT, 1000);
    });
  });

  describe('embedding tokens per month', () => {
    it('admits exactly the quota, refuses one token more, and takes back what failed work reserved', async () => {
      quotas = { maxEmbeddingTokensPerMonth: 100 };
      await sut.check(TENANT, 'embedding', 60);
      await sut.reserveEmbeddingTokens(TENANT, 40);
      const refused = await codeOf(sut.reserveEmbeddingTokens(TENANT, 1));
      expect(refused.details).toMatchObject({ quota: 'max_embedding_tokens_per_month', limit: 100, used: 100 });
      await sut.releaseEmbeddingTokens(TENANT, 40);
      await sut.reserveEmbeddingTokens(TENANT, 40);
    });
  });

  describe('a store that fails', () => {
    const broken: UsageStore = new Proxy({} as UsageStore, {
      get: () => () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.7:6379')),
    });

    it('refuses requests with 503 rather than letting them through unmetered, without naming hosts', async () => {
      const refused = await codeOf(newTracker(broken).admitRequest(TENANT, 'key-a'));
      expect(refused).toEqual({ code: MemoryExceptionCode.DEPENDENCY_UNAVAILABLE, details: { dependency: 'usage' } });
    });

    it('does not fail work already done when it cannot count it', async () => {
      await expect(newTracker(broken).record(TENANT, 'memory.write', 1)).resolves.toBeUndefined();
    });
  });
});

function zero(): PeriodCounters {
  return { requests: 0, embedding_tokens: 0, memories_added: 0, searches: 0, reads: 0 };
}
