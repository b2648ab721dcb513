import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { KeyValueProvider } from '../../src/kv/key-value-provider.js';
import { MemoryException, MemoryExceptionCode } from '../../src/memory.exception.js';
import type { TenantId } from '../../src/tenant.js';
import { DEFAULT_CONTRACT_TENANTS } from '../contract/contract-harness.js';

/** What a provider's test file hands to the KV contract kit. */
export interface KeyValueProviderContractSubject {
  provider: KeyValueProvider;
  /** Lets `ms` pass for the provider's expiry (moves a manual clock, or waits). */
  elapse(ms: number): Promise<void>;
  teardown(): Promise<void>;
  tenants?: readonly [TenantId, TenantId];
  /**
   * For a provider whose indexes (key index, tag indexes) can outlive an expired entry: the names of those that still
   * hold `key`, read from the backend directly. The expiry tests then check that the read or scan which comes across
   * an expired entry leaves none. A provider without such indexes leaves it out.
   */
  indexesHolding?(tenantId: TenantId, key: string): Promise<string[]>;
}

export type KeyValueProviderContractSetup = () => Promise<KeyValueProviderContractSubject>;

const KV_METHODS = [
  'get',
  'set',
  'delete',
  'getMany',
  'setMany',
  'deleteMany',
  'scan',
  'count',
  'exists',
  'clear',
  'eraseUser',
  'health',
  'close',
] as const satisfies readonly (keyof KeyValueProvider)[];

type UnlistedMethod = Exclude<keyof KeyValueProvider, (typeof KV_METHODS)[number]>;
const everyMethodListed: [UnlistedMethod] extends [never] ? true : never = true;

async function codeOf(promise: Promise<unknown>): Promise<MemoryExceptionCode | 'resolved'> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    if (error instanceof MemoryException) return error.code;
    throw error;
  }
}

/**
 * The suite every KeyValueProvider must pass. Each test writes under a prefix of its own, so a shared backend
 * is fine; `clear` tests use a tenant of their own.
 */
