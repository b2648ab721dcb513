import { appendFile, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { describeMemoryProviderContract } from '../../test/memory-provider.contract.js';
import { BagOfWordsEmbedder } from '../../test/fixtures/bag-of-words.embedder.js';
import { ManualClock } from '../../test/fixtures/manual.clock.js';
import type { Memory } from '../memory.js';
import type { MemoryScope } from '../memory-scope.js';
import { MemoryException, MemoryExceptionCode } from '../memory.exception.js';
import { OSS_TENANT_ID } from '../tenant.js';
import { LOCAL_MEMORY_LOG_FILE, LocalMemoryProvider } from './local.memory-provider.js';

const DAY_MS = 24 * 60 * 60 * 1000;

describeMemoryProviderContract('LocalMemoryProvider in memory', async () => {
  const provider = await LocalMemoryProvider.open();
  return { provider, embedder: new BagOfWordsEmbedder(), teardown: () => provider.close() };
});

describeMemoryProviderContract('LocalMemoryProvider with a data directory', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'engram-local-contract-'));
  const provider = await LocalMemoryProvider.open({ dataDir });
  return {
    provider,
    embedder: new BagOfWordsEmbedder(),
    teardown: async () => {
      await provider.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});

const scope: MemoryScope = { tenantId: OSS_TENANT_ID, userId: 'alice' };
const embedder = new BagOfWordsEmbedder();

async function makeReady(provider: LocalMemoryProvider, memory: Memory): Promise<void> {
  const [vector] = await embedder.embed([memory.content]);
  await provider.setEmbedding(scope, memory.id, {
    vector,
    model: embedder.model,
    dimensions: vector.length,
    contentHash: memory.contentHash,
  });
}

