import { describe, expect, it } from '@jest/globals';
import { contentHash } from '../../src/content-hash.js';
import { newId } from '../../src/ids.js';
import { DEFAULT_MEMORY_TYPE, DEFAULT_NAMESPACE, type NewMemory } from '../../src/memory.js';
import { MemoryExceptionCode } from '../../src/memory.exception.js';
import { expectMemoryError, ids, type ContractHarness } from './contract-harness.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const INVALID_MEMORIES: [string, NewMemory][] = [
  ['empty content', { content: '' }],
  ['blank content', { content: '   \n' }],
  ['importance 0', { content: 'x', importance: 0 }],
  ['importance 11', { content: 'x', importance: 11 }],
  ['fractional importance', { content: 'x', importance: 5.5 }],
  ['negative confidence', { content: 'x', confidence: -0.1 }],
  ['confidence above 1', { content: 'x', confidence: 1.5 }],
  ['NaN confidence', { content: 'x', confidence: Number.NaN }],
];

/** add, addMany, get, getMany, update, delete, deleteMany, clear and the history they leave. */
export function describeWriteContract(h: ContractHarness): void {
  describe('add', () => {
    it('should store a pending memory with the defaults', async () => {
      const scope = h.scope();
      const before = Date.now();
      const memory = await h.provider.add(scope, { content: 'Alice lives in Porto' });

      expect(memory).toMatchObject({
        tenantId: scope.tenantId,
        userId: scope.userId,
        agentId: null,
        runId: null,
        namespace: DEFAULT_NAMESPACE,
        content: 'Alice lives in Porto',
        memoryType: DEFAULT_MEMORY_TYPE,
        importance: 5,
        confidence: 1,
        metadata: {},
        categories: [],
        status: 'pending',
        failureReason: null,
        embedding: null,
        embeddingModel: null,
        embeddingDimensions: null,
        contentHash: contentHash('Alice lives in Porto'),
        accessedAt: null,
        accessCount: 0,
        expiresAt: null,
      });
      expect(memory.id).toMatch(UUID_V7);
      expect(memory.createdAt).toBeInstanceOf(Date);
      expect(memory.createdAt.getTime()).toBeGreaterThanOrEqual(before - 5_000);
      expect(memory.updatedAt.getTime()).toBe(memory.createdAt.getTime());
      expect(h.stable(await h.provider.get(scope, memory.id))).toEqual(h.stable(memory));
    });

    it('should keep every field the caller gives', async () => {
      const scope = h.scope();
      const expiresAt = new Date(Date.now() + 24 * 60 * 60 * 1000);
      const memory = await h.provider.add(scope, {
        content: 'Alice prefers window seats',
        memoryType: 'preference',
        importance: 8,
        confidence: 0.6,
        metadata: { source: 'chat', nested: { turn: 3, tags: ['travel'] } },
        categories: ['travel', 'seating'],
        expiresAt,
        namespace: 'travel-notes',
      });
      expect(memory).toMatchObject({
        memoryType: 'preference',
        importance: 8,
        confidence: 0.6,
        metadata: { source: 'chat', nested: { turn: 3, tags: ['travel'] } },
        categories: ['travel', 'seating'],
        namespace: 'travel-notes',
      });
      expect(memory.expiresAt?.getTime()).toBe(expiresAt.getTime());
      expect(h.stable(await h.provider.get(scope, memory.id))).toEqual(h.stable(memory));
    });

    it('should take the owner fields and the namespace from the scope', async () => {
      const scope = h.scope({ agentId: 'planner', runId: 'run-1', namespace: 'calendar' });
      const memory = await h.provider.add(scope, { content: 'Standup moved to 9:30' });
      expect(memory).toMatchObject({
        userId: scope.userId,
        agentId: 'planner',
        runId: 'run-1',
        namespace: 'calendar',
      });
    });

    it('should write an ADD history row with the actor, "system" by default', async () => {
      const scope = h.scope();
      const byDefault = await h.provider.add(scope, { content: 'first' });
      const byAgent = await h.provider.add(scope, { content: 'second' }, 'agent:planner');

      const [row] = await h.provider.history(scope, byDefault.id);
      expect(row).toMatchObject({
        memoryId: byDefault.id,
        op: 'ADD',
        oldContent: null,
        newContent: 'first',
        actor: h.actor('system'),
      });
      expect(row.at).toBeInstanceOf(Date);
      expect(await h.provider.history(scope, byAgent.id)).toEqual([
        expect.objectContaining({ op: 'ADD', newContent: 'second', actor: h.actor('agent:planner') }),
      ]);
    });

    it('should give concurrent adds distinct ids and keep them all', async () => {
      const scope = h.scope();
      const added = await Promise.all(
        Array.from({ length: 25 }, (_, i) => h.provider.add(scope, { content: `note number ${i}` })),
      );
      expect(new Set(ids(added)).size).toBe(25);
      expect(await h.provider.count(scope)).toBe(25);
    });

    it('should hand out copies: mutating a result or the input never changes the store', async () => {
      const scope = h.scope();
      const input: NewMemory = { content: 'original', metadata: { level: 1 }, categories: ['a'] };
      const memory = await h.provider.add(scope, input);
      (input.metadata as Record<string, unknown>).level = 2;
      input.categories?.push('b');
      memory.content = 'changed';
      memory.metadata.level = 3;
      memory.categories.push('c');

      const stored = await h.provider.get(scope, memory.id);
      expect(stored).toMatchObject({ content: 'original', metadata: { level: 1 }, categories: ['a'] });
      stored!.metadata.level = 4;
      expect((await h.provider.get(scope, memory.id))?.metadata).toEqual({ level: 1 });
    });

    it.each(INVALID_MEMORIES)('should refuse %s with VALIDATION_FAILED and store nothing', async (_, input) => {
      const scope = h.scope();
      await expectMemoryError(h.provider.add(scope, input), MemoryExceptionCode.VALIDATION_FAILED);
      expect(await h.provider.count(scope)).toBe(0);
    });
  });

  describe('addMany', () => {
    it('should store every memory as pending, in the order given, each with its ADD history', async () => {
      const scope = h.scope();
      const contents = ['one', 'two', 'three'];
      const added = await h.provider.addMany(
        scope,
        contents.map((content) => ({ content })),
        'importer',
      );

      expect(added.map((memory) => memory.content)).toEqual(contents);
      expect(added.every((memory) => memory.status === 'pending')).toBe(true);
      expect(new Set(ids(added)).size).toBe(3);
      for (const memory of added) {
        expect(await h.provider.history(scope, memory.id)).toEqual([
          expect.objectContaining({ op: 'ADD', newContent: memory.content, actor: h.actor('importer') }),
        ]);
      }
    });

    it('should store nothing when one memory of the batch is invalid', async () => {
      const scope = h.scope();
      await expectMemoryError(
        h.provider.addMany(scope, [{ content: 'fine' }, { content: 'bad', importance: 42 }]),
        MemoryExceptionCode.VALIDATION_FAILED,
      );
      expect(await h.provider.count(scope)).toBe(0);
    });

    it('should accept an empty batch', async () => {
      expect(await h.provider.addMany(h.scope(), [])).toEqual([]);
    });
  });

  describe('get and getMany', () => {
    it('should return null for an unknown id and for a malformed one', async () => {
      const scope = h.scope();
      expect(await h.provider.get(scope, newId())).toBeNull();
      expect(await h.provider.get(scope, 'not-a-uuid')).toBeNull();
    });

    it('should return the memories in the order of the ids, leaving out missing ones', async () => {
      const scope = h.scope();
      const [a, b, c] = await h.provider.addMany(scope, [{ content: 'a' }, { content: 'b' }, { content: 'c' }]);
      const found = await h.provider.getMany(scope, [c.id, newId(), a.id, 'not-a-uuid', b.id]);
      expect(ids(found)).toEqual([c.id, a.id, b.id]);
      expect(await h.provider.getMany(scope, [])).toEqual([]);
    });
  });

  describe('update', () => {
    it('should change the given fields, keep the others, and keep the vector when the content is unchanged', async () => {
      const scope = h.scope();
      const memory = await h.addReady(scope, { content: 'Alice drinks oat milk', categories: ['food'] });
      const updated = await h.provider.update(scope, memory.id, {
        importance: 9,
        metadata: { verified: true },
        content: memory.content,
      });

      expect(updated).toMatchObject({
        id: memory.id,
        content: memory.content,
        importance: 9,
        metadata: { verified: true },
        categories: ['food'],
        confidence: memory.confidence,
        status: 'ready',
        embeddingModel: memory.embeddingModel,
        contentHash: memory.contentHash,
      });
      expect(updated.embedding).toEqual(memory.embedding);
      expect(updated.createdAt.getTime()).toBe(memory.createdAt.getTime());
      expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(memory.updatedAt.getTime());
      expect(h.stable(await h.provider.get(scope, memory.id))).toEqual(h.stable(updated));
    });

    it('should send the memory back to pending, without its vector, when the content changes', async () => {
      const scope = h.scope();
      const memory = await h.addReady(scope, 'Alice drives a red car');
      const updated = await h.provider.update(scope, memory.id, { content: 'Alice drives a blue car' });

      expect(updated).toMatchObject({
        content: 'Alice drives a blue car',
        status: 'pending',
        embedding: null,
        embeddingModel: null,
        embeddingDimensions: null,
        failureReason: null,
        contentHash: contentHash('Alice drives a blue car'),
      });
    });

    h.itWorkerSide('should clear the failure reason when the content of a failed memory changes', async () => {
      const scope = h.scope();
      const memory = await h.provider.add(scope, { content: 'unembeddable' });
      await h.provider.markFailed(scope, memory.id, 'model exploded');
      const updated = await h.provider.update(scope, memory.id, { content: 'embeddable now' });
      expect(updated).toMatchObject({ status: 'pending', failureReason: null });
    });

    it('should write an UPDATE history row with the old and the new content', async () => {
      const scope = h.scope();
      const memory = await h.provider.add(scope, { content: 'likes tea' });
      await h.provider.update(scope, memory.id, { content: 'likes coffee' }, 'user:alice');
      await h.provider.update(scope, memory.id, { importance: 7 });

      const history = await h.provider.history(scope, memory.id);
      expect(history.map((row) => [row.op, row.oldContent, row.newContent, row.actor])).toEqual([
        ['ADD', null, 'likes tea', h.actor('system')],
        ['UPDATE', 'likes tea', 'likes coffee', h.actor('user:alice')],
        ['UPDATE', 'likes coffee', 'likes coffee', h.actor('system')],
      ]);
    });

    it('should throw MEMORY_NOT_FOUND for an unknown id', async () => {
      await expectMemoryError(
        h.provider.update(h.scope(), newId(), { importance: 3 }),
        MemoryExceptionCode.MEMORY_NOT_FOUND,
      );
    });

    it.each([
      ['empty content', { content: '' }],
      ['importance 11', { importance: 11 }],
      ['confidence 2', { confidence: 2 }],
    ])('should refuse a patch with %s and leave the memory alone', async (_, patch) => {
      const scope = h.scope();
      const memory = await h.provider.add(scope, { content: 'stable' });
      await expectMemoryError(h.provider.update(scope, memory.id, patch), MemoryExceptionCode.VALIDATION_FAILED);
      expect(h.stable(await h.provider.get(scope, memory.id))).toEqual(h.stable(memory));
    });
  });

  describe('delete, deleteMany and clear', () => {
    it('should delete a memory and keep its history, ending with a DELETE row', async () => {
      const scope = h.scope();
      const memory = await h.provider.add(scope, { content: 'temporary fact' });
      await h.provider.delete(scope, memory.id, 'user:alice');

      expect(await h.provider.get(scope, memory.id)).toBeNull();
      expect(await h.provider.exists(scope, memory.id)).toBe(false);
      const history = await h.provider.history(scope, memory.id);
      expect(history.map((row) => [row.op, row.oldContent, row.newContent, row.actor])).toEqual([
        ['ADD', null, 'temporary fact', h.actor('system')],
        ['DELETE', 'temporary fact', null, h.actor('user:alice')],
      ]);
    });

    it('should throw MEMORY_NOT_FOUND for an unknown id and for a second delete', async () => {
      const scope = h.scope();
      await expectMemoryError(h.provider.delete(scope, newId()), MemoryExceptionCode.MEMORY_NOT_FOUND);
      const memory = await h.provider.add(scope, { content: 'once' });
      await h.provider.delete(scope, memory.id);
      await expectMemoryError(h.provider.delete(scope, memory.id), MemoryExceptionCode.MEMORY_NOT_FOUND);
    });

    it('should delete those of the ids that exist and count them', async () => {
      const scope = h.scope();
      const [a, b, c] = await h.provider.addMany(scope, [{ content: 'a' }, { content: 'b' }, { content: 'c' }]);
      expect(await h.provider.deleteMany(scope, [a.id, newId(), b.id])).toBe(2);
      expect(ids(await h.provider.getMany(scope, [a.id, b.id, c.id]))).toEqual([c.id]);
      expect(await h.provider.history(scope, a.id)).toEqual([
        expect.objectContaining({ op: 'ADD' }),
        expect.objectContaining({ op: 'DELETE', oldContent: 'a' }),
      ]);
      expect(await h.provider.deleteMany(scope, [])).toBe(0);
    });

    it('should clear every memory of the scope, in every namespace, and count them', async () => {
      const scope = h.scope();
      await h.provider.addMany(scope, [{ content: 'a' }, { content: 'b', namespace: 'other' }]);
      const kept = await h.provider.add(h.scope(), { content: 'somebody else' });

      expect(await h.provider.clear(scope, 'gdpr')).toBe(2);
      expect(await h.provider.count(scope)).toBe(0);
      expect(await h.provider.clear(scope)).toBe(0);
      expect(await h.provider.exists({ tenantId: kept.tenantId, userId: kept.userId! }, kept.id)).toBe(true);
    });

    it('should leave history rows with actor for every memory cleared', async () => {
      const scope = h.scope();
      const memory = await h.provider.add(scope, { content: 'to be forgotten' });
      await h.provider.clear(scope, 'gdpr');
      expect((await h.provider.history(scope, memory.id)).at(-1)).toMatchObject({
        op: 'DELETE',
        actor: h.actor('gdpr'),
      });
    });

    it('should return an empty history for an id never seen', async () => {
      expect(await h.provider.history(h.scope(), newId())).toEqual([]);
    });
  });
}
