import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  asTenantId,
  OSS_TENANT_ID,
  parseFilter,
  type Clock,
  type MemoryScope,
  type SearchQuery,
  type SearchResult,
} from '@engram/memory-core';
import { BagOfWordsEmbedder } from '@engram/memory-core/testing';
import { createScratchDatabase } from '@engram/testing';
import { openPostgresMemoryDatabase } from '../postgres-memory.factory.js';
import { PostgresMemoryProvider } from '../postgres.memory-provider.js';
import type { SqlExecutor } from '../sql/sql-executor.js';

/**
 * The in-memory copy of a scope (ScopeSearchIndex) against the search statement it stands in for, on both engines:
 * the same results with the same scores for every mode and weighting, and never a result the database no longer
 * holds, whoever wrote (a second provider on the same database plays another replica).
 */
const embedder = new BagOfWordsEmbedder(32);
const START = Date.parse('2026-01-01T00:00:00Z');

class SteppingClock implements Clock {
  at = START;
  now(): Date {
    return new Date(this.at);
  }
}

const WORDS = 'apple banana cherry hiking painting guitar concert museum beach mountain river camping'.split(' ');
const SPEAKERS = ['Alice', 'Bob', 'Carol Ann'];

/** A deterministic scope: labelled and unlabelled memories, repeated words, every importance, some expiring. */
function contents(count: number): Array<{ content: string; importance: number; expiresInHours: number | null }> {
  return Array.from({ length: count }, (_, i) => {
    const words = [WORDS[i % WORDS.length], WORDS[(i * 7 + 3) % WORDS.length], WORDS[(i * 5) % WORDS.length]];
    if (i % 4 === 0) words.push(WORDS[i % WORDS.length]);
    const text = `${words.join(' ')} number ${i}`;
    return {
      content: i % 3 === 0 ? text : `${SPEAKERS[i % SPEAKERS.length]}: ${text}`,
      importance: 1 + (i % 10),
      expiresInHours: i % 13 === 0 ? 24 * 30 + i : null,
    };
  });
}

interface Backend {
  sql: SqlExecutor;
  close(): Promise<void>;
}