describe('LocalMemoryProvider', () => {
  describe('with a manual clock', () => {
    it('should purge expired memories lazily, on the first call after their expiry', async () => {
      const clock = new ManualClock('2025-01-01T00:00:00Z');
      const sut = new LocalMemoryProvider({ clock });
      const memory = await sut.add(scope, {
        content: 'valid for an hour',
        expiresAt: new Date(clock.now().getTime() + 3_600_000),
      });
      expect(await sut.get(scope, memory.id)).not.toBeNull();

      clock.advance(3_600_000);
      expect((await sut.health()).details).toMatchObject({ memories: 1 });
      expect(await sut.count(scope)).toBe(0);
      expect((await sut.health()).details).toMatchObject({ memories: 0 });
      // The memory expired, nobody deleted it: its history ends with its ADD.
      expect((await sut.history(scope, memory.id)).map((row) => row.op)).toEqual(['ADD']);
    });

    it('should halve the recency score every 30 days', async () => {
      const clock = new ManualClock('2025-01-01T00:00:00Z');
      const sut = new LocalMemoryProvider({ clock });
      const old = await sut.add(scope, { content: 'tulips in the garden' });
      clock.advance(30 * DAY_MS);
      const fresh = await sut.add(scope, { content: 'tulips in the garden' });

      const results = await sut.search(scope, { text: 'tulips', mode: 'keyword', limit: 10, recencyWeight: 1 });
      expect(results.map((result) => [result.memory.id, result.score])).toEqual([
        [fresh.id, 1],
        [old.id, expect.closeTo(0.5, 10)],
      ]);
    });
  });

  describe('scores', () => {
    it('should score 1 in hybrid mode a memory first in both legs', async () => {
      const sut = new LocalMemoryProvider();
      const target = await sut.add(scope, { content: 'violin lessons on Tuesday' });
      const other = await sut.add(scope, { content: 'dentist appointment next week' });
      await makeReady(sut, target);
      await makeReady(sut, other);
      const [vector] = await embedder.embed(['violin lessons']);

      const [best] = await sut.search(scope, {
        text: 'violin lessons',
        mode: 'hybrid',
        limit: 5,
        embedding: { vector, model: embedder.model },
      });
      expect(best).toEqual({ memory: expect.objectContaining({ id: target.id }), score: 1 });
    });

    it('should keep BM25 scores below 1 and rank the rarer term higher', async () => {
      const sut = new LocalMemoryProvider();
      const common = await sut.addMany(scope, [
        { content: 'coffee with milk' },
        { content: 'coffee with sugar' },
        { content: 'coffee and espresso beans' },
      ]);
      const results = await sut.search(scope, { text: 'coffee espresso', mode: 'keyword', limit: 5 });
      expect(results[0].memory.id).toBe(common[2].id);
      expect(results.every((result) => result.score > 0 && result.score < 1)).toBe(true);
    });
  });

  describe('durability', () => {
    let dataDir: string;
    let logPath: string;

    beforeEach(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'engram-local-'));
      logPath = join(dataDir, LOCAL_MEMORY_LOG_FILE);
    });

    afterEach(async () => {
      await rm(dataDir, { recursive: true, force: true });
    });

    it('should keep every acknowledged write across close and reopen', async () => {
      const first = await LocalMemoryProvider.open({ dataDir });
      const [kept, edited, deleted] = await first.addMany(scope, [
        { content: 'kept with its vector', metadata: { nested: { a: [1, 2] } }, categories: ['x'] },
        { content: 'edited once' },
        { content: 'deleted later' },
      ]);
      await makeReady(first, kept);
      await first.update(scope, edited.id, { content: 'edited twice', importance: 8 }, 'user:alice');
      await first.markFailed(scope, edited.id, 'no model');
      await first.delete(scope, deleted.id, 'user:alice');
      await first.recordAccess(scope, [{ id: kept.id, count: 1, at: new Date('2025-02-03T04:05:06Z') }]);
      const before = await first.list(scope, { limit: 10 });
      const histories = await Promise.all([kept, edited, deleted].map((memory) => first.history(scope, memory.id)));
      await first.close();

      const second = await LocalMemoryProvider.open({ dataDir });
      expect(await second.list(scope, { limit: 10 })).toEqual(before);
      expect((await second.get(scope, kept.id))?.embedding).toHaveLength(embedder.dimensions);
      expect(await second.get(scope, edited.id)).toMatchObject({ status: 'failed', failureReason: 'no model' });
      expect(await second.get(scope, deleted.id)).toBeNull();
      for (const [index, memory] of [kept, edited, deleted].entries()) {
        expect(await second.history(scope, memory.id)).toEqual(histories[index]);
      }
      const [vector] = await embedder.embed(['kept vector']);
      const found = await second.search(scope, {
        text: 'kept',
        mode: 'vector',
        limit: 1,
        embedding: { vector, model: embedder.model },
      });
      expect(found[0]?.memory.id).toBe(kept.id);
      await second.close();
    });

    it('should log what purgeExpired deletes, so that a reopen with an earlier clock does not bring it back', async () => {
      const clock = new ManualClock('2026-01-01T00:00:00Z');
      const first = await LocalMemoryProvider.open({ dataDir, clock });
      const [purged, kept] = await first.addMany(scope, [
        { content: 'expires in ten seconds', expiresAt: new Date('2026-01-01T00:00:10Z') },
        { content: 'expires next year', expiresAt: new Date('2027-01-01T00:00:00Z') },
      ]);
      expect(await first.purgeExpired(new Date('2026-01-01T00:00:20Z'), 10)).toBe(1);
      await first.close();

      // The clock has not reached the expiry: only the log can say the memory is gone.
      const second = await LocalMemoryProvider.open({ dataDir, clock });
      expect(await second.get(scope, purged.id)).toBeNull();
      expect(await second.get(scope, kept.id)).not.toBeNull();
      expect((await second.history(scope, purged.id)).map((entry) => entry.op)).toEqual(['ADD']);
      await second.close();
    });

    it('should share one fsync between concurrent writes (group commit)', async () => {
      const sut = await LocalMemoryProvider.open({ dataDir });
      const probe = await open(join(dataDir, 'probe'), 'w');
      const fileHandlePrototype = Object.getPrototypeOf(probe) as { datasync(): Promise<void> };
      await probe.close();
      const datasync = jest.spyOn(fileHandlePrototype, 'datasync');
      try {
        await Promise.all(Array.from({ length: 50 }, (_, i) => sut.add(scope, { content: `burst ${i}` })));
        expect(datasync.mock.calls.length).toBeGreaterThan(0);
        expect(datasync.mock.calls.length).toBeLessThan(5);
      } finally {
        datasync.mockRestore();
      }
      await sut.close();

      const reopened = await LocalMemoryProvider.open({ dataDir });
      expect(await reopened.count(scope)).toBe(50);
      await reopened.close();
    });

    it('should ignore a torn last line, then compact it away', async () => {
      const first = await LocalMemoryProvider.open({ dataDir });
      const memory = await first.add(scope, { content: 'written before the crash' });
      await first.close();
      await appendFile(logPath, '{"op":"put","memory":{"id":"0197');

      const second = await LocalMemoryProvider.open({ dataDir });
      expect(await second.get(scope, memory.id)).toMatchObject({ content: 'written before the crash' });
      expect(await second.count(scope)).toBe(1);
      await second.close();
      const lines = (await readFile(logPath, 'utf8')).split('\n').filter((line) => line !== '');
      expect(() => lines.forEach((line) => JSON.parse(line))).not.toThrow();
    });

    it('should refuse to start on a log corrupt before its last line', async () => {
      const first = await LocalMemoryProvider.open({ dataDir });
      await first.add(scope, { content: 'one' });
      await first.close();
      const text = await readFile(logPath, 'utf8');
      await writeFile(logPath, `garbage\n${text}`);

      const opening = LocalMemoryProvider.open({ dataDir });
      await expect(opening).rejects.toBeInstanceOf(MemoryException);
      await expect(opening).rejects.toMatchObject({ code: MemoryExceptionCode.DEPENDENCY_UNAVAILABLE });
    });

    it('should compact the log on open, keeping content and history and dropping expired memories', async () => {
      const clock = new ManualClock('2025-01-01T00:00:00Z');
      const first = await LocalMemoryProvider.open({ dataDir, clock });
      const memory = await first.add(scope, { content: 'version 0' });
      for (let version = 1; version <= 20; version++) {
        await first.update(scope, memory.id, { content: `version ${version}` });
      }
      await first.add(scope, { content: 'expires soon', expiresAt: new Date(clock.now().getTime() + 1_000) });
      await first.close();
      const linesBefore = (await readFile(logPath, 'utf8')).split('\n').length;

      clock.advance(2_000);
      const second = await LocalMemoryProvider.open({ dataDir, clock });
      await second.close();
      const compacted = await readFile(logPath, 'utf8');
      expect(compacted.split('\n').length).toBeLessThan(linesBefore);
      // Its history stays (history outlives memories); the memory itself is gone.
      const puts = compacted.split('\n').filter((line) => line.startsWith('{"op":"put"'));
      expect(puts).toHaveLength(1);
      expect(puts[0]).toContain('version 20');

      const third = await LocalMemoryProvider.open({ dataDir, clock });
      expect(await third.get(scope, memory.id)).toMatchObject({ content: 'version 20' });
      expect(await third.history(scope, memory.id)).toHaveLength(21);
      expect(await third.count(scope)).toBe(1);
      await third.close();
    });

    it('should create the data directory when it does not exist', async () => {
      const nested = join(dataDir, 'a', 'b');
      const sut = await LocalMemoryProvider.open({ dataDir: nested });
      await sut.add(scope, { content: 'deep' });
      expect((await sut.health()).details).toMatchObject({ durable: true, memories: 1 });
      await sut.close();
      expect(await readFile(join(nested, LOCAL_MEMORY_LOG_FILE), 'utf8')).toContain('deep');
    });

    it('should refuse calls after close', async () => {
      const sut = await LocalMemoryProvider.open({ dataDir });
      await sut.close();
      await expect(sut.count(scope)).rejects.toMatchObject({ code: MemoryExceptionCode.DEPENDENCY_UNAVAILABLE });
      expect((await sut.health()).ok).toBe(false);
    });
  });
});
