import { describe, expect, it } from '@jest/globals';
import { newId } from '../../src/ids.js';
import type { Memory } from '../../src/memory.js';
import type { MemoryProvider } from '../../src/memory-provider.js';
import type { MemoryScope } from '../../src/memory-scope.js';
import { MemoryExceptionCode } from '../../src/memory.exception.js';
import type { TenantId } from '../../src/tenant.js';
import { expectMemoryError, ids, resultIds, uniqueName, type ContractHarness } from './contract-harness.js';

type Call = (provider: MemoryProvider, scope: MemoryScope) => Promise<unknown>;

/** Methods over many memories: they refuse a scope without a user, agent or run. */
type ManyMethod = 'add' | 'addMany' | 'search' | 'list' | 'count' | 'speakerLabels' | 'clear';
/** Methods on given ids: the tenant is enough (mem0's `get(memory_id)`); a user, agent or run narrows them. */
/** listPending and purgeExpired serve the system across tenants and take no scope. */
type IdMethod = Exclude<keyof MemoryProvider, ManyMethod | 'health' | 'close' | 'listPending' | 'purgeExpired'>;

// Records, so that the compiler points out a method added to the protocol later.
const MANY_CALLS: Record<ManyMethod, Call> = {
  add: (p, s) => p.add(s, { content: 'unscoped' }),
  addMany: (p, s) => p.addMany(s, [{ content: 'unscoped' }]),
  clear: (p, s) => p.clear(s),
  search: (p, s) => p.search(s, { text: 'anything', mode: 'keyword', limit: 5 }),
  list: (p, s) => p.list(s, { limit: 5 }),
  count: (p, s) => p.count(s),
  speakerLabels: (p, s) => p.speakerLabels(s),
};

const ID_CALLS: Record<IdMethod, Call> = {
  get: (p, s) => p.get(s, newId()),
  getMany: (p, s) => p.getMany(s, [newId()]),
  update: (p, s) => p.update(s, newId(), { importance: 2 }),
  delete: (p, s) => p.delete(s, newId()),
  deleteMany: (p, s) => p.deleteMany(s, [newId()]),
  exists: (p, s) => p.exists(s, newId()),
  history: (p, s) => p.history(s, newId()),
  owners: (p, s) => p.owners(s, { limit: 10 }),
  recordAccess: (p, s) => p.recordAccess(s, [{ id: newId(), count: 1, at: new Date() }]),
  setEmbedding: (p, s) => p.setEmbedding(s, newId(), { vector: [1, 0], model: 'm', dimensions: 2, contentHash: 'h' }),
  setEmbeddings: (p, s) =>
    p.setEmbeddings(s, [{ id: newId(), embedding: { vector: [1, 0], model: 'm', dimensions: 2, contentHash: 'h' } }]),
  markFailed: (p, s) => p.markFailed(s, newId(), 'reason'),
};

interface Crossing {
  /** "another <who>" in the test names. */
  who: string;
  /** Appended to the describe and test names. */
  suffix?: string;
  /** The owner's scope and an intruder's scope that must not see the owner's memories. */
  scopes(tenants: readonly [TenantId, TenantId]): [owner: MemoryScope, intruder: MemoryScope];
  /** The scope the intruder uses for methods on ids, when it differs from its full scope. */
  idScope?(intruder: MemoryScope): MemoryScope;
}

const CROSSINGS: Crossing[] = [
  {
    who: 'user',
    scopes: ([tenant]) => [
      { tenantId: tenant, userId: uniqueName('owner') },
      { tenantId: tenant, userId: uniqueName('intruder') },
    ],
  },
  {
    // The same user id in another tenant: only the tenant tells them apart.
    who: 'tenant',
    scopes: ([tenant, otherTenant]) => {
      const userId = uniqueName('user');
      return [
        { tenantId: tenant, userId },
        { tenantId: otherTenant, userId },
      ];
    },
  },
  {
    // Methods on ids accept a scope naming only the tenant: the tenant alone must still keep them apart.
    who: 'tenant',
    suffix: ' with a tenant-only scope',
    scopes: ([tenant, otherTenant]) => {
      const userId = uniqueName('user');
      return [
        { tenantId: tenant, userId },
        { tenantId: otherTenant, userId },
      ];
    },
    idScope: (intruder) => ({ tenantId: intruder.tenantId }),
  },
  {
    who: 'agent',
    scopes: ([tenant]) => [
      { tenantId: tenant, agentId: uniqueName('agent') },
      { tenantId: tenant, agentId: uniqueName('agent') },
    ],
  },
  {
    who: 'run',
    scopes: ([tenant]) => [
      { tenantId: tenant, runId: uniqueName('run') },
      { tenantId: tenant, runId: uniqueName('run') },
    ],
  },
];

