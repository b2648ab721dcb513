import { randomInt } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { MemoryExceptionCode } from '../../src/memory.exception.js';
import { expectMemoryError, sleep, type ContractHarness } from './contract-harness.js';

/**
 * The memory lifecycle: an expired memory is out of every path (writes, the pipeline's and the reconciler's too, not
 * only reads), and `purgeExpired` deletes what has expired, in batches.
 *
 * `purgeExpired` crosses tenants and the kit may run on a shared database, so the exact counts are taken on
 * expiries of their own: a random instant of the 1970s, which no other test writes, after the leftovers before it
 * were drained. Nobody else purges the kit's database meanwhile. The local provider drops what has expired by now
 * on every other call, so a test adds its expired memories in one call and purges right after it.
 */
export function describeLifecycleContract(h: ContractHarness): void {
  /** Purges everything expired at or before `before`, whatever the batches. */
  async function drain(before: Date, batch = 1_000): Promise<number> {
    let total = 0;
    for (;;) {
      const purged = await h.provider.purgeExpired(before, batch);
      total += purged;
      if (purged < batch) return total;
    }
  }

  describe('expiry on every path', () => {
    it('should leave a memory out of owners, every search mode and reads once its expiry passes', async () => {
      const scope = h.scope();
      const expiresAt = new Date(Date.now() + 1_000);
      const ready = await h.addReady(scope, { content: 'ephemeral heron', expiresAt });
      const pending = await h.provider.add(scope, { content: 'ephemeral heron chick', expiresAt });
      expect((await h.provider.owners(scope, { limit: 10 })).total).toBe(1);
      expect(await h.provider.search(scope, await h.query('ephemeral heron', 'vector'))).not.toEqual([]);

      await sleep(Math.max(0, expiresAt.getTime() - Date.now()) + 200);
      expect(await h.provider.owners(scope, { limit: 10 })).toEqual({ items: [], total: 0 });
      for (const mode of ['vector', 'hybrid', 'keyword'] as const) {
        expect(await h.provider.search(scope, await h.query('ephemeral heron', mode))).toEqual([]);
      }
      expect(await h.provider.getMany(scope, [ready.id, pending.id])).toEqual([]);
    });

    h.itWorkerSide(
      'should leave an expired memory out of the pipeline, the reconciler and the access counts',
      async () => {
        const scope = h.scope();
        const [ready, pending] = await h.provider.addMany(scope, [
          { content: 'expired egret' },
          { content: 'expired egret chick' },
        ]);
        await h.makeReady(scope, ready);
        const expiresAt = new Date(Date.now() - 1);
        await h.provider.update(scope, ready.id, { expiresAt });
        await h.provider.update(scope, pending.id, { expiresAt });

        const jobs = await h.provider.listPending(new Date(Date.now() + 60_000), 100_000);
        expect(jobs.some((job) => job.memoryId === pending.id)).toBe(false);
        const vector = await h.embed(pending.content);
        const embedding = { vector, model: h.embedder.model, dimensions: vector.length };
        expect(
          await h.provider.setEmbedding(scope, pending.id, { ...embedding, contentHash: pending.contentHash }),
        ).toBe('skipped');
        await h.provider.markFailed(scope, pending.id, 'too late');
        await h.provider.recordAccess(scope, [{ id: ready.id, count: 1, at: new Date() }]);
        expect(await h.provider.get(scope, pending.id)).toBeNull();
        expect(await h.provider.get(scope, ready.id)).toBeNull();
      },
    );

    it('should treat an expired memory as missing for deletes, and write no history row for it', async () => {
      const scope = h.scope();
      const [first, second] = await h.provider.addMany(scope, [
        { content: 'expired kestrel', expiresAt: new Date(Date.now() - 1_000) },
        { content: 'expired merlin', expiresAt: new Date(Date.now() - 1_000) },
      ]);
      await expectMemoryError(h.provider.delete(scope, first.id), MemoryExceptionCode.MEMORY_NOT_FOUND);
      expect(await h.provider.deleteMany(scope, [first.id, second.id])).toBe(0);
      expect(await h.provider.clear(scope)).toBe(0);
      // Kept, as after a delete; but nobody deleted them, so no DELETE row.
      expect((await h.provider.history(scope, first.id)).map((entry) => entry.op)).toEqual(['ADD']);
      expect((await h.provider.history(scope, second.id)).map((entry) => entry.op)).toEqual(['ADD']);
    });
  });

  h.describeWorkerSide('purgeExpired', () => {
    it('should delete the memories expired by `before`, at most `limit` a call, and nothing else', async () => {
      const base = Date.UTC(1971, 0, 1) + randomInt(5 * 365 * 24 * 3_600_000);
      await drain(new Date(base - 1));
      const scope = h.scope();
      const [first, , , , live] = await h.provider.addMany(scope, [
        { content: 'purged first', expiresAt: new Date(base) },
        { content: 'purged second', expiresAt: new Date(base + 1) },
        { content: 'purged third', expiresAt: new Date(base + 2) },
        { content: 'purged later', expiresAt: new Date(base + 60_000) },
        { content: 'kept, no expiry' },
      ]);

      expect(await h.provider.purgeExpired(new Date(base + 2), 2)).toBe(2);
      expect(await h.provider.purgeExpired(new Date(base + 2), 2)).toBe(1);
      expect(await h.provider.purgeExpired(new Date(base + 2), 2)).toBe(0);
      expect(await h.provider.purgeExpired(new Date(base + 60_000), 10)).toBe(1);

      expect(await h.provider.get(scope, live.id)).not.toBeNull();
      expect(await h.provider.count(scope)).toBe(1);
      expect((await h.provider.history(scope, first.id)).map((entry) => entry.op)).toEqual(['ADD']);
    });

    it('should purge every tenant, and leave memories that expire later', async () => {
      const [tenantA, tenantB] = h.tenants;
      const inA = h.scope({ tenantId: tenantA });
      const inB = h.scope({ tenantId: tenantB });
      const later = await h.provider.add(inA, {
        content: 'expires next hour',
        expiresAt: new Date(Date.now() + 3_600_000),
      });
      const soon = new Date(Date.now() + 300);
      const [a] = await h.provider.addMany(inA, [{ content: 'tenant a, soon gone', expiresAt: soon }]);
      const [b] = await h.provider.addMany(inB, [{ content: 'tenant b, soon gone', expiresAt: soon }]);
      await sleep(400);

      // Other tests' expired memories may be purged too: at least these two.
      expect(await drain(new Date())).toBeGreaterThanOrEqual(2);
      expect(await h.provider.get(inA, later.id)).not.toBeNull();
      expect(await h.provider.get(inA, a.id)).toBeNull();
      expect((await h.provider.history(inB, b.id)).map((entry) => entry.op)).toEqual(['ADD']);
    });

    it('should refuse a bad date or limit, and purge nothing for a limit below 1', async () => {
      await expectMemoryError(
        h.provider.purgeExpired(new Date('not a date'), 10),
        MemoryExceptionCode.VALIDATION_FAILED,
      );
      await expectMemoryError(h.provider.purgeExpired(new Date(), Number.NaN), MemoryExceptionCode.VALIDATION_FAILED);
      expect(await h.provider.purgeExpired(new Date(), 0)).toBe(0);
    });
  });
}
