import { describe, expect, it } from '@jest/globals';
import { parseFilter } from '../../src/filters/filter.parser.js';
import { newId } from '../../src/ids.js';
import { MemoryExceptionCode } from '../../src/memory.exception.js';
import type { Memory } from '../../src/memory.js';
import { expectMemoryError, ids, sleep, uniqueName, type ContractHarness } from './contract-harness.js';

/** list, count, exists, speakerLabels, recordAccess, the embedding pipeline's writes, expiry and health. */
export function describeReadContract(h: ContractHarness): void {
  describe('owners', () => {
    it('should list the users, agents and runs of a scope with their memories, users first, then by id', async () => {
      const [tenantId] = h.tenants;
      const userId = uniqueName('user');
      const [agentA, agentB, runId] = [uniqueName('agent-a'), uniqueName('agent-b'), uniqueName('run')];
      await h.provider.add({ tenantId, userId }, { content: 'one' });
      await h.provider.add({ tenantId, userId }, { content: 'two' });
      await h.provider.add({ tenantId, userId, agentId: agentB }, { content: 'three' });
      await h.provider.add({ tenantId, userId, agentId: agentA, runId }, { content: 'four' });

      const page = await h.provider.owners({ tenantId, userId }, { limit: 10 });
      expect(page.items.map((o) => [o.kind, o.id, o.memoryCount])).toEqual([
        ['user', userId, 4],
        ['agent', agentA, 1],
        ['agent', agentB, 1],
        ['run', runId, 1],
      ]);
      expect(page.total).toBe(4);
      for (const owner of page.items) {
        expect(owner.firstAt).toBeInstanceOf(Date);
        expect(owner.lastAt.getTime()).toBeGreaterThanOrEqual(owner.firstAt.getTime());
      }
      // An agent's own scope shows the agent and whoever shares its memories.
      const ofAgent = await h.provider.owners({ tenantId, agentId: agentA }, { limit: 10 });
      expect(ofAgent.items.map((o) => [o.kind, o.id])).toEqual([
        ['user', userId],
        ['agent', agentA],
        ['run', runId],
      ]);
    });

    it('should page by limit and offset, and report the total past the end', async () => {
      const [tenantId] = h.tenants;
      const userId = uniqueName('user');
      const agents = ['a', 'b', 'c'].map((letter) => `${letter}-${uniqueName('agent')}`);
      for (const agentId of agents) await h.provider.add({ tenantId, userId, agentId }, { content: agentId });

      const middle = await h.provider.owners({ tenantId, userId }, { limit: 2, offset: 1 });
      expect(middle.items.map((o) => o.id)).toEqual(agents.slice(0, 2));
      expect(middle.total).toBe(4);
      expect(await h.provider.owners({ tenantId, userId }, { limit: 2, offset: 10 })).toEqual({ items: [], total: 4 });
    });

    it('should forget an owner once its memories are deleted', async () => {
      const scope = h.scope();
      const memory = await h.provider.add(scope, { content: 'short-lived' });
      await h.provider.delete(scope, memory.id);
      expect(await h.provider.owners(scope, { limit: 10 })).toEqual({ items: [], total: 0 });
    });

    it('should refuse a zero limit and a negative offset', async () => {
      await expectMemoryError(h.provider.owners(h.scope(), { limit: 0 }), MemoryExceptionCode.VALIDATION_FAILED);
      await expectMemoryError(
        h.provider.owners(h.scope(), { limit: 5, offset: -1 }),
        MemoryExceptionCode.VALIDATION_FAILED,
      );
    });
  });

  describe('list', () => {
    it('should list newest first', async () => {
      const scope = h.scope();
      const first = await h.provider.add(scope, { content: 'first' });
      const second = await h.provider.add(scope, { content: 'second' });
      const third = await h.provider.add(scope, { content: 'third' });
      const page = await h.provider.list(scope, { limit: 10 });
      expect(ids(page.items)).toEqual([third.id, second.id, first.id]);
      expect(page.nextCursor).toBeNull();
    });

    it('should walk every memory exactly once across pages', async () => {
      const scope = h.scope();
      const added = await h.provider.addMany(
        scope,
        Array.from({ length: 23 }, (_, i) => ({ content: `memory ${i}` })),
      );
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await h.provider.list(scope, { limit: 5, cursor });
        expect(page.items.length).toBeLessThanOrEqual(5);
        seen.push(...ids(page.items));
        cursor = page.nextCursor ?? undefined;
        pages += 1;
      } while (cursor !== undefined && pages < 20);

      expect(pages).toBe(5);
      expect(seen).toHaveLength(23);
      expect(new Set(seen)).toEqual(new Set(ids(added)));
      expect(seen).toEqual(ids(added).reverse());
    });

    it('should end with a null cursor when a page holds exactly the rest', async () => {
      const scope = h.scope();
      await h.provider.addMany(scope, [{ content: 'a' }, { content: 'b' }, { content: 'c' }, { content: 'd' }]);
      const first = await h.provider.list(scope, { limit: 2 });
      expect(first.nextCursor).not.toBeNull();
      const second = await h.provider.list(scope, { limit: 2, cursor: first.nextCursor! });
      expect(second.items).toHaveLength(2);
      expect(second.nextCursor).toBeNull();
    });

    it('should return an empty page for an empty scope', async () => {
      expect(await h.provider.list(h.scope(), { limit: 10 })).toEqual({ items: [], nextCursor: null });
    });

    it('should apply a filter', async () => {
      const scope = h.scope();
      const [, keep] = await h.provider.addMany(scope, [
        { content: 'a', importance: 2 },
        { content: 'b', importance: 8 },
        { content: 'c', importance: 1, metadata: { pinned: true } },
      ]);
      const page = await h.provider.list(scope, { limit: 10, filter: parseFilter({ importance: { gt: 5 } }) });
      expect(ids(page.items)).toEqual([keep.id]);
      const pinned = await h.provider.list(scope, { limit: 10, filter: parseFilter({ 'metadata.pinned': true }) });
      expect(pinned.items.map((memory) => memory.content)).toEqual(['c']);
    });

    it.each(['not a cursor!', Buffer.from('hello world').toString('base64url')])(
      'should refuse the malformed cursor %p with INVALID_CURSOR',
      async (cursor) => {
        await expectMemoryError(h.provider.list(h.scope(), { limit: 5, cursor }), MemoryExceptionCode.INVALID_CURSOR);
      },
    );

    it('should refuse a zero limit', async () => {
      await expectMemoryError(h.provider.list(h.scope(), { limit: 0 }), MemoryExceptionCode.VALIDATION_FAILED);
    });
  });

  describe('count and exists', () => {
    it('should count the memories of the scope, with or without a filter', async () => {
      const scope = h.scope();
      expect(await h.provider.count(scope)).toBe(0);
      await h.provider.addMany(scope, [
        { content: 'a', memoryType: 'preference' },
        { content: 'b' },
        { content: 'c', memoryType: 'preference' },
      ]);
      expect(await h.provider.count(scope)).toBe(3);
      expect(await h.provider.count(scope, parseFilter({ memory_type: 'preference' }))).toBe(2);
    });

    it('should tell whether a memory exists', async () => {
      const scope = h.scope();
      const memory = await h.provider.add(scope, { content: 'here' });
      expect(await h.provider.exists(scope, memory.id)).toBe(true);
      expect(await h.provider.exists(scope, newId())).toBe(false);
      expect(await h.provider.exists(scope, 'not-a-uuid')).toBe(false);
      await h.provider.delete(scope, memory.id);
      expect(await h.provider.exists(scope, memory.id)).toBe(false);
    });
  });

  describe('speakerLabels', () => {
    const sorted = (labels: string[]): string[] => [...labels].sort();

    it('should list each speaker label of the scope once, as written', async () => {
      const scope = h.scope();
      const [, , , pending] = await h.provider.addMany(scope, [
        { content: 'Caroline: I went to the support group' },
        { content: 'Caroline: it was lovely' },
        { content: '  Mary Ann: we painted a sunrise' },
        { content: 'Élodie: bonjour' },
        { content: 'Meeting at 10:30 tomorrow' },
        { content: 'https://example.com: a link' },
        { content: 'Note:no space after the colon' },
        { content: 'A label much longer than forty characters in all: text' },
        { content: 'first line\nBob: second line' },
        { content: 'No label here' },
      ]);
      await h.makeReady(scope, pending);
      expect(sorted(await h.provider.speakerLabels(scope))).toEqual(sorted(['Caroline', 'Mary Ann', 'Élodie']));
    });

    it('should follow updates and deletions, and answer an empty list for a scope without labels', async () => {
      const scope = h.scope();
      expect(await h.provider.speakerLabels(scope)).toEqual([]);
      const [renamed, deleted] = await h.provider.addMany(scope, [
        { content: 'Melanie: I ran a charity race' },
        { content: 'Bob: see you' },
        { content: 'no label at all' },
      ]);
      await h.provider.update(scope, renamed.id, { content: 'Dora: I ran a charity race' });
      await h.provider.delete(scope, deleted.id);
      expect(await h.provider.speakerLabels(scope)).toEqual(['Dora']);
    });

    it('should leave out the labels of expired memories', async () => {
      const scope = h.scope();
      await h.provider.addMany(scope, [
        { content: 'Gone: an expired message', expiresAt: new Date(Date.now() - 1_000) },
        { content: 'Kept: a live one' },
      ]);
      expect(await h.provider.speakerLabels(scope)).toEqual(['Kept']);
    });
  });

  h.describeWorkerSide('recordAccess', () => {
    it('should add the counts and set accessedAt of the ids given, and only those', async () => {
      const scope = h.scope();
      const [a, b] = await h.provider.addMany(scope, [{ content: 'a' }, { content: 'b' }]);
      const first = new Date(Date.now() - 60_000);
      const second = new Date();
      await h.provider.recordAccess(scope, [
        { id: a.id, count: 3, at: first },
        { id: newId(), count: 1, at: first },
        { id: 'not-a-uuid', count: 1, at: first },
      ]);
      await h.provider.recordAccess(scope, [{ id: a.id, count: 1, at: second }]);

      expect(await h.provider.get(scope, a.id)).toMatchObject({ accessCount: 4, accessedAt: second });
      expect(await h.provider.get(scope, b.id)).toMatchObject({ accessCount: 0, accessedAt: null });
    });

    it('should count an id listed twice twice, and keep its latest time', async () => {
      const scope = h.scope();
      const memory = await h.provider.add(scope, { content: 'twice' });
      const early = new Date(Date.now() - 60_000);
      const late = new Date();
      await h.provider.recordAccess(scope, [
        { id: memory.id, count: 1, at: late },
        { id: memory.id, count: 2, at: early },
      ]);
      expect(await h.provider.get(scope, memory.id)).toMatchObject({ accessCount: 3, accessedAt: late });
    });

    it('should never move accessedAt back when an older flush arrives late', async () => {
      const scope = h.scope();
      const memory = await h.provider.add(scope, { content: 'late flush' });
      const late = new Date();
      await h.provider.recordAccess(scope, [{ id: memory.id, count: 1, at: late }]);
      await h.provider.recordAccess(scope, [{ id: memory.id, count: 1, at: new Date(late.getTime() - 60_000) }]);
      expect(await h.provider.get(scope, memory.id)).toMatchObject({ accessCount: 2, accessedAt: late });
    });

    it('should refuse an access with a count below 1 or an invalid time', async () => {
      const scope = h.scope();
      const memory = await h.provider.add(scope, { content: 'refused' });
      await expectMemoryError(
        h.provider.recordAccess(scope, [{ id: memory.id, count: 0, at: new Date() }]),
        MemoryExceptionCode.VALIDATION_FAILED,
      );
      await expectMemoryError(
        h.provider.recordAccess(scope, [{ id: memory.id, count: 1, at: new Date('nope') }]),
        MemoryExceptionCode.VALIDATION_FAILED,
      );
      expect(await h.provider.get(scope, memory.id)).toMatchObject({ accessCount: 0, accessedAt: null });
    });
  });

  h.describeWorkerSide('embedding pipeline', () => {
    it('should make a pending memory ready with the vector of the embedder', async () => {
      const scope = h.scope();
      const memory = await h.provider.add(scope, { content: 'Speaks fluent Japanese' });
      const vector = await h.embed(memory.content);
      const result = await h.provider.setEmbedding(scope, memory.id, {
        vector,
        model: h.embedder.model,
        dimensions: h.embedder.dimensions,
        contentHash: memory.contentHash,
      });

      expect(result).toBe('written');
      const ready = await h.provider.get(scope, memory.id);
      expect(ready).toMatchObject({
        status: 'ready',
        embeddingModel: h.embedder.model,
        embeddingDimensions: h.embedder.dimensions,
        failureReason: null,
      });
      expect(ready?.embedding).toHaveLength(h.embedder.dimensions);
      ready?.embedding?.forEach((x, i) => expect(x).toBeCloseTo(vector[i], 5));
    });

    it('should skip a stale embedding: the content changed after the job was queued', async () => {
      const scope = h.scope();
      const memory = await h.provider.add(scope, { content: 'old content' });
      await h.provider.update(scope, memory.id, { content: 'new content' });
      const vector = await h.embed(memory.content);
      const result = await h.provider.setEmbedding(scope, memory.id, {
        vector,
        model: h.embedder.model,
        dimensions: vector.length,
        contentHash: memory.contentHash,
      });

      expect(result).toBe('skipped');
      expect(await h.provider.get(scope, memory.id)).toMatchObject({ status: 'pending', embedding: null });
    });

    it('should skip the embedding of a deleted or unknown memory', async () => {
      const scope = h.scope();
      const memory = await h.provider.add(scope, { content: 'gone soon' });
      await h.provider.delete(scope, memory.id);
      const vector = await h.embed(memory.content);
      const embedding = { vector, model: h.embedder.model, dimensions: vector.length, contentHash: memory.contentHash };
      expect(await h.provider.setEmbedding(scope, memory.id, embedding)).toBe('skipped');
      expect(await h.provider.setEmbedding(scope, newId(), embedding)).toBe('skipped');
    });

    it('should write a batch of vectors in one call, each under its own content check, results in order', async () => {
      const scope = h.scope();
      const [kept, changed, deleted, other] = await h.provider.addMany(scope, [
        { content: 'Plays the cello' },
        { content: 'Lives in Lisbon' },
        { content: 'Owns a kayak' },
        { content: 'Collects stamps' },
      ]);
      await h.provider.update(scope, changed.id, { content: 'Lives in Porto' });
      await h.provider.delete(scope, deleted.id);
      const write = async (memory: Memory) => {
        const vector = await h.embed(memory.content);
        const embedding = {
          vector,
          model: h.embedder.model,
          dimensions: vector.length,
          contentHash: memory.contentHash,
        };
        return { id: memory.id, embedding };
      };
      const writes = [await write(kept), await write(changed), await write(deleted), await write(other)];
      const unknown = { ...writes[0], id: newId() };

      // The batch names the tenant only, as the pipeline's does: ids are unique within a tenant.
      const results = await h.provider.setEmbeddings({ tenantId: scope.tenantId }, [...writes, unknown]);

      expect(results).toEqual(['written', 'skipped', 'skipped', 'written', 'skipped']);
      expect(await h.provider.get(scope, kept.id)).toMatchObject({ status: 'ready', embeddingModel: h.embedder.model });
      expect(await h.provider.get(scope, other.id)).toMatchObject({ status: 'ready' });
      expect(await h.provider.get(scope, changed.id)).toMatchObject({ status: 'pending', embedding: null });
    });

    it('should write nothing of a batch with one invalid embedding', async () => {
      const scope = h.scope();
      const [a, b] = await h.provider.addMany(scope, [{ content: 'first' }, { content: 'second' }]);
      const vector = await h.embed('first');
      const good = { vector, model: h.embedder.model, dimensions: vector.length, contentHash: a.contentHash };
      await expectMemoryError(
        h.provider.setEmbeddings(scope, [
          { id: a.id, embedding: good },
          { id: b.id, embedding: { ...good, contentHash: b.contentHash, dimensions: vector.length + 1 } },
        ]),
        MemoryExceptionCode.VALIDATION_FAILED,
      );
      expect(await h.provider.get(scope, a.id)).toMatchObject({ status: 'pending' });
      expect(await h.provider.setEmbeddings(scope, [])).toEqual([]);
    });

    it('should refuse a vector whose length is not its dimensions', async () => {
      const scope = h.scope();
      const memory = await h.provider.add(scope, { content: 'mismatch' });
      const vector = await h.embed(memory.content);
      await expectMemoryError(
        h.provider.setEmbedding(scope, memory.id, {
          vector,
          model: h.embedder.model,
          dimensions: vector.length + 1,
          contentHash: memory.contentHash,
        }),
        MemoryExceptionCode.VALIDATION_FAILED,
      );
    });

    it('should mark a memory failed with the reason, and let a later embedding make it ready', async () => {
      const scope = h.scope();
      const memory = await h.provider.add(scope, { content: 'hard to embed' });
      await h.provider.markFailed(scope, memory.id, 'embedding endpoint returned 500');
      expect(await h.provider.get(scope, memory.id)).toMatchObject({
        status: 'failed',
        failureReason: 'embedding endpoint returned 500',
      });

      const ready = await h.makeReady(scope, memory);
      expect(ready).toMatchObject({ status: 'ready', failureReason: null });
    });

    it('should ignore markFailed for a memory that is gone', async () => {
      await expect(h.provider.markFailed(h.scope(), newId(), 'whatever')).resolves.toBeUndefined();
    });

    it('should list pending memories for the reconciler, and only pending ones', async () => {
      const scope = h.scope();
      const [pending, ready, failed] = await h.provider.addMany(scope, [
        { content: 'still pending' },
        { content: 'embedded already' },
        { content: 'given up on' },
      ]);
      await h.makeReady(scope, ready);
      await h.provider.markFailed(scope, failed.id, 'no');
      const future = new Date(Date.now() + 60_000);
      const jobs = await h.provider.listPending(future, 100_000);
      const mine = jobs.filter((job) => [pending.id, ready.id, failed.id].includes(job.memoryId));
      expect(mine).toEqual([
        {
          tenantId: scope.tenantId,
          memoryId: pending.id,
          userId: scope.userId,
          agentId: null,
          runId: null,
          contentHash: pending.contentHash,
        },
      ]);
      const past = new Date(pending.updatedAt.getTime() - 1);
      expect((await h.provider.listPending(past, 100_000)).some((job) => job.memoryId === pending.id)).toBe(false);
    });
  });

  describe('expiry', () => {
    it('should never return an expired memory from any read', async () => {
      const scope = h.scope();
      const expired = await h.provider.add(scope, {
        content: 'expired flamingo',
        expiresAt: new Date(Date.now() - 1_000),
      });

      expect(await h.provider.get(scope, expired.id)).toBeNull();
      expect(await h.provider.getMany(scope, [expired.id])).toEqual([]);
      expect(await h.provider.exists(scope, expired.id)).toBe(false);
      expect(await h.provider.count(scope)).toBe(0);
      expect((await h.provider.list(scope, { limit: 10 })).items).toEqual([]);
      expect(await h.provider.search(scope, await h.query('flamingo', 'keyword'))).toEqual([]);
      await expectMemoryError(
        h.provider.update(scope, expired.id, { importance: 2 }),
        MemoryExceptionCode.MEMORY_NOT_FOUND,
      );
    });

    it('should hide a memory once its expiry passes', async () => {
      const scope = h.scope();
      const memory = await h.addReady(scope, {
        content: 'short lived pelican',
        expiresAt: new Date(Date.now() + 1_000),
      });
      expect(await h.provider.exists(scope, memory.id)).toBe(true);
      await sleep(1_200);
      expect(await h.provider.get(scope, memory.id)).toBeNull();
      expect(await h.provider.search(scope, await h.query('pelican', 'hybrid'))).toEqual([]);
      expect(await h.provider.count(scope)).toBe(0);
    });

    it('should expire a memory whose expiry an update moves into the past', async () => {
      const scope = h.scope();
      const memory = await h.provider.add(scope, { content: 'revoke me' });
      await h.provider.update(scope, memory.id, { expiresAt: new Date(Date.now() - 1) });
      expect(await h.provider.get(scope, memory.id)).toBeNull();
    });
  });

  describe('health', () => {
    it('should report itself healthy with its latency', async () => {
      const health = await h.provider.health();
      expect(health.ok).toBe(true);
      expect(health.latencyMs).toBeGreaterThanOrEqual(0);
    });
  });
}
