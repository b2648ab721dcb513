/* @license Enterprise */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  asTenantId,
  LocalMemoryProvider,
  MemoryException,
  MemoryExceptionCode,
  newId,
  parseFilter,
  type Filter,
  type Memory,
  type MemoryProvider,
  type MemoryScope,
  type SearchMode,
  type SearchQuery,
  type TenantId,
} from '@engram/memory-core';
import { PostgresMemoryProvider, type PostgresMemoryProviderOptions } from '@engram/memory-postgres';
import { CloudMemoryProvider, type TenantCrossing } from '../src/memory/cloud.memory-provider.js';
import {
  asRequestOf,
  embedder,
  liveTenants,
  openCloudTestDatabase,
  requestTenant,
} from './fixtures/cloud-test-database.js';

interface WallSubject {
  provider: MemoryProvider;
  tenants: readonly [TenantId, TenantId];
  /** What the provider reported through `onCrossing`. */
  crossings: TenantCrossing[];
  teardown(): Promise<void>;
}

const CONTENT = 'Mallory: keeps a spare key under the blue flowerpot';
const FILTER: Filter = parseFilter({ 'metadata.secret': { eq: 'yes' } });

/**
 * The application wall: within a request of tenant A, calls that carry a scope of tenant B. Each answer must be
 * the one the reference gives for a memory that does not exist, and B's memory must come out untouched. Run twice:
 * on the full cloud stack, and over the in-process reference provider with no database at all, which proves the
 * wall on its own (row-level security has its own suite, row-level-security.int-spec.ts).
 */
