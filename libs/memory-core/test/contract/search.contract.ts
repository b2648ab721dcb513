import { describe, expect, it } from '@jest/globals';
import { parseFilter } from '../../src/filters/filter.parser.js';
import type { Memory, SearchMode } from '../../src/memory.js';
import type { MemoryScope } from '../../src/memory-scope.js';
import { MemoryExceptionCode } from '../../src/memory.exception.js';
import { expectMemoryError, resultIds, type ContractHarness } from './contract-harness.js';

const MODES: SearchMode[] = ['keyword', 'vector', 'hybrid'];

interface Library {
  scope: MemoryScope;
  allergy: Memory;
  music: Memory;
  work: Memory;
  drinks: Memory;
}

/** Memories with disjoint vocabularies, so every backend and embedder agrees which one a query means. */
async function addLibrary(h: ContractHarness): Promise<Library> {
  const scope = h.scope();
  const allergy = await h.addReady(scope, {
    content: 'Severely allergic to peanuts and shellfish',
    memoryType: 'health',
    importance: 9,
    metadata: { topic: 'health', severity: 3 },
    categories: ['health', 'food'],
  });
  const music = await h.addReady(scope, {
    content: 'Plays the cello in a string quartet on Sundays',
    memoryType: 'hobby',
    importance: 4,
    metadata: { topic: 'music' },
    categories: ['hobby'],
  });
  const work = await h.addReady(scope, {
    content: 'Works as a marine biologist in Lisbon',
    memoryType: 'fact',
    importance: 6,
    metadata: { topic: 'work' },
    categories: ['career'],
  });
  const drinks = await h.addReady(scope, {
    content: 'Prefers green tea over coffee each morning',
    memoryType: 'preference',
    importance: 3,
    metadata: { topic: 'food' },
    categories: ['food'],
  });
  return { scope, allergy, music, work, drinks };
}