export function describeKeyValueProviderContract(name: string, setup: KeyValueProviderContractSetup): void {
  describe(`${name} (KeyValueProvider contract)`, () => {
    let subject: KeyValueProviderContractSubject;
    let kv: KeyValueProvider;
    let tenant: TenantId;
    let other: TenantId;
    let p: string;

    beforeAll(async () => {
      subject = await setup();
      kv = subject.provider;
      [tenant, other] = subject.tenants ?? DEFAULT_CONTRACT_TENANTS;
    });
    afterAll(() => subject.teardown());
    beforeEach(() => {
      p = `t-${randomUUID().slice(0, 8)}/`;
    });

    /** Every key of a full scan, following the cursor to the end. */
    async function scanAll(t: TenantId, query: { prefix?: string; tag?: { name: string; value: string } }, limit = 3) {
      const keys: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 1000; pages++) {
        const page = await kv.scan(t, { ...query, cursor, limit });
        expect(page.entries.length).toBeLessThanOrEqual(limit);
        keys.push(...page.entries.map((e) => e.key));
        if (page.nextCursor === null) return keys;
        cursor = page.nextCursor;
      }
      throw new Error('the scan never ended');
    }

    describe('protocol shape', () => {
      it.each(KV_METHODS)('should implement %s', (method) => {
        expect(everyMethodListed).toBe(true);
        expect(typeof kv[method]).toBe('function');
      });
    });

    describe('get, set, delete', () => {
      it('should return what was set, with its metadata', async () => {
        const value = { a: [1, 'two', null], nested: { ok: true } };
        const written = await kv.set(tenant, `${p}k`, value, { tags: { kind: 'pref' }, userId: 'alice' });
        expect(written).toMatchObject({
          key: `${p}k`,
          value,
          tags: { kind: 'pref' },
          userId: 'alice',
          expiresAt: null,
        });
        const read = await kv.get(tenant, `${p}k`);
        expect(read).toEqual(written);
        expect(read?.createdAt).toBeInstanceOf(Date);
      });

      it('should store any JSON value, scalars included', async () => {
        for (const value of ['text', 42, false, null, []]) {
          await kv.set(tenant, `${p}v`, value);
          expect((await kv.get(tenant, `${p}v`))?.value).toEqual(value);
        }
      });

      it('should return null for a missing key', async () => {
        expect(await kv.get(tenant, `${p}missing`)).toBeNull();
        expect(await kv.exists(tenant, `${p}missing`)).toBe(false);
      });

      it('should overwrite, keeping createdAt and replacing tags', async () => {
        const first = await kv.set(tenant, `${p}k`, 1, { tags: { a: '1' } });
        await subject.elapse(5);
        const second = await kv.set(tenant, `${p}k`, 2, { tags: { b: '2' } });
        expect(second.value).toBe(2);
        expect(second.tags).toEqual({ b: '2' });
        expect(second.createdAt.getTime()).toBe(first.createdAt.getTime());
        expect(await scanAll(tenant, { prefix: p, tag: { name: 'a', value: '1' } })).toEqual([]);
      });

      it('should refuse if-not-exists on a live key with KV_EXISTS and leave it alone', async () => {
        await kv.set(tenant, `${p}k`, 'first');
        expect(await codeOf(kv.set(tenant, `${p}k`, 'second', { ifNotExists: true }))).toBe(
          MemoryExceptionCode.KV_EXISTS,
        );
        expect((await kv.get(tenant, `${p}k`))?.value).toBe('first');
        expect((await kv.set(tenant, `${p}new`, 'x', { ifNotExists: true })).value).toBe('x');
      });

      it('should delete, and report whether there was something to delete', async () => {
        await kv.set(tenant, `${p}k`, 1, { tags: { t: 'x' } });
        expect(await kv.delete(tenant, `${p}k`)).toBe(true);
        expect(await kv.get(tenant, `${p}k`)).toBeNull();
        expect(await kv.delete(tenant, `${p}k`)).toBe(false);
        expect(await scanAll(tenant, { tag: { name: 't', value: 'x' }, prefix: p })).toEqual([]);
      });

      it.each(['', 'has space', 'x'.repeat(513), 'émoji', 'a?b'])('should refuse bad key #%#', async (key) => {
        expect(await codeOf(kv.set(tenant, key, 1))).toBe(MemoryExceptionCode.VALIDATION_FAILED);
        expect(await codeOf(kv.get(tenant, key))).toBe(MemoryExceptionCode.VALIDATION_FAILED);
      });

      it('should accept every allowed key character, up to 512', async () => {
        const key = `${p}Az09._:-/`.padEnd(512, 'z');
        await kv.set(tenant, key, 1);
        expect(await kv.exists(tenant, key)).toBe(true);
      });

      it('should refuse a value above 256 KB, and a bad ttl', async () => {
        expect(await codeOf(kv.set(tenant, `${p}big`, 'x'.repeat(256 * 1024)))).toBe(
          MemoryExceptionCode.VALIDATION_FAILED,
        );
        expect(await codeOf(kv.set(tenant, `${p}ttl`, 1, { ttlSeconds: 0 }))).toBe(
          MemoryExceptionCode.VALIDATION_FAILED,
        );
        expect(await kv.exists(tenant, `${p}big`)).toBe(false);
      });
    });

    describe('expiry', () => {
      it('should report the expiry and stop returning the entry once it has passed', async () => {
        const written = await kv.set(tenant, `${p}k`, 1, { ttlSeconds: 1, tags: { t: 'ttl' } });
        expect(written.expiresAt!.getTime() - written.updatedAt.getTime()).toBe(1000);
        await kv.set(tenant, `${p}keep`, 1, { tags: { t: 'ttl' } });
        await subject.elapse(1100);
        expect(await kv.get(tenant, `${p}k`)).toBeNull();
        expect(await kv.exists(tenant, `${p}k`)).toBe(false);
        expect(await kv.getMany(tenant, [`${p}k`])).toEqual([]);
        expect(await scanAll(tenant, { prefix: p })).toEqual([`${p}keep`]);
        expect(await scanAll(tenant, { prefix: p, tag: { name: 't', value: 'ttl' } })).toEqual([`${p}keep`]);
        expect(await kv.count(tenant, p)).toBe(1);
        expect(await kv.delete(tenant, `${p}k`)).toBe(false);
        expect((await kv.set(tenant, `${p}k`, 2, { ifNotExists: true })).value).toBe(2);
      });
    });

    describe('tags after expiry', () => {
      /** What the backend still indexes under `key`; nothing to check for a provider without indexes. */
      const indexesHolding = (t: TenantId, key: string) => subject.indexesHolding?.(t, key) ?? Promise.resolve([]);

      it('should not find an expired entry by tag, nor count it, and drop it from every index on a scan', async () => {
        await kv.set(tenant, `${p}gone`, 1, { ttlSeconds: 1, tags: { color: 'red', size: 's' } });
        await kv.set(tenant, `${p}kept`, 2, { tags: { color: 'red' } });
        if (subject.indexesHolding) expect(await indexesHolding(tenant, `${p}gone`)).not.toEqual([]);
        await subject.elapse(1100);
        expect(await scanAll(tenant, { prefix: p, tag: { name: 'color', value: 'red' } })).toEqual([`${p}kept`]);
        expect(await indexesHolding(tenant, `${p}gone`)).toEqual([]);
        expect(await scanAll(tenant, { prefix: p, tag: { name: 'size', value: 's' } })).toEqual([]);
        expect(await kv.count(tenant, p)).toBe(1);
      });

      it('should drop an expired entry from its tag indexes on a scan without a tag', async () => {
        await kv.set(tenant, `${p}gone`, 1, { ttlSeconds: 1, tags: { color: 'red' } });
        await subject.elapse(1100);
        expect(await scanAll(tenant, { prefix: p })).toEqual([]);
        expect(await indexesHolding(tenant, `${p}gone`)).toEqual([]);
        expect(await scanAll(tenant, { prefix: p, tag: { name: 'color', value: 'red' } })).toEqual([]);
      });

      it('should drop an expired entry from every index on a read', async () => {
        await kv.setMany(tenant, [
          { key: `${p}a`, value: 1, ttlSeconds: 1, tags: { color: 'red' } },
          { key: `${p}b`, value: 2, ttlSeconds: 1, tags: { color: 'blue' } },
        ]);
        await subject.elapse(1100);
        expect(await kv.get(tenant, `${p}a`)).toBeNull();
        expect(await indexesHolding(tenant, `${p}a`)).toEqual([]);
        expect(await kv.getMany(tenant, [`${p}b`])).toEqual([]);
        expect(await indexesHolding(tenant, `${p}b`)).toEqual([]);
      });

      it('should list an entry written again after expiry under its new tags only', async () => {
        await kv.set(tenant, `${p}k`, 1, { ttlSeconds: 1, tags: { color: 'red' } });
        await subject.elapse(1100);
        await kv.set(tenant, `${p}k`, 2, { tags: { color: 'blue' } });
        expect(await scanAll(tenant, { prefix: p, tag: { name: 'color', value: 'red' } })).toEqual([]);
        expect(await scanAll(tenant, { prefix: p, tag: { name: 'color', value: 'blue' } })).toEqual([`${p}k`]);
        expect((await kv.get(tenant, `${p}k`))?.tags).toEqual({ color: 'blue' });
      });

      it('should drop an entry from its tag indexes on delete, even after it expired', async () => {
        await kv.set(tenant, `${p}live`, 1, { tags: { color: 'red' } });
        await kv.set(tenant, `${p}expired`, 1, { ttlSeconds: 1, tags: { color: 'red' } });
        await subject.elapse(1100);
        expect(await kv.delete(tenant, `${p}live`)).toBe(true);
        expect(await kv.delete(tenant, `${p}expired`)).toBe(false);
        expect(await indexesHolding(tenant, `${p}live`)).toEqual([]);
        expect(await indexesHolding(tenant, `${p}expired`)).toEqual([]);
        expect(await scanAll(tenant, { prefix: p, tag: { name: 'color', value: 'red' } })).toEqual([]);
      });
    });

    describe('batches', () => {
      it('should get many in the order asked, leaving out the missing', async () => {
        await kv.setMany(tenant, [
          { key: `${p}a`, value: 'A' },
          { key: `${p}b`, value: 'B', tags: { x: '1' }, userId: 'u' },
        ]);
        const entries = await kv.getMany(tenant, [`${p}b`, `${p}none`, `${p}a`]);
        expect(entries.map((e) => [e.key, e.value])).toEqual([
          [`${p}b`, 'B'],
          [`${p}a`, 'A'],
        ]);
        expect(entries[0]).toMatchObject({ tags: { x: '1' }, userId: 'u' });
      });

      it('should write nothing when one write of a batch is invalid', async () => {
        expect(
          await codeOf(
            kv.setMany(tenant, [
              { key: `${p}ok`, value: 1 },
              { key: 'bad key', value: 2 },
            ]),
          ),
        ).toBe(MemoryExceptionCode.VALIDATION_FAILED);
        expect(await kv.exists(tenant, `${p}ok`)).toBe(false);
      });

      it('should delete many and count only what existed', async () => {
        expect(
          await kv.setMany(
            tenant,
            [1, 2, 3].map((i) => ({ key: `${p}${i}`, value: i })),
          ),
        ).toBe(3);
        expect(await kv.deleteMany(tenant, [`${p}1`, `${p}2`, `${p}none`])).toBe(2);
        expect(await scanAll(tenant, { prefix: p })).toEqual([`${p}3`]);
      });
    });

    describe('scan, count, clear', () => {
      it('should return each key once, in order, over a full scan by prefix', async () => {
        const keys = Array.from({ length: 17 }, (_, i) => `${p}${String(i).padStart(2, '0')}`);
        await kv.setMany(
          tenant,
          keys.map((key) => ({ key, value: key })),
        );
        await kv.set(tenant, `${p.slice(0, -1)}-outside`, 1);
        expect(await scanAll(tenant, { prefix: p }, 4)).toEqual(keys);
        expect(await kv.count(tenant, p)).toBe(17);
      });

      it('should find entries by tag', async () => {
        await kv.setMany(tenant, [
          { key: `${p}a`, value: 1, tags: { color: 'red' } },
          { key: `${p}b`, value: 2, tags: { color: 'blue' } },
          { key: `${p}c`, value: 3, tags: { color: 'red', size: 'l' } },
        ]);
        expect(await scanAll(tenant, { prefix: p, tag: { name: 'color', value: 'red' } }, 1)).toEqual([
          `${p}a`,
          `${p}c`,
        ]);
      });

      it('should refuse a bad limit and a forged cursor', async () => {
        expect(await codeOf(kv.scan(tenant, { limit: 0 }))).toBe(MemoryExceptionCode.VALIDATION_FAILED);
        expect(await codeOf(kv.scan(tenant, { limit: 10, cursor: '!!!not a cursor' }))).toBe(
          MemoryExceptionCode.INVALID_CURSOR,
        );
      });

      it('should clear every entry of the tenant', async () => {
        const own = `${randomUUID()}` as TenantId;
        await kv.setMany(
          own,
          [1, 2, 3].map((i) => ({ key: `k${i}`, value: i, tags: { t: 'x' } })),
        );
        expect(await kv.clear(own)).toBe(3);
        expect(await kv.count(own)).toBe(0);
        expect(await scanAll(own, { tag: { name: 't', value: 'x' } })).toEqual([]);
      });

      it('should report its health', async () => {
        expect((await kv.health()).ok).toBe(true);
      });
    });

    describe('at scale', () => {
      const N = 100_000;
      const SET_CHUNK = 10_000;

      it(`should batch set, scan once each, count, batch get and batch delete ${N} keys`, async () => {
        const own = randomUUID() as TenantId;
        const keys = Array.from({ length: N }, (_, i) => `bulk/${String(i).padStart(6, '0')}`);
        for (let from = 0; from < N; from += SET_CHUNK) {
          const writes = keys.slice(from, from + SET_CHUNK).map((key, i) => ({
            key,
            value: { i: from + i },
            tags: { mod: String((from + i) % 10) },
          }));
          expect(await kv.setMany(own, writes)).toBe(writes.length);
        }
        await kv.set(own, 'other/outside', 0, { tags: { mod: '3' } });

        // Counted in plain loops and asserted once: an expect per key would cost more than the provider does.
        const seen = new Map<string, number>();
        let outOfOrder = 0;
        let previous = '';
        let cursor: string | undefined;
        do {
          const page = await kv.scan(own, { prefix: 'bulk/', cursor, limit: 1000 });
          for (const { key } of page.entries) {
            if (key <= previous) outOfOrder++;
            previous = key;
            seen.set(key, (seen.get(key) ?? 0) + 1);
          }
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined);
        expect(outOfOrder).toBe(0);
        expect(seen.size).toBe(N);
        expect([...seen.values()].filter((times) => times !== 1)).toEqual([]);
        expect(keys.filter((key) => !seen.has(key))).toEqual([]);
        expect(await kv.count(own, 'bulk/')).toBe(N);
        expect(await kv.count(own)).toBe(N + 1);

        const byTag = await scanAll(own, { prefix: 'bulk/', tag: { name: 'mod', value: '3' } }, 1000);
        expect(byTag).toHaveLength(N / 10);
        expect(new Set(byTag).size).toBe(N / 10);

        const entries = await kv.getMany(own, [...keys, 'bulk/missing']);
        expect(entries).toHaveLength(N);
        expect(entries.filter((e, i) => e.key !== keys[i] || (e.value as { i: number }).i !== i)).toEqual([]);

        expect(await kv.deleteMany(own, keys)).toBe(N);
        expect(await kv.count(own)).toBe(1);
        expect(await kv.getMany(own, keys.slice(0, 1000))).toEqual([]);
        expect(await scanAll(own, { tag: { name: 'mod', value: '3' } }, 1000)).toEqual(['other/outside']);
        expect(await kv.clear(own)).toBe(1);
      }, 120_000);
    });

    describe('eraseUser', () => {
      let user: string;
      beforeEach(() => {
        user = `user-${randomUUID()}`;
      });

      it('should erase every entry of the user, tags included, and count only the live ones', async () => {
        await kv.setMany(tenant, [
          { key: `${p}a`, value: 1, userId: user, tags: { color: 'red' } },
          { key: `${p}b`, value: 2, userId: user },
          { key: `${p}c`, value: 3, userId: user, ttlSeconds: 1 },
        ]);
        await subject.elapse(1100);
        expect(await kv.eraseUser(tenant, user)).toBe(2);
        expect(await kv.getMany(tenant, [`${p}a`, `${p}b`, `${p}c`])).toEqual([]);
        expect(await scanAll(tenant, { prefix: p, tag: { name: 'color', value: 'red' } })).toEqual([]);
        expect(await kv.eraseUser(tenant, user)).toBe(0);
      });

      it('should erase an entry rewritten for the user, and not one rewritten for another user', async () => {
        await kv.set(tenant, `${p}moved-in`, 1, { userId: 'someone-else' });
        await kv.set(tenant, `${p}moved-in`, 2, { userId: user });
        await kv.set(tenant, `${p}moved-out`, 1, { userId: user });
        await kv.set(tenant, `${p}moved-out`, 2, { userId: 'someone-else' });
        expect(await kv.eraseUser(tenant, user)).toBe(1);
        expect(await kv.exists(tenant, `${p}moved-in`)).toBe(false);
        expect((await kv.get(tenant, `${p}moved-out`))?.value).toBe(2);
      });

      it('should not erase a key of another tenant / another user', async () => {
        await kv.set(tenant, `${p}mine`, 'mine', { userId: user });
        await kv.set(tenant, `${p}theirs`, 'theirs', { userId: `${user}-2` });
        await kv.set(tenant, `${p}nobody`, 'nobody');
        await kv.set(other, `${p}mine`, 'other tenant', { userId: user });
        expect(await kv.eraseUser(tenant, user)).toBe(1);
        expect(await kv.exists(tenant, `${p}mine`)).toBe(false);
        expect((await kv.get(tenant, `${p}theirs`))?.value).toBe('theirs');
        expect((await kv.get(tenant, `${p}nobody`))?.value).toBe('nobody');
        expect((await kv.get(other, `${p}mine`))?.value).toBe('other tenant');
        expect(await kv.eraseUser(other, user)).toBe(1);
      });
    });

    describe('tenant isolation', () => {
      beforeEach(async () => {
        await kv.set(tenant, `${p}secret`, 'mine', { tags: { t: 'iso' } });
      });

      it('should not return a key of another tenant', async () => {
        expect(await kv.get(other, `${p}secret`)).toBeNull();
        expect(await kv.exists(other, `${p}secret`)).toBe(false);
        expect(await kv.getMany(other, [`${p}secret`])).toEqual([]);
      });

      it('should not list or count a key of another tenant', async () => {
        expect(await scanAll(other, { prefix: p })).toEqual([]);
        expect(await scanAll(other, { prefix: p, tag: { name: 't', value: 'iso' } })).toEqual([]);
        expect(await kv.count(other, p)).toBe(0);
      });

      it('should not overwrite, refuse or delete a key of another tenant', async () => {
        await kv.set(other, `${p}secret`, 'theirs', { ifNotExists: true });
        expect(await kv.delete(other, `${p}secret`)).toBe(true);
        expect(await kv.deleteMany(other, [`${p}secret`])).toBe(0);
        expect((await kv.get(tenant, `${p}secret`))?.value).toBe('mine');
      });

      it('should not clear the keys of another tenant', async () => {
        const own = `${randomUUID()}` as TenantId;
        await kv.set(own, 'k', 1);
        await kv.clear(own);
        expect((await kv.get(tenant, `${p}secret`))?.value).toBe('mine');
      });
    });
  });
}