const SHARED_CONTENT = 'Keeps a spare key under the blue flowerpot';

interface Pair {
  owner: MemoryScope;
  /** The intruder's scope for methods over many memories. */
  intruder: MemoryScope;
  /** The intruder's scope for methods on ids. */
  byId: MemoryScope;
  /** The owner's memory, which the intruder must neither see nor change. */
  mine: Memory;
  /** The intruder's own memory with the same content, so an empty answer cannot pass for isolation. */
  theirs: Memory;
}

/** The one owner a crossing's scope names, holding its one memory: what `owners` of that scope lists. */
function ownerEntriesOf(scope: MemoryScope): [string, string, number][] {
  if (scope.userId !== undefined) return [['user', scope.userId, 1]];
  if (scope.agentId !== undefined) return [['agent', scope.agentId, 1]];
  if (scope.runId !== undefined) return [['run', scope.runId, 1]];
  throw new Error('a crossing scope names a user, agent or run');
}

export function describeIsolationContract(h: ContractHarness): void {
  describe('scope isolation', () => {
    for (const crossing of CROSSINGS) {
      const suffix = crossing.suffix ?? '';
      describe(`across ${crossing.who}s${suffix}`, () => {
        const another = `another ${crossing.who}`;
        // A tenant-only scope is for methods on ids; methods over many memories refuse it (tested below).
        const itOverMany = (name: string, test: () => Promise<void>): void => {
          if (!crossing.idScope) it(name, test);
        };

        async function pair(): Promise<Pair> {
          const [owner, intruder] = crossing.scopes(h.tenants);
          const mine = await h.addReady(owner, { content: SHARED_CONTENT, metadata: { owner: 'mine' } });
          await h.provider.update(owner, mine.id, { importance: 6 });
          const theirs = await h.addReady(intruder, { content: SHARED_CONTENT, metadata: { owner: 'theirs' } });
          const byId = crossing.idScope?.(intruder) ?? intruder;
          return { owner, intruder, byId, mine: (await h.provider.get(owner, mine.id))!, theirs };
        }

        /** The owner's memory is still there, exactly as it was. */
        async function expectUntouched({ owner, mine }: Pair): Promise<void> {
          expect(h.stable(await h.provider.get(owner, mine.id))).toEqual(h.stable(mine));
        }

        it(`should not return a memory of ${another} from get${suffix}`, async () => {
          const { byId, mine, theirs } = await pair();
          expect(await h.provider.get(byId, mine.id)).toBeNull();
          expect(await h.provider.get(byId, theirs.id)).not.toBeNull();
        });

        it(`should not return a memory of ${another} from getMany${suffix}`, async () => {
          const { byId, mine, theirs } = await pair();
          expect(ids(await h.provider.getMany(byId, [mine.id, theirs.id]))).toEqual([theirs.id]);
        });

        itOverMany(`should not return a memory of ${another} from list${suffix}`, async () => {
          const { intruder, theirs } = await pair();
          expect(ids((await h.provider.list(intruder, { limit: 100 })).items)).toEqual([theirs.id]);
        });

        itOverMany(`should not return a memory of ${another} from search${suffix}`, async () => {
          const { intruder, mine, theirs } = await pair();
          for (const mode of ['keyword', 'vector', 'hybrid'] as const) {
            const found = resultIds(await h.provider.search(intruder, await h.query('spare key flowerpot', mode)));
            expect(found).not.toContain(mine.id);
            expect(found).toContain(theirs.id);
          }
        });

        itOverMany(`should not count a memory of ${another}${suffix}`, async () => {
          const { intruder } = await pair();
          expect(await h.provider.count(intruder)).toBe(1);
        });

        itOverMany(`should not reveal the speaker labels of ${another}'s memories${suffix}`, async () => {
          const { owner, intruder } = await pair();
          await h.provider.add(owner, { content: 'Mallory: the safe code is 4711' });
          await h.provider.add(intruder, { content: 'Trent: nothing to hide' });
          expect(await h.provider.speakerLabels(intruder)).toEqual(['Trent']);
          expect(await h.provider.speakerLabels(owner)).toEqual(['Mallory']);
        });

        itOverMany(`should not list the owners of ${another}'s memories${suffix}`, async () => {
          const { intruder } = await pair();
          const page = await h.provider.owners(intruder, { limit: 100 });
          expect(page.items.map((o) => [o.kind, o.id, o.memoryCount])).toEqual(ownerEntriesOf(intruder));
          expect(page.total).toBe(1);
        });

        it(`should not return a memory of ${another} from exists${suffix}`, async () => {
          const { byId, mine, theirs } = await pair();
          expect(await h.provider.exists(byId, mine.id)).toBe(false);
          expect(await h.provider.exists(byId, theirs.id)).toBe(true);
        });

        it(`should not return the history of a memory of ${another}${suffix}`, async () => {
          const { owner, byId, mine } = await pair();
          expect(await h.provider.history(byId, mine.id)).toEqual([]);
          expect(await h.provider.history(owner, mine.id)).toHaveLength(2);
          await h.provider.delete(owner, mine.id);
          expect(await h.provider.history(byId, mine.id)).toEqual([]);
        });

        it(`should not update a memory of ${another}${suffix}`, async () => {
          const p = await pair();
          await expectMemoryError(
            h.provider.update(p.byId, p.mine.id, { content: 'hijacked' }),
            MemoryExceptionCode.MEMORY_NOT_FOUND,
          );
          await expectUntouched(p);
        });

        it(`should not delete a memory of ${another}${suffix}`, async () => {
          const p = await pair();
          await expectMemoryError(h.provider.delete(p.byId, p.mine.id), MemoryExceptionCode.MEMORY_NOT_FOUND);
          await expectUntouched(p);
        });

        it(`should not delete a memory of ${another} through deleteMany${suffix}`, async () => {
          const p = await pair();
          expect(await h.provider.deleteMany(p.byId, [p.mine.id])).toBe(0);
          await expectUntouched(p);
        });

        itOverMany(`should not clear a memory of ${another}${suffix}`, async () => {
          const p = await pair();
          expect(await h.provider.clear(p.intruder)).toBe(1);
          await expectUntouched(p);
        });

        h.itWorkerSide(`should not record access to a memory of ${another}${suffix}`, async () => {
          const p = await pair();
          await h.provider.recordAccess(p.byId, [{ id: p.mine.id, count: 1, at: new Date() }]);
          await expectUntouched(p);
        });

        h.itWorkerSide(`should not set the embedding of a memory of ${another}${suffix}`, async () => {
          const p = await pair();
          const vector = await h.embed('something else entirely');
          const result = await h.provider.setEmbedding(p.byId, p.mine.id, {
            vector,
            model: h.embedder.model,
            dimensions: vector.length,
            contentHash: p.mine.contentHash,
          });
          expect(result).toBe('skipped');
          await expectUntouched(p);
        });

        h.itWorkerSide(`should not set, in a batch, the embedding of a memory of ${another}${suffix}`, async () => {
          const p = await pair();
          const vector = await h.embed('something else entirely');
          const results = await h.provider.setEmbeddings(p.byId, [
            {
              id: p.mine.id,
              embedding: {
                vector,
                model: h.embedder.model,
                dimensions: vector.length,
                contentHash: p.mine.contentHash,
              },
            },
          ]);
          expect(results).toEqual(['skipped']);
          await expectUntouched(p);
        });

        h.itWorkerSide(`should not mark failed a memory of ${another}${suffix}`, async () => {
          const p = await pair();
          await h.provider.markFailed(p.byId, p.mine.id, 'sabotage');
          await expectUntouched(p);
        });
      });
    }

    describe('narrower scopes', () => {
      it('should show a memory to every scope it falls in, and to no other', async () => {
        const userId = uniqueName('user');
        const agentId = uniqueName('agent');
        const runId = uniqueName('run');
        const [tenant] = h.tenants;
        const memory = await h.provider.add({ tenantId: tenant, userId, agentId, runId }, { content: 'nested' });

        const visible: MemoryScope[] = [
          { tenantId: tenant },
          { tenantId: tenant, userId },
          { tenantId: tenant, agentId },
          { tenantId: tenant, runId },
          { tenantId: tenant, userId, agentId, runId },
          { tenantId: tenant, userId, namespace: memory.namespace },
        ];
        const hidden: MemoryScope[] = [
          { tenantId: tenant, userId, agentId: uniqueName('agent') },
          { tenantId: tenant, userId, runId: uniqueName('run') },
          { tenantId: tenant, userId, namespace: 'some-other-namespace' },
        ];
        for (const scope of visible) expect(await h.provider.exists(scope, memory.id)).toBe(true);
        for (const scope of hidden) {
          expect(await h.provider.exists(scope, memory.id)).toBe(false);
          expect(await h.provider.count(scope)).toBe(0);
        }
      });
    });

    describe('calls without a user, agent or run', () => {
      for (const [method, call] of Object.entries(MANY_CALLS)) {
        it(`should refuse ${method} without a user, agent or run with SCOPE_REQUIRED`, async () => {
          const [tenant] = h.tenants;
          await expectMemoryError(call(h.provider, { tenantId: tenant }), MemoryExceptionCode.SCOPE_REQUIRED);
          await expectMemoryError(
            call(h.provider, { tenantId: tenant, namespace: 'default' }),
            MemoryExceptionCode.SCOPE_REQUIRED,
          );
        });
      }

      it('should read a memory by id with a scope naming only its tenant', async () => {
        const owner = h.scope();
        const memory = await h.addReady(owner, 'Reachable by id');
        const tenantOnly = { tenantId: owner.tenantId };

        expect(h.stable(await h.provider.get(tenantOnly, memory.id))).toEqual(h.stable(memory));
        expect(ids(await h.provider.getMany(tenantOnly, [memory.id]))).toEqual([memory.id]);
        expect(await h.provider.exists(tenantOnly, memory.id)).toBe(true);
        expect(await h.provider.history(tenantOnly, memory.id)).toEqual(await h.provider.history(owner, memory.id));
      });

      it('should change a memory by id with a scope naming only its tenant', async () => {
        const owner = h.scope();
        const [memory, other] = await h.provider.addMany(owner, [{ content: 'first' }, { content: 'second' }]);
        const tenantOnly = { tenantId: owner.tenantId };

        const updated = await h.provider.update(tenantOnly, memory.id, { content: 'first, edited', importance: 8 });
        expect(await h.provider.get(owner, memory.id)).toMatchObject({ content: updated.content, importance: 8 });
        await h.provider.delete(tenantOnly, memory.id);
        expect(await h.provider.deleteMany(tenantOnly, [other.id])).toBe(1);
        expect(await h.provider.count(owner)).toBe(0);
      });

      h.itWorkerSide('should run the worker side by id with a scope naming only its tenant', async () => {
        const owner = h.scope();
        const memory = await h.provider.add(owner, { content: 'first' });
        const tenantOnly = { tenantId: owner.tenantId };

        await h.makeReady(tenantOnly, memory);
        await h.provider.recordAccess(tenantOnly, [{ id: memory.id, count: 1, at: new Date() }]);
        expect(await h.provider.get(owner, memory.id)).toMatchObject({ status: 'ready', accessCount: 1 });
        const updated = await h.provider.update(tenantOnly, memory.id, { content: 'first, edited' });
        await h.provider.markFailed(tenantOnly, memory.id, 'gave up');
        expect(await h.provider.get(owner, memory.id)).toMatchObject({ content: updated.content, status: 'failed' });
      });
    });

    describe('calls without a tenant', () => {
      for (const [method, call] of Object.entries({ ...MANY_CALLS, ...ID_CALLS })) {
        it(`should refuse ${method} without a tenant with SCOPE_REQUIRED`, async () => {
          await expectMemoryError(
            call(h.provider, { tenantId: '' as TenantId, userId: uniqueName('user') }),
            MemoryExceptionCode.SCOPE_REQUIRED,
          );
        });
      }
    });
  });
}