function describeTenantWall(name: string, setup: () => Promise<WallSubject>): void {
  describe(name, () => {
    let subject: WallSubject;
    let provider: MemoryProvider;
    let tenantA: TenantId;
    let tenantB: TenantId;

    beforeAll(async () => {
      subject = await setup();
      ({ provider } = subject);
      [tenantA, tenantB] = subject.tenants;
    });

    afterAll(() => subject.teardown());

    interface Victim {
      /** B's own scope, and the same user id named in a scope of B by A's request. */
      scope: MemoryScope;
      /** A scope of B naming only the tenant (enough for methods on ids). */
      tenantOnly: MemoryScope;
      memory: Memory;
    }

    /** B's memory, embedded and updated once (so it has a history of two), written within B's own request. */
    async function victim(): Promise<Victim> {
      const scope = { tenantId: tenantB, userId: `user-${newId()}` };
      const memory = await asRequestOf(tenantB, async () => {
        const added = await provider.add(scope, { content: CONTENT, metadata: { secret: 'yes' } });
        const [vector] = await embedder.embed([added.content]);
        await provider.setEmbedding(scope, added.id, {
          vector,
          model: embedder.model,
          dimensions: vector.length,
          contentHash: added.contentHash,
        });
        await provider.update(scope, added.id, { importance: 7 });
        return (await provider.get(scope, added.id))!;
      });
      // Non-vacuous: B's own request does see it, by id, by scope and by search.
      expect(memory).toMatchObject({ status: 'ready', importance: 7 });
      return { scope, tenantOnly: { tenantId: tenantB }, memory };
    }

    /** B's memory, read back within B's request: exactly as it was. */
    async function expectUntouched({ scope, memory }: Victim): Promise<void> {
      await asRequestOf(tenantB, async () => {
        expect(await provider.get(scope, memory.id)).toEqual(memory);
        expect(await provider.history(scope, memory.id)).toHaveLength(2);
      });
    }

    const asA = <T>(fn: () => Promise<T>): Promise<T> => asRequestOf(tenantA, fn);

    async function query(mode: SearchMode, extra: Partial<SearchQuery> = {}): Promise<SearchQuery> {
      const text = 'spare key flowerpot';
      const embedding =
        mode === 'keyword' ? undefined : { vector: (await embedder.embed([text]))[0], model: embedder.model };
      return { text, mode, limit: 10, embedding, ...extra };
    }

    async function expectError(promise: Promise<unknown>, code: MemoryExceptionCode): Promise<MemoryException> {
      const error = await promise.then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(MemoryException);
      expect((error as MemoryException).code).toBe(code);
      return error as MemoryException;
    }

    it("should still serve the request's own tenant (the wall is not a blanket refusal)", async () => {
      const scope = { tenantId: tenantA, userId: `user-${newId()}` };
      const before = subject.crossings.length;
      await asA(async () => {
        const memory = await provider.add(scope, { content: CONTENT });
        expect(await provider.get(scope, memory.id)).toEqual(memory);
        expect((await provider.list(scope, { limit: 10 })).items).toHaveLength(1);
        expect(await provider.search(scope, await query('keyword'))).toHaveLength(1);
      });
      expect(subject.crossings).toHaveLength(before);
    });

    it('should report each refused crossing, naming both tenants', async () => {
      const v = await victim();
      subject.crossings.length = 0;
      await asA(() => provider.get(v.tenantOnly, v.memory.id));
      expect(subject.crossings).toEqual([{ method: 'get', requestTenant: tenantA, scopeTenant: tenantB }]);
    });

    describe('by id', () => {
      for (const [label, scopeOf] of [
        ['', (v: Victim) => v.scope],
        [' with a tenant-only scope', (v: Victim) => v.tenantOnly],
      ] as const) {
        it(`should not return a memory of another tenant from get${label}`, async () => {
          const v = await victim();
          expect(await asA(() => provider.get(scopeOf(v), v.memory.id))).toBeNull();
        });

        it(`should not return a memory of another tenant from getMany${label}`, async () => {
          const v = await victim();
          expect(await asA(() => provider.getMany(scopeOf(v), [v.memory.id]))).toEqual([]);
        });

        it(`should not reveal that a memory of another tenant exists${label}`, async () => {
          const v = await victim();
          expect(await asA(() => provider.exists(scopeOf(v), v.memory.id))).toBe(false);
        });

        it(`should not return the history of a memory of another tenant${label}`, async () => {
          const v = await victim();
          expect(await asA(() => provider.history(scopeOf(v), v.memory.id))).toEqual([]);
        });

        it(`should not update a memory of another tenant${label}`, async () => {
          const v = await victim();
          await expectError(
            asA(() => provider.update(scopeOf(v), v.memory.id, { content: 'hijacked' })),
            MemoryExceptionCode.MEMORY_NOT_FOUND,
          );
          await expectUntouched(v);
        });

        it(`should not delete a memory of another tenant${label}`, async () => {
          const v = await victim();
          await expectError(
            asA(() => provider.delete(scopeOf(v), v.memory.id)),
            MemoryExceptionCode.MEMORY_NOT_FOUND,
          );
          await expectUntouched(v);
        });

        it(`should not delete a memory of another tenant through deleteMany${label}`, async () => {
          const v = await victim();
          expect(await asA(() => provider.deleteMany(scopeOf(v), [v.memory.id]))).toBe(0);
          await expectUntouched(v);
        });

        it(`should not record access to a memory of another tenant${label}`, async () => {
          const v = await victim();
          await asA(() => provider.recordAccess(scopeOf(v), [{ id: v.memory.id, count: 5, at: new Date() }]));
          await expectUntouched(v);
        });

        it(`should not set the embedding of a memory of another tenant${label}`, async () => {
          const v = await victim();
          const [vector] = await embedder.embed(['something else entirely']);
          const embedding = {
            vector,
            model: embedder.model,
            dimensions: vector.length,
            contentHash: v.memory.contentHash,
          };
          expect(await asA(() => provider.setEmbedding(scopeOf(v), v.memory.id, embedding))).toBe('skipped');
          await expectUntouched(v);
        });

        it(`should not mark failed a memory of another tenant${label}`, async () => {
          const v = await victim();
          await asA(() => provider.markFailed(scopeOf(v), v.memory.id, 'sabotage'));
          await expectUntouched(v);
        });
      }

      it('should answer for a memory of another tenant exactly as for an id that does not exist', async () => {
        const v = await victim();
        const own = { tenantId: tenantA, userId: v.scope.userId };
        const missing = newId();
        await asA(async () => {
          expect(await provider.get(v.scope, v.memory.id)).toEqual(await provider.get(own, missing));
          expect(await provider.getMany(v.scope, [v.memory.id])).toEqual(await provider.getMany(own, [missing]));
          expect(await provider.exists(v.scope, v.memory.id)).toEqual(await provider.exists(own, missing));
          expect(await provider.history(v.scope, v.memory.id)).toEqual(await provider.history(own, missing));
          expect(await provider.deleteMany(v.scope, [v.memory.id])).toEqual(await provider.deleteMany(own, [missing]));
          const foreign = await expectError(
            provider.update(v.scope, v.memory.id, { importance: 2 }),
            MemoryExceptionCode.MEMORY_NOT_FOUND,
          );
          const absent = await expectError(
            provider.update(own, v.memory.id, { importance: 2 }),
            MemoryExceptionCode.MEMORY_NOT_FOUND,
          );
          expect(foreign.message).toBe(absent.message);
        });
      });
    });

    describe('by scope and by filter', () => {
      for (const [label, filter] of [
        ['', undefined],
        [' by filter', FILTER],
      ] as const) {
        it(`should not return a memory of another tenant from list${label}`, async () => {
          const v = await victim();
          const page = await asA(() => provider.list(v.scope, { limit: 100, filter }));
          expect(page).toEqual({ items: [], nextCursor: null });
        });

        it(`should not return a memory of another tenant from search${label}`, async () => {
          const v = await victim();
          for (const mode of ['keyword', 'vector', 'hybrid'] as const) {
            expect(await asA(async () => provider.search(v.scope, await query(mode, { filter })))).toEqual([]);
          }
        });

        it(`should not count a memory of another tenant${label}`, async () => {
          const v = await victim();
          expect(await asA(() => provider.count(v.scope, filter))).toBe(0);
        });
      }

      it('should not return the speaker labels of another tenant', async () => {
        const v = await victim();
        expect(await asA(() => provider.speakerLabels(v.scope))).toEqual([]);
        expect(await asRequestOf(tenantB, () => provider.speakerLabels(v.scope))).toEqual(['Mallory']);
      });

      it('should not delete the memories of another tenant by scope (clear)', async () => {
        const v = await victim();
        expect(await asA(() => provider.clear(v.scope))).toBe(0);
        await expectUntouched(v);
      });

      it('should not add a memory into another tenant', async () => {
        const v = await victim();
        await expectError(
          asA(() => provider.add(v.scope, { content: 'planted' })),
          MemoryExceptionCode.FORBIDDEN,
        );
        await expectError(
          asA(() => provider.addMany(v.scope, [{ content: 'planted' }, { content: 'planted too' }])),
          MemoryExceptionCode.FORBIDDEN,
        );
        expect(await asRequestOf(tenantB, () => provider.count(v.scope))).toBe(1);
      });

      it('should not list the pending memories of another tenant for the reconciler', async () => {
        const scopeB = { tenantId: tenantB, userId: `user-${newId()}` };
        const scopeA = { tenantId: tenantA, userId: `user-${newId()}` };
        const pendingB = await asRequestOf(tenantB, () => provider.add(scopeB, { content: 'waiting for a vector' }));
        const pendingA = await asA(() => provider.add(scopeA, { content: 'waiting for a vector' }));
        const future = new Date(Date.now() + 60_000);

        const seenByA = (await asA(() => provider.listPending(future, 100_000))).map((job) => job.memoryId);
        expect(seenByA).toContain(pendingA.id);
        expect(seenByA).not.toContain(pendingB.id);
        // Outside a request (the worker), every live tenant's.
        const seenBySystem = (await provider.listPending(future, 100_000)).map((job) => job.memoryId);
        expect(seenBySystem).toEqual(expect.arrayContaining([pendingA.id, pendingB.id]));
      });
    });

    describe('checks that come before the wall', () => {
      it('should refuse a crossing call without a user, agent or run with SCOPE_REQUIRED, as any other', async () => {
        await expectError(
          asA(() => provider.list({ tenantId: tenantB }, { limit: 10 })),
          MemoryExceptionCode.SCOPE_REQUIRED,
        );
      });

      it('should refuse a crossing call with invalid input as it refuses any other', async () => {
        const v = await victim();
        await expectError(
          asA(() => provider.search(v.scope, { text: 'x', mode: 'vector', limit: 10 })),
          MemoryExceptionCode.VALIDATION_FAILED,
        );
        await expectError(
          asA(() => provider.update(v.scope, v.memory.id, { importance: 99 })),
          MemoryExceptionCode.VALIDATION_FAILED,
        );
      });
    });
  });
}

