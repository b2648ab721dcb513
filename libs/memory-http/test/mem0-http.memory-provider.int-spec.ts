import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  asTenantId,
  contentHash,
  MemoryException,
  MemoryExceptionCode,
  newId,
  OSS_TENANT_ID,
  parseFilter,
  type Memory,
  type MemoryProvider,
  type MemoryScope,
  type SearchQuery,
  type TenantId,
} from '@engram/memory-core';
import { Mem0HttpMemoryProvider, type RemoteTenant } from '@engram/memory-http';
import { startRemoteEngrams, type RemoteEngram } from './remote-engram.js';

/**
 * The mem0 dialect (Mem0HttpMemoryProvider, for mem0's platform) held to the MemoryProvider protocol against real
 * Engram servers' `/mem0` routes (built API processes), in both auth modes. The shared contract kit runs on the native
 * dialect (engram-http.memory-provider.contract.int-spec.ts); it cannot run here: mem0's API has no place for
 * importance, memory_type, confidence, categories, search modes or weights, and the kit stores them all. This suite
 * covers every method with the kit's expectations where mem0's API can meet them, and with the documented answer
 * where it cannot.
 *
 * Tenants: the remote is one tenant per key, so each tenant is its own remote server here (the first on PostgreSQL,
 * the second on the local store): the provider maps each TenantId to the credentials (and URL) of its remote.
 */

const TENANT_A = OSS_TENANT_ID;
const TENANT_B = asTenantId('7d3c5e0a-4f1b-4c8e-9a2d-6b5f4e3c2a10');
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const unique = (prefix: string) => `${prefix}-${randomUUID()}`;

async function expectMemoryError(promise: Promise<unknown>, code: MemoryExceptionCode): Promise<MemoryException> {
  let caught: unknown = null;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(MemoryException);
  expect((caught as MemoryException).code).toBe(code);
  return caught as MemoryException;
}

const ids = (items: readonly { id: string }[]) => items.map((item) => item.id);
const hybrid = (text: string, extra: Partial<SearchQuery> = {}): SearchQuery => ({
  text,
  mode: 'hybrid',
  limit: 10,
  // The remote embeds the query itself; the protocol asks for the vector the service computed all the same.
  embedding: { vector: [1, 0, 0], model: 'unused-by-the-remote' },
  ...extra,
});

type AuthMode = 'api key' | 'signed requests';