async function server(): Promise<Backend> {
  const database = await createScratchDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'engram-scope-index-'));
  const { sql } = await openPostgresMemoryDatabase({
    databaseUrl: database.url,
    dataDir,
    embedderDimensions: embedder.dimensions,
  });
  return {
    sql,
    close: async () => {
      await sql.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function embedded(): Promise<Backend> {
  const dataDir = await mkdtemp(join(tmpdir(), 'engram-scope-index-pglite-'));
  const { sql } = await openPostgresMemoryDatabase({ dataDir, embedderDimensions: embedder.dimensions });
  return {
    sql,
    close: async () => {
      await sql.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Results agree when their scores agree position by position (to 1e-6: pgvector computes cosines in float4) and
 * every id is where the statement put it or tied with the statement's memory at that position (equal scores are
 * ordered by id in both, but scores that tie in exact arithmetic can round apart in float4 and not in float8).
 */
function expectSameRanking(actual: SearchResult[], expected: SearchResult[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((result, i) => {
    expect(Math.abs(result.score - expected[i].score)).toBeLessThan(1e-6);
    if (result.memory.id !== expected[i].memory.id) {
      const tied = expected.find((other) => other.memory.id === result.memory.id);
      const boundary = Math.abs(result.score - expected[expected.length - 1].score) < 1e-6;
      expect(tied ? Math.abs(tied.score - result.score) < 1e-6 : boundary).toBe(true);
    }
  });
}

/**
 * The memory's bag of words, nudged by a deterministic amount per memory: two memories whose cosines tie in exact
 * arithmetic would round apart differently in float4 and float8, and the feedback pass's pick among tied
 * candidates would then differ (a tie, not a disagreement, but one this test would have to excuse).
 */
function nudged(vector: number[], seed: number): number[] {
  let state = seed + 1;
  return vector.map((x) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return x + (state / 2 ** 32) * 0.05;
  });
}

describe.each([
  ['PostgreSQL', server],
  ['PGlite', embedded],
])('a scope searched from its in-memory copy on %s', (_, open) => {
  const clock = new SteppingClock();
  const scope: MemoryScope = { tenantId: OSS_TENANT_ID, userId: 'copied' };
  let backend: Backend;
  /** Searches from copies of every scope of at least one memory. */
  let copied: PostgresMemoryProvider;
  /** Never keeps a copy: the search statement, the reference. */
  let statement: PostgresMemoryProvider;
  let vectorFor: (text: string) => Promise<number[]>;

  const search = (provider: PostgresMemoryProvider, text: string, extra: Partial<SearchQuery> = {}) =>
    vectorFor(text).then((vector) =>
      provider.search(scope, {
        text,
        mode: 'hybrid',
        limit: 10,
        embedding: { vector, model: embedder.model },
        ...extra,
      }),
    );

  /** Makes sure the copy is there and answers: one search by the statement, the load it starts, one from the copy. */
  async function warm(): Promise<void> {
    await search(copied, 'warm up');
    await copied.scopeIndexesSettled();
    const { hits } = copied.scopeIndexStats();
    await search(copied, 'warm up');
    expect(copied.scopeIndexStats().hits).toBe(hits + 1);
  }

  /** Runs `write` (another replica's) and expects the next search to find the copy out of date. */
  async function expectStaleAfter(write: () => Promise<unknown>): Promise<void> {
    const { stale } = copied.scopeIndexStats();
    await write();
    await search(copied, 'anything');
    expect(copied.scopeIndexStats().stale).toBe(stale + 1);
  }

  beforeAll(async () => {
    backend = await open();
    copied = new PostgresMemoryProvider(backend.sql, { clock, scopeIndex: { minRows: 1, minReloadIntervalMs: 0 } });
    statement = new PostgresMemoryProvider(backend.sql, { clock, scopeIndex: { maxBytes: 0 } });
    vectorFor = async (text) => (await embedder.embed([text]))[0];

    const memories = contents(240);
    for (const [i, memory] of memories.entries()) {
      clock.at = START + i * 3_600_000;
      const [added] = await statement.addMany(scope, [
        {
          content: memory.content,
          importance: memory.importance,
          expiresAt: memory.expiresInHours === null ? null : new Date(clock.at + memory.expiresInHours * 3_600_000),
        },
      ]);
      // Most get their vector; some stay pending, some carry another model's, one the zero vector.
      if (i % 9 === 4) continue;
      const vector =
        i === 10 ? new Array<number>(embedder.dimensions).fill(0) : nudged(await vectorFor(memory.content), i);
      await statement.setEmbedding(scope, added.id, {
        vector,
        model: i % 17 === 5 ? 'another-model' : embedder.model,
        dimensions: embedder.dimensions,
        contentHash: added.contentHash,
      });
    }
    // Some of the scope has expired by now (the copy must drop them by the clock, as the statement does).
    clock.at = START + 240 * 3_600_000 + 40 * 86_400_000;
  }, 120_000);

  afterAll(async () => {
    await backend.close();
  });

  it.each([
    ['hybrid', 'apple banana', {}],
    ['hybrid', 'what did Alice say about the concert', {}],
    ['hybrid', 'Carol Ann hiking mountain', { limit: 25 }],
    ['hybrid', 'river camping beach', { recencyWeight: 0.3, importanceWeight: 0.2 }],
    ['hybrid', 'guitar', { threshold: 0.4 }],
    ['hybrid', 'nothing matches these words', {}],
    ['keyword', 'painting museum', {}],
    ['keyword', 'Bob apple apples', { importanceWeight: 0.5, limit: 3 }],
    ['vector', 'cherry concert', {}],
    ['vector', 'beach', { recencyWeight: 0.5, threshold: 0.3 }],
  ] as const)('should rank a %s search for "%s" (%j) as the search statement does', async (mode, text, extra) => {
    await warm();
    const before = copied.scopeIndexStats().hits;
    const [fromCopy, fromStatement] = await Promise.all([
      search(copied, text, { mode, ...extra }),
      search(statement, text, { mode, ...extra }),
    ]);
    expect(copied.scopeIndexStats().hits).toBe(before + 1);
    expect(fromStatement.length).toBeGreaterThan(text.startsWith('nothing') ? -1 : 0);
    expectSameRanking(fromCopy, fromStatement);
    expect(fromCopy.map((r) => r.memory)).toEqual(
      fromCopy.map((r) => fromStatement.find((s) => s.memory.id === r.memory.id)?.memory ?? r.memory),
    );
  });

  it('should leave a filtered search to the statement', async () => {
    await warm();
    const before = copied.scopeIndexStats().hits;
    const filter = parseFilter({ importance: { gte: 8 } });
    const results = await search(copied, 'apple', { filter });
    expect(results.length).toBeGreaterThan(0);
    expect(results.every((r) => r.memory.importance >= 8)).toBe(true);
    expect(copied.scopeIndexStats().hits).toBe(before);
  });

  it('should find a memory another replica added after the copy was made', async () => {
    await warm();
    await expectStaleAfter(() => statement.add(scope, { content: 'Alice: zeppelin ride over the lake' }));
    await warm();
    const results = await search(copied, 'zeppelin', { mode: 'keyword' });
    expect(results.map((r) => r.memory.content)).toEqual(['Alice: zeppelin ride over the lake']);
  });

  it('should not return a memory another replica deleted after the copy was made', async () => {
    await warm();
    const [target] = await search(copied, 'apple banana');
    await expectStaleAfter(() => statement.delete(scope, target.memory.id));
    await warm();
    const results = await search(copied, 'apple banana');
    expect(results.map((r) => r.memory.id)).not.toContain(target.memory.id);
    expectSameRanking(results, await search(statement, 'apple banana'));
  });

  it('should rank by the new content of a memory another replica updated after the copy was made', async () => {
    await warm();
    const [target] = await search(copied, 'museum', { mode: 'keyword' });
    await expectStaleAfter(() =>
      statement.update(scope, target.memory.id, { content: 'xylophone lessons on tuesdays' }),
    );
    await warm();
    const results = await search(copied, 'xylophone', { mode: 'keyword' });
    expect(results.map((r) => r.memory.id)).toEqual([target.memory.id]);
  });

  it('should find by its vector a memory embedded after the copy was made', async () => {
    const added = await statement.add(scope, { content: 'quokka selfie' });
    await warm();
    const before = await search(copied, 'quokka selfie', { mode: 'vector', limit: 300 });
    expect(before.map((r) => r.memory.id)).not.toContain(added.id);
    const vector = await vectorFor('quokka selfie');
    await expectStaleAfter(() =>
      statement.setEmbedding(scope, added.id, {
        vector,
        model: embedder.model,
        dimensions: embedder.dimensions,
        contentHash: added.contentHash,
      }),
    );
    await warm();
    const after = await search(copied, 'quokka selfie', { mode: 'vector' });
    expect(after[0].memory.id).toBe(added.id);
  });

  it('should keep using the copy when only access counts were written', async () => {
    await warm();
    const results = await search(copied, 'apple');
    const { stale, hits } = copied.scopeIndexStats();
    await statement.recordAccess(
      scope,
      results.map((r) => ({ id: r.memory.id, count: 1, at: clock.now() })),
    );
    await search(copied, 'apple');
    expect(copied.scopeIndexStats()).toMatchObject({ stale, hits: hits + 1 });
  });

  it('should drop from the copy a memory that expired since it was made, by the clock alone', async () => {
    const expiring = await statement.add(scope, {
      content: 'walrus sighting',
      expiresAt: new Date(clock.at + 60_000),
    });
    await warm();
    const before = await search(copied, 'walrus', { mode: 'keyword' });
    expect(before.map((r) => r.memory.id)).toEqual([expiring.id]);
    clock.at += 120_000;
    const { hits } = copied.scopeIndexStats();
    expect(await search(copied, 'walrus', { mode: 'keyword' })).toEqual([]);
    expect(copied.scopeIndexStats().hits).toBe(hits + 1);
  });

  it('should never answer a scope of another tenant with the same user id from this copy', async () => {
    await warm();
    const otherTenant: MemoryScope = { tenantId: asTenantId('0190a4d5-0000-7000-8000-000000000001'), userId: 'copied' };
    await statement.add(otherTenant, { content: 'apple banana for the other tenant' });
    const theirs = () => copied.search(otherTenant, { text: 'apple banana', mode: 'keyword', limit: 50 });
    expect((await theirs()).map((r) => r.memory.content)).toEqual(['apple banana for the other tenant']);
    // Now from the other tenant's own copy, next to this one.
    await copied.scopeIndexesSettled();
    const { hits } = copied.scopeIndexStats();
    expect((await theirs()).map((r) => r.memory.content)).toEqual(['apple banana for the other tenant']);
    expect(copied.scopeIndexStats().hits).toBe(hits + 1);
  });

  it('should never answer one scope from the copy of another', async () => {
    await warm();
    const other: MemoryScope = { tenantId: OSS_TENANT_ID, userId: 'someone-else' };
    await statement.add(other, { content: 'apple banana for someone else' });
    const theirs = await copied.search(other, {
      text: 'apple banana',
      mode: 'keyword',
      limit: 50,
    });
    expect(theirs.map((r) => r.memory.userId)).toEqual(['someone-else']);
  });
});