export function describeSearchContract(h: ContractHarness): void {
  describe('search', () => {
    it.each(MODES)('should find the memory a query is about in %s mode', async (mode) => {
      const lib = await addLibrary(h);
      const cases: [string, Memory][] = [
        ['allergic to peanuts', lib.allergy],
        ['cello quartet', lib.music],
        ['marine biologist Lisbon', lib.work],
        ['green tea coffee', lib.drinks],
      ];
      for (const [text, expected] of cases) {
        const results = await h.provider.search(lib.scope, await h.query(text, mode));
        expect(results[0]?.memory.id).toBe(expected.id);
        expect(h.stable(results[0]?.memory)).toEqual(h.stable(expected));
      }
    });

    it.each(MODES)('should score in [0, 1], best first, in %s mode', async (mode) => {
      const lib = await addLibrary(h);
      const results = await h.provider.search(lib.scope, await h.query('peanuts cello tea', mode));
      expect(results.length).toBeGreaterThan(0);
      for (const { score } of results) {
        expect(score).toBeGreaterThanOrEqual(0);
        expect(score).toBeLessThanOrEqual(1);
      }
      const scores = results.map((result) => result.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
    });

    it.each(MODES)('should respect the limit in %s mode', async (mode) => {
      const lib = await addLibrary(h);
      const results = await h.provider.search(lib.scope, await h.query('peanuts cello tea Lisbon', mode, { limit: 2 }));
      expect(results).toHaveLength(2);
    });

    it('should find nothing in keyword mode for words no memory has', async () => {
      const lib = await addLibrary(h);
      expect(await h.provider.search(lib.scope, await h.query('xylophone zeppelin', 'keyword'))).toEqual([]);
    });

    it('should find a pending memory (no vector yet) through the keyword leg of hybrid mode', async () => {
      const lib = await addLibrary(h);
      const pending = await h.provider.add(lib.scope, { content: 'Adopted a greyhound named Comet' });
      const results = await h.provider.search(lib.scope, await h.query('greyhound Comet', 'hybrid'));
      const found = results.find((result) => result.memory.id === pending.id);
      // A backend with its own pipeline may have embedded it already; found it must be, either way.
      expect(found?.memory.status).toEqual(h.drivesPipeline ? 'pending' : expect.stringMatching(/^(pending|ready)$/));
      // First in the keyword leg: at least as good as anything found by the vector leg alone.
      expect(found?.score).toBe(results[0].score);
    });

    h.itWorkerSide(
      'should leave out of vector mode memories without a vector, or with a vector of another model',
      async () => {
        const lib = await addLibrary(h);
        const pending = await h.provider.add(lib.scope, { content: 'Adopted a greyhound named Comet' });
        const foreign = await h.provider.add(lib.scope, { content: 'Owns a greyhound called Dash' });
        const vector = await h.embed(foreign.content);
        await h.provider.setEmbedding(lib.scope, foreign.id, {
          vector,
          model: `${h.embedder.model}-other`,
          dimensions: vector.length,
          contentHash: foreign.contentHash,
        });

        const results = await h.provider.search(lib.scope, await h.query('greyhound', 'vector', { limit: 100 }));
        expect(resultIds(results)).not.toContain(pending.id);
        expect(resultIds(results)).not.toContain(foreign.id);
      },
    );

    it.each(MODES)('should drop results scoring below the threshold in %s mode', async (mode) => {
      const lib = await addLibrary(h);
      const query = await h.query('allergic to peanuts and green tea', mode);
      const all = await h.provider.search(lib.scope, query);
      expect(all.length).toBeGreaterThan(1);
      const threshold = (all[0].score + all[all.length - 1].score) / 2;
      const kept = await h.provider.search(lib.scope, { ...query, threshold });

      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThan(all.length);
      expect(kept.every((result) => result.score >= threshold)).toBe(true);
      expect(resultIds(kept)).toEqual(resultIds(all.filter((result) => result.score >= threshold)));
    });

    it.each(MODES)('should apply filters in %s mode', async (mode) => {
      const lib = await addLibrary(h);
      const text = 'allergic peanuts cello green tea';
      const search = async (filter: unknown) =>
        resultIds(await h.provider.search(lib.scope, await h.query(text, mode, { filter: parseFilter(filter) })));

      expect(await search({ memory_type: { eq: 'preference' } })).toEqual([lib.drinks.id]);
      expect(await search({ 'metadata.topic': 'health' })).toEqual([lib.allergy.id]);
      expect(await search({ categories: { contains: 'food' } })).toEqual(
        expect.arrayContaining([lib.allergy.id, lib.drinks.id]),
      );
      expect(await search({ and: [{ categories: { contains: 'food' } }, { importance: { gte: 5 } }] })).toEqual([
        lib.allergy.id,
      ]);
      expect(await search({ not: { categories: { contains: 'food' } } })).not.toContain(lib.drinks.id);
    });

    it.each(MODES)('should break ties newest first in %s mode', async (mode) => {
      const scope = h.scope();
      const older = await h.addReady(scope, 'Collects vintage fountain pens');
      const newer = await h.addReady(scope, 'Collects vintage fountain pens');
      const results = await h.provider.search(scope, await h.query('fountain pens', mode));
      expect(resultIds(results)).toEqual([newer.id, older.id]);
      expect(results[0].score).toBeCloseTo(results[1].score, 10);
    });

    it('should re-rank by importance with importanceWeight', async () => {
      const scope = h.scope();
      const important = await h.addReady(scope, { content: 'Birthday is on the ninth of May', importance: 9 });
      const trivial = await h.addReady(scope, { content: 'Birthday is on the ninth of May', importance: 2 });
      const query = await h.query('birthday May', 'hybrid');

      expect(resultIds(await h.provider.search(scope, query))).toEqual([trivial.id, important.id]);
      expect(resultIds(await h.provider.search(scope, { ...query, importanceWeight: 0.5 }))).toEqual([
        important.id,
        trivial.id,
      ]);
      // With all the weight on importance the score is importance / 10.
      const onlyImportance = await h.provider.search(scope, { ...query, importanceWeight: 1 });
      expect(onlyImportance.map((result) => result.score)).toEqual([expect.closeTo(0.9, 6), expect.closeTo(0.2, 6)]);
    });

    it('should score a fresh memory close to 1 on recency with recencyWeight 1', async () => {
      const scope = h.scope();
      await h.addReady(scope, 'Started learning Portuguese');
      const [result] = await h.provider.search(scope, await h.query('Portuguese', 'keyword', { recencyWeight: 1 }));
      expect(result.score).toBeGreaterThan(0.99);
      expect(result.score).toBeLessThanOrEqual(1);
    });

    // The access statistics are the access recorder's to write (recordAccess); a backend that keeps its own counts its
    // searches as accesses.
    h.itWorkerSide('should not count a search as an access', async () => {
      const lib = await addLibrary(h);
      await h.provider.search(lib.scope, await h.query('peanuts', 'hybrid'));
      expect(await h.provider.get(lib.scope, lib.allergy.id)).toMatchObject({ accessCount: 0, accessedAt: null });
    });

    it.each(['vector', 'hybrid'] as const)('should refuse %s mode without a query embedding', async (mode) => {
      await expectMemoryError(
        h.provider.search(h.scope(), { text: 'anything', mode, limit: 5 }),
        MemoryExceptionCode.VALIDATION_FAILED,
      );
    });

    it.each([
      ['a zero limit', { limit: 0 }],
      ['weights adding up to more than 1', { recencyWeight: 0.6, importanceWeight: 0.6 }],
      ['a negative weight', { importanceWeight: -0.1 }],
    ])('should refuse %s', async (_, extra) => {
      await expectMemoryError(
        h.provider.search(h.scope(), await h.query('anything', 'keyword', extra)),
        MemoryExceptionCode.VALIDATION_FAILED,
      );
    });
  });
}