describe('Mem0HttpMemoryProvider against real Engram servers (mem0 routes)', () => {
  let remoteA: RemoteEngram;
  let remoteB: RemoteEngram;

  beforeAll(async () => {
    [remoteA, remoteB] = await startRemoteEngrams(['postgres'], ['local']);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([remoteA?.stop(), remoteB?.stop()]);
  });

  function providerFor(
    mode: AuthMode,
    overrides: Partial<Record<TenantId, RemoteTenant>> = {},
  ): Mem0HttpMemoryProvider {
    const tenantOf = (remote: RemoteEngram): RemoteTenant =>
      mode === 'api key'
        ? { baseUrl: remote.mem0Url, apiKey: remote.apiKey }
        : { baseUrl: remote.mem0Url, signingSecret: remote.signingSecret };
    return new Mem0HttpMemoryProvider({
      baseUrl: remoteA.mem0Url,
      timeoutMs: 10_000,
      retries: 2,
      tenants: new Map<TenantId, RemoteTenant>([
        [TENANT_A, overrides[TENANT_A] ?? tenantOf(remoteA)],
        [TENANT_B, overrides[TENANT_B] ?? tenantOf(remoteB)],
      ]),
    });
  }

  describe.each<AuthMode>(['api key', 'signed requests'])('with %s', (mode) => {
    let provider: MemoryProvider;
    const scope = (owner: Partial<MemoryScope> = {}): MemoryScope => ({
      tenantId: TENANT_A,
      userId: unique('user'),
      ...owner,
    });

    beforeAll(() => {
      provider = providerFor(mode);
    });

    it('should report the remote healthy, with its latency', async () => {
      const health = await provider.health();
      expect(health).toMatchObject({ ok: true, details: { remote: remoteA.mem0Url } });
      expect(health.latencyMs).toBeGreaterThanOrEqual(0);
    });

    describe('add and get', () => {
      it('should store a memory with the scope and the defaults, and read it back equal', async () => {
        const s = scope({ agentId: 'planner', runId: 'run-1' });
        const memory = await provider.add(s, { content: 'Alice lives in Porto' });
        expect(memory).toMatchObject({
          tenantId: TENANT_A,
          userId: s.userId,
          agentId: 'planner',
          runId: 'run-1',
          namespace: 'default',
          content: 'Alice lives in Porto',
          memoryType: 'fact',
          importance: 5,
          confidence: 1,
          categories: [],
          failureReason: null,
          embedding: null,
          contentHash: contentHash('Alice lives in Porto'),
          accessCount: 0,
          accessedAt: null,
          expiresAt: null,
        });
        // The remote answers an add once the memory is searchable.
        expect(memory.status).toBe('ready');
        expect(memory.id).toMatch(UUID_V7);
        expect(await provider.get(s, memory.id)).toEqual(memory);
        expect(await provider.get({ tenantId: TENANT_A }, memory.id)).toEqual(memory);
      });

      it('should keep the metadata, the namespace and the expiry (as the day it ends)', async () => {
        const s = scope();
        const expiresAt = new Date(Date.now() + 3 * 24 * 60 * 60 * 1000);
        const memory = await provider.add(s, {
          content: 'Prefers window seats',
          metadata: { source: 'chat', nested: { turn: 3 } },
          namespace: 'travel-notes',
          expiresAt,
        });
        expect(memory.metadata).toMatchObject({ source: 'chat', nested: { turn: 3 } });
        expect(memory.namespace).toBe('travel-notes');
        expect(memory.expiresAt?.toISOString()).toBe(`${expiresAt.toISOString().slice(0, 10)}T23:59:59.999Z`);
        expect(await provider.exists({ ...s, namespace: 'travel-notes' }, memory.id)).toBe(true);
        expect(await provider.exists({ ...s, namespace: 'default' }, memory.id)).toBe(false);
      });

      it.each([
        ['importance', { importance: 8 }],
        ['memoryType', { memoryType: 'preference' }],
        ['confidence', { confidence: 0.5 }],
        ['categories', { categories: ['travel'] }],
      ])('should refuse a %s mem0 cannot store, naming it, and store nothing', async (field, extra) => {
        const s = scope();
        const error = await expectMemoryError(
          provider.addMany(s, [{ content: 'fine' }, { content: 'not storable', ...extra }]),
          MemoryExceptionCode.VALIDATION_FAILED,
        );
        expect(error.message).toContain(`memories[1].${field}`);
        expect(await provider.count(s)).toBe(0);
      });

      it.each([
        ['blank content', { content: '  ' }],
        ['importance 11', { content: 'x', importance: 11 }],
      ])('should refuse %s with VALIDATION_FAILED', async (_, input) => {
        const s = scope();
        await expectMemoryError(provider.add(s, input), MemoryExceptionCode.VALIDATION_FAILED);
        expect(await provider.count(s)).toBe(0);
      });

      it('should store a batch in the order given, across different metadata, and accept an empty one', async () => {
        const s = scope();
        const added = await provider.addMany(s, [
          { content: 'one' },
          { content: 'two' },
          { content: 'three', metadata: { pinned: true } },
          { content: 'four' },
        ]);
        expect(added.map((m) => m.content)).toEqual(['one', 'two', 'three', 'four']);
        expect(added[2].metadata).toMatchObject({ pinned: true });
        expect(new Set(ids(added)).size).toBe(4);
        expect(await provider.addMany(s, [])).toEqual([]);
      });

      it('should answer null for an unknown id and a malformed one, and getMany in the order of the ids', async () => {
        const s = scope();
        const [a, b, c] = await provider.addMany(s, [{ content: 'a' }, { content: 'b' }, { content: 'c' }]);
        expect(await provider.get(s, newId())).toBeNull();
        expect(await provider.get(s, 'not-a-uuid')).toBeNull();
        expect(ids(await provider.getMany(s, [c.id, newId(), a.id, 'not-a-uuid', b.id]))).toEqual([c.id, a.id, b.id]);
        expect(await provider.getMany(s, [])).toEqual([]);
      });
    });

    describe('update, delete and history', () => {
      it('should change the content and metadata, and keep the history of both', async () => {
        const s = scope();
        const memory = await provider.add(s, { content: 'likes tea' });
        const updated = await provider.update(s, memory.id, { content: 'likes coffee', metadata: { checked: true } });
        expect(updated).toMatchObject({ id: memory.id, content: 'likes coffee', metadata: { checked: true } });
        expect(updated.contentHash).toBe(contentHash('likes coffee'));
        expect(await provider.get(s, memory.id)).toMatchObject({ content: 'likes coffee' });
        const history = await provider.history(s, memory.id);
        expect(history.map((row) => [row.op, row.oldContent, row.newContent])).toEqual([
          ['ADD', null, 'likes tea'],
          ['UPDATE', 'likes tea', 'likes coffee'],
        ]);
        expect(history[0].at).toBeInstanceOf(Date);
      });

      it('should refuse a patch of a field mem0 cannot store, and an unknown id', async () => {
        const s = scope();
        const memory = await provider.add(s, { content: 'stable' });
        await expectMemoryError(
          provider.update(s, memory.id, { importance: 3 }),
          MemoryExceptionCode.VALIDATION_FAILED,
        );
        await expectMemoryError(provider.update(s, memory.id, { content: '' }), MemoryExceptionCode.VALIDATION_FAILED);
        await expectMemoryError(provider.update(s, newId(), { content: 'x' }), MemoryExceptionCode.MEMORY_NOT_FOUND);
        expect(await provider.get(s, memory.id)).toEqual(memory);
      });

      it('should hide a memory whose expiry an update moves into the past', async () => {
        const s = scope();
        const memory = await provider.add(s, { content: 'revoke me' });
        await provider.update(s, memory.id, { expiresAt: new Date(Date.now() - 2 * 24 * 60 * 60 * 1000) });
        expect(await provider.get(s, memory.id)).toBeNull();
      });

      it('should delete a memory, keep its history, and refuse a second delete', async () => {
        const s = scope();
        const memory = await provider.add(s, { content: 'temporary fact' });
        await provider.delete(s, memory.id);
        expect(await provider.get(s, memory.id)).toBeNull();
        expect(await provider.exists(s, memory.id)).toBe(false);
        // Its owner is no longer known: the tenant's scope reads the history of a deleted memory.
        expect((await provider.history({ tenantId: TENANT_A }, memory.id)).map((row) => row.op)).toEqual([
          'ADD',
          'DELETE',
        ]);
        await expectMemoryError(provider.delete(s, memory.id), MemoryExceptionCode.MEMORY_NOT_FOUND);
        await expectMemoryError(provider.delete(s, newId()), MemoryExceptionCode.MEMORY_NOT_FOUND);
        expect(await provider.history(s, newId())).toEqual([]);
      });

      it('should delete those of the ids that exist and count them', async () => {
        const s = scope();
        const [a, b, c] = await provider.addMany(s, [{ content: 'a' }, { content: 'b' }, { content: 'c' }]);
        expect(await provider.deleteMany(s, [a.id, newId(), b.id, a.id])).toBe(2);
        expect(ids(await provider.getMany(s, [a.id, b.id, c.id]))).toEqual([c.id]);
        expect(await provider.deleteMany(s, [])).toBe(0);
      });

      it('should clear every memory of the scope, in every namespace, and count them', async () => {
        const s = scope();
        await provider.addMany(s, [{ content: 'a' }, { content: 'b', namespace: 'other' }]);
        const kept = await provider.add(scope(), { content: 'somebody else' });
        expect(await provider.clear(s)).toBe(2);
        expect(await provider.count(s)).toBe(0);
        expect(await provider.clear(s)).toBe(0);
        expect(await provider.exists({ tenantId: TENANT_A, userId: kept.userId! }, kept.id)).toBe(true);
      });
    });

    describe('list, count, search and the composed reads', () => {
      it('should list newest first and walk every memory exactly once across pages', async () => {
        const s = scope();
        const added = await provider.addMany(
          s,
          Array.from({ length: 23 }, (_, i) => ({ content: `memory ${i}` })),
        );
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await provider.list(s, { limit: 5, cursor });
          expect(page.items.length).toBeLessThanOrEqual(5);
          seen.push(...ids(page.items));
          cursor = page.nextCursor ?? undefined;
          pages += 1;
        } while (cursor !== undefined && pages < 20);
        expect(pages).toBe(5);
        expect(seen).toEqual(ids(added).reverse());
        expect(await provider.list(scope(), { limit: 10 })).toEqual({ items: [], nextCursor: null });
      });

      it('should not shift a page when a memory is added between pages', async () => {
        const s = scope();
        const added = await provider.addMany(s, [{ content: 'a' }, { content: 'b' }, { content: 'c' }]);
        const first = await provider.list(s, { limit: 2 });
        await provider.add(s, { content: 'newer than all' });
        const second = await provider.list(s, { limit: 2, cursor: first.nextCursor! });
        expect([...ids(first.items), ...ids(second.items)]).toEqual(ids(added).reverse());
      });

      it('should apply a filter to list and count, and refuse a malformed cursor and a zero limit', async () => {
        const s = scope();
        await provider.addMany(s, [{ content: 'a' }, { content: 'b', metadata: { pinned: true } }, { content: 'c' }]);
        const pinned = await provider.list(s, { limit: 10, filter: parseFilter({ 'metadata.pinned': true }) });
        expect(pinned.items.map((m) => m.content)).toEqual(['b']);
        expect(await provider.count(s)).toBe(3);
        expect(await provider.count(s, parseFilter({ content: { in: ['a', 'c'] } }))).toBe(2);
        await expectMemoryError(
          provider.list(s, { limit: 5, cursor: 'not a cursor!' }),
          MemoryExceptionCode.INVALID_CURSOR,
        );
        await expectMemoryError(provider.list(s, { limit: 0 }), MemoryExceptionCode.VALIDATION_FAILED);
      });

      it('should find the memory a query is about, within the limit, threshold and filter', async () => {
        const s = scope();
        const [allergy, music, work] = await provider.addMany(s, [
          { content: 'Severely allergic to peanuts and shellfish', metadata: { topic: 'health' } },
          { content: 'Plays the cello in a string quartet on Sundays', metadata: { topic: 'music' } },
          { content: 'Works as a marine biologist in Lisbon', metadata: { topic: 'work' } },
        ]);
        const [hit] = await provider.search(s, hybrid('allergic to peanuts'));
        expect(hit.memory).toEqual(allergy);
        expect(hit.score).toBeGreaterThan(0);
        expect(hit.score).toBeLessThanOrEqual(1);
        expect((await provider.search(s, hybrid('cello quartet')))[0].memory.id).toBe(music.id);
        expect(await provider.search(s, hybrid('peanuts cello Lisbon', { limit: 2 }))).toHaveLength(2);
        const filtered = await provider.search(
          s,
          hybrid('peanuts cello Lisbon', { filter: parseFilter({ 'metadata.topic': 'work' }) }),
        );
        expect(ids(filtered.map((r) => r.memory))).toEqual([work.id]);
        const all = await provider.search(s, hybrid('peanuts cello Lisbon'));
        const threshold = (all[0].score + all[all.length - 1].score) / 2;
        const kept = await provider.search(s, hybrid('peanuts cello Lisbon', { threshold }));
        expect(kept.length).toBeLessThan(all.length);
        expect(kept.every((r) => r.score >= threshold)).toBe(true);
      });

      it.each<[string, Partial<SearchQuery>]>([
        ['keyword mode', { mode: 'keyword', embedding: undefined }],
        ['vector mode', { mode: 'vector' }],
        ['an importance weight', { importanceWeight: 0.5 }],
        ['a zero limit', { limit: 0 }],
      ])('should refuse a search with %s, which the remote cannot honour', async (_, extra) => {
        await expectMemoryError(
          provider.search(scope(), hybrid('anything', extra)),
          MemoryExceptionCode.VALIDATION_FAILED,
        );
      });

      it('should list the speaker labels of the scope once each', async () => {
        const s = scope();
        await provider.addMany(s, [
          { content: 'Caroline: I went to the support group' },
          { content: 'Caroline: it was lovely' },
          { content: 'Mary Ann: we painted a sunrise' },
          { content: 'Meeting at 10:30 tomorrow' },
        ]);
        expect((await provider.speakerLabels(s)).sort()).toEqual(['Caroline', 'Mary Ann']);
      });

      it("should list a scope's owners, users first, then by id, and page them", async () => {
        const userId = unique('user');
        const [agentA, agentB] = [unique('agent-a'), unique('agent-b')];
        await provider.add({ tenantId: TENANT_A, userId }, { content: 'one' });
        await provider.add({ tenantId: TENANT_A, userId, agentId: agentB }, { content: 'two' });
        await provider.add({ tenantId: TENANT_A, userId, agentId: agentA }, { content: 'three' });
        const page = await provider.owners({ tenantId: TENANT_A, userId }, { limit: 10 });
        expect(page.items.map((o) => [o.kind, o.id, o.memoryCount])).toEqual([
          ['user', userId, 3],
          ['agent', agentA, 1],
          ['agent', agentB, 1],
        ]);
        expect(page.total).toBe(3);
        expect(await provider.owners({ tenantId: TENANT_A, userId }, { limit: 1, offset: 1 })).toMatchObject({
          items: [expect.objectContaining({ id: agentA })],
          total: 3,
        });
        const tenantWide = await provider.owners({ tenantId: TENANT_A }, { limit: 100_000 });
        expect(tenantWide.items).toContainEqual(expect.objectContaining({ kind: 'user', id: userId, memoryCount: 3 }));
        await expectMemoryError(provider.owners(scope(), { limit: 0 }), MemoryExceptionCode.VALIDATION_FAILED);
      });
    });

    describe('what the remote does itself', () => {
      it('should skip vectors computed here, keep no access counts, and have nothing pending or to purge', async () => {
        const s = scope();
        const memory = await provider.add(s, { content: 'embedded by the remote' });
        const embedding = { vector: [0.1, 0.2], model: 'local', dimensions: 2, contentHash: memory.contentHash };
        expect(await provider.setEmbedding(s, memory.id, embedding)).toBe('skipped');
        await expectMemoryError(
          provider.setEmbedding(s, memory.id, { ...embedding, dimensions: 3 }),
          MemoryExceptionCode.VALIDATION_FAILED,
        );
        await provider.markFailed(s, memory.id, 'ignored');
        await provider.recordAccess(s, [{ id: memory.id, count: 2, at: new Date() }]);
        await expectMemoryError(
          provider.recordAccess(s, [{ id: memory.id, count: 0, at: new Date() }]),
          MemoryExceptionCode.VALIDATION_FAILED,
        );
        expect(await provider.get(s, memory.id)).toEqual(memory);
        expect(await provider.listPending(new Date(Date.now() + 60_000), 100)).toEqual([]);
        expect(await provider.purgeExpired(new Date(), 100)).toBe(0);
      });
    });

    describe('scope isolation', () => {
      interface Pair {
        owner: MemoryScope;
        intruder: MemoryScope;
        mine: Memory;
        theirs: Memory;
      }

      const crossings: [string, () => [MemoryScope, MemoryScope]][] = [
        ['user', () => [scope(), scope()]],
        [
          'agent',
          () => [
            { tenantId: TENANT_A, agentId: unique('agent') },
            { tenantId: TENANT_A, agentId: unique('agent') },
          ],
        ],
        [
          'run',
          () => [
            { tenantId: TENANT_A, runId: unique('run') },
            { tenantId: TENANT_A, runId: unique('run') },
          ],
        ],
        [
          'tenant',
          () => {
            const userId = unique('user');
            return [
              { tenantId: TENANT_A, userId },
              { tenantId: TENANT_B, userId },
            ];
          },
        ],
      ];

      describe.each(crossings)('across %ss', (_, scopes) => {
        async function pair(): Promise<Pair> {
          const [owner, intruder] = scopes();
          const mine = await provider.add(owner, { content: 'Keeps a spare key under the blue flowerpot' });
          const theirs = await provider.add(intruder, { content: 'Keeps a spare key under the blue flowerpot' });
          return { owner, intruder, mine, theirs };
        }

        it('should keep reads apart: get, getMany, exists, list, count, search, history', async () => {
          const { owner, intruder, mine, theirs } = await pair();
          expect(await provider.get(intruder, mine.id)).toBeNull();
          expect(await provider.get(intruder, theirs.id)).toEqual(theirs);
          expect(ids(await provider.getMany(intruder, [mine.id, theirs.id]))).toEqual([theirs.id]);
          expect(await provider.exists(intruder, mine.id)).toBe(false);
          expect(ids((await provider.list(intruder, { limit: 100 })).items)).toEqual([theirs.id]);
          expect(await provider.count(intruder)).toBe(1);
          const found = (await provider.search(intruder, hybrid('spare key flowerpot'))).map((r) => r.memory.id);
          expect(found).toEqual([theirs.id]);
          expect(await provider.history(intruder, mine.id)).toEqual([]);
          expect(await provider.history(owner, mine.id)).toHaveLength(1);
        });

        it('should keep writes apart: update, delete, deleteMany and clear', async () => {
          const { owner, intruder, mine } = await pair();
          await expectMemoryError(
            provider.update(intruder, mine.id, { content: 'hijacked' }),
            MemoryExceptionCode.MEMORY_NOT_FOUND,
          );
          await expectMemoryError(provider.delete(intruder, mine.id), MemoryExceptionCode.MEMORY_NOT_FOUND);
          expect(await provider.deleteMany(intruder, [mine.id])).toBe(0);
          expect(await provider.clear(intruder)).toBe(1);
          expect(await provider.get(owner, mine.id)).toEqual(mine);
        });
      });

      it("should keep tenants apart with a scope naming only the tenant (another tenant's id is unknown there)", async () => {
        const owner = scope();
        const mine = await provider.add(owner, { content: 'tenant A only' });
        const otherTenant = { tenantId: TENANT_B };
        expect(await provider.get(otherTenant, mine.id)).toBeNull();
        expect(await provider.history(otherTenant, mine.id)).toEqual([]);
        await expectMemoryError(provider.delete(otherTenant, mine.id), MemoryExceptionCode.MEMORY_NOT_FOUND);
        expect(await provider.get({ tenantId: TENANT_A }, mine.id)).toEqual(mine);
      });

      it('should show a memory to every scope it falls in, and to no other', async () => {
        const [userId, agentId, runId] = [unique('user'), unique('agent'), unique('run')];
        const memory = await provider.add({ tenantId: TENANT_A, userId, agentId, runId }, { content: 'nested' });
        for (const visible of [
          { tenantId: TENANT_A },
          { tenantId: TENANT_A, agentId },
          { tenantId: TENANT_A, userId, agentId, runId },
        ]) {
          expect(await provider.exists(visible, memory.id)).toBe(true);
        }
        const hidden = { tenantId: TENANT_A, userId, agentId: unique('agent') };
        expect(await provider.exists(hidden, memory.id)).toBe(false);
        expect(await provider.count(hidden)).toBe(0);
      });

      it('should refuse calls over many memories without a user, agent or run, and any call without a tenant', async () => {
        await expectMemoryError(
          provider.list({ tenantId: TENANT_A }, { limit: 5 }),
          MemoryExceptionCode.SCOPE_REQUIRED,
        );
        await expectMemoryError(
          provider.add({ tenantId: TENANT_A }, { content: 'x' }),
          MemoryExceptionCode.SCOPE_REQUIRED,
        );
        await expectMemoryError(
          provider.clear({ tenantId: TENANT_A, namespace: 'default' }),
          MemoryExceptionCode.SCOPE_REQUIRED,
        );
        const noTenant = { tenantId: '' as TenantId, userId: unique('user') };
        await expectMemoryError(provider.get(noTenant, newId()), MemoryExceptionCode.SCOPE_REQUIRED);
        await expectMemoryError(provider.count(noTenant), MemoryExceptionCode.SCOPE_REQUIRED);
      });

      it('should refuse a tenant it holds no remote credentials for', async () => {
        const stranger = { tenantId: asTenantId(randomUUID()), userId: unique('user') };
        await expectMemoryError(provider.add(stranger, { content: 'x' }), MemoryExceptionCode.FORBIDDEN);
        await expectMemoryError(provider.get(stranger, newId()), MemoryExceptionCode.FORBIDDEN);
      });
    });
  });

  describe('when the remote refuses the credentials', () => {
    it.each<AuthMode>(['api key', 'signed requests'])(
      'should fail with %s as DEPENDENCY_UNAVAILABLE and report unhealthy',
      async (mode) => {
        const wrong: RemoteTenant =
          mode === 'api key'
            ? { baseUrl: remoteA.mem0Url, apiKey: 'not-the-key' }
            : { baseUrl: remoteA.mem0Url, signingSecret: 'not-the-secret' };
        const provider = providerFor(mode, { [TENANT_A]: wrong });
        const error = await expectMemoryError(
          provider.get({ tenantId: TENANT_A }, newId()),
          MemoryExceptionCode.DEPENDENCY_UNAVAILABLE,
        );
        expect(error.message).toContain('401');
        expect(await provider.health()).toMatchObject({ ok: false });
      },
    );
  });
});