/** The full cloud stack; `options` shape the Postgres provider under it. */
async function cloudStack(options: PostgresMemoryProviderOptions = {}): Promise<WallSubject> {
  const db = await openCloudTestDatabase();
  const [a, b] = await db.createTenants(2);
  const { appSql, controlSql, hnswDimensions } = db.database;
  const crossings: TenantCrossing[] = [];
  const inner = new PostgresMemoryProvider(appSql, { hnswDimensions, ...options });
  const provider = new CloudMemoryProvider(inner, appSql, {
    currentTenant: requestTenant,
    tenantIds: () => liveTenants(controlSql),
    onCrossing: (crossing) => crossings.push(crossing),
  });
  return {
    provider,
    tenants: [a, b],
    crossings,
    teardown: async () => {
      await provider.close();
      await db.teardown();
    },
  };
}

describeTenantWall('the application wall on the cloud stack', () => cloudStack());

describeTenantWall('the application wall on the cloud stack, every search from a scope copy', () =>
  cloudStack({ scopeIndex: { minRows: 0, minReloadIntervalMs: 0, loadBeforeSearch: true } }),
);

describeTenantWall('the application wall alone, over the reference provider (no row-level security)', async () => {
  const tenants = [asTenantId(newId()), asTenantId(newId())] as const;
  const crossings: TenantCrossing[] = [];
  const provider = new CloudMemoryProvider(
    new LocalMemoryProvider(),
    { withTenant: (_tenantId, fn) => fn() },
    {
      currentTenant: requestTenant,
      tenantIds: async () => tenants,
      onCrossing: (crossing) => crossings.push(crossing),
    },
  );
  return { provider, tenants, crossings, teardown: () => provider.close() };
});
