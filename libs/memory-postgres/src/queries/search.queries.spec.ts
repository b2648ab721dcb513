import { describe, expect, it } from '@jest/globals';
import {
  hybridCandidatesPerLeg,
  OSS_TENANT_ID,
  parseFilter,
  validateSearchQuery,
  type MemoryScope,
  type SearchQuery,
} from '@engram/memory-core';
import { searchCandidates, searchMemories, selectSpeakerLabels, type VectorStrategy } from './search.queries.js';

const scope: MemoryScope = { tenantId: OSS_TENANT_ID, userId: "o'brien" };
const now = new Date('2026-01-01T00:00:00Z');
const HOSTILE = "x'); DROP TABLE memories; --";

function statement(query: Partial<SearchQuery>, strategy: VectorStrategy = 'exact') {
  const valid = validateSearchQuery({
    text: HOSTILE,
    mode: 'hybrid',
    limit: 10,
    embedding: { vector: [0.5, 0.25, 1e-7], model: HOSTILE },
    ...query,
  });
  return searchMemories({ scope, query: valid, now, strategy });
}

describe('searchMemories', () => {
  it('should pass every value as a parameter, never in the SQL text', () => {
    const { text, values } = statement({ filter: parseFilter({ 'metadata.topic': HOSTILE }), threshold: 0.25 });
    expect(text).not.toContain('DROP TABLE');
    expect(text).not.toContain("o'brien");
    expect(text).not.toContain('0.25');
    expect(values).toEqual(expect.arrayContaining([HOSTILE, "o'brien", OSS_TENANT_ID, 0.25, '[0.5,0.25,1e-7]']));
    // Every placeholder has its value, and no value is left without a placeholder.
    const placeholders = new Set([...text.matchAll(/\$(\d+)/g)].map((match) => Number(match[1])));
    expect([...placeholders].sort((a, b) => a - b)).toEqual(values.map((_, index) => index + 1));
  });

  it.each([
    ['keyword', ['keyword_candidates'], ['vector_candidates']],
    ['vector', ['vector_candidates'], ['keyword_candidates']],
    ['hybrid', ['vector_candidates', 'keyword_candidates'], []],
  ] as const)('should run only the legs of %s mode', (mode, present, absent) => {
    const { text } = statement({ mode, embedding: mode === 'keyword' ? undefined : { vector: [1, 0], model: 'm' } });
    for (const leg of present) expect(text).toContain(`${leg} AS (`);
    for (const leg of absent) expect(text).not.toContain(`${leg} AS (`);
    expect(text.includes('signals AS MATERIALIZED (')).toBe(mode === 'hybrid');
  });

  it('should repeat the HNSW index expression and predicate for the dimension of the query', () => {
    const { text } = statement({ embedding: { vector: [1, 0, 0], model: 'm' } }, 'hnsw');
    expect(text).toContain('m.embedding::vector(3) <=>');
    expect(text).toContain('m.embedding_dimensions = 3');
    expect(text).not.toContain('scope_rows');
  });

  it('should read a small scope once, fenced off from the indexes, and rank both legs from it', () => {
    const { text } = statement({}, 'exact');
    expect(text).toContain('scope_rows AS MATERIALIZED');
    expect(text.match(/FROM memories m WHERE/g)).toHaveLength(1);
    expect(text).toContain('keyword_scores AS MATERIALIZED');
    expect(text).not.toContain('ts_rank_cd');
  });

  it("should rank a large scope's keyword leg with ts_rank_cd through the GIN index", () => {
    const { text } = statement({}, 'hnsw');
    expect(text).toContain('ts_rank_cd');
    expect(text).not.toContain('keyword_scores');
  });

  it.each(['exact', 'hnsw'] as const)(
    'should feed the first pass back into the vector leg of hybrid mode on the %s path, and only there',
    (strategy) => {
      const embedding = { vector: [1, 0, 0], model: 'm' };
      const hybrid = statement({ embedding }, strategy).text;
      expect(hybrid).toContain('feedback AS MATERIALIZED');
      // The candidates' vectors are read with the rest of their row, typed as the query's.
      expect(hybrid).toMatch(/THEN m\.embedding::vector\(3\) END AS emb/);
      expect(statement({ embedding, mode: 'vector' }, strategy).text).not.toContain('feedback');
      expect(statement({ embedding: undefined, mode: 'keyword' }, strategy).text).not.toContain('feedback');
    },
  );

  it('should take the reference pool of candidates per leg', () => {
    expect(searchCandidates(10)).toBe(hybridCandidatesPerLeg(10));
    expect(searchCandidates(100)).toBe(200);
  });
});

describe('selectSpeakerLabels', () => {
  it('should run the label expression only on rows with a colon, whatever order the planner gives the predicates', () => {
    const { text, values } = selectSpeakerLabels(scope, now);
    expect(text).toMatch(/CASE WHEN strpos\(m\.content, ':'\) > 0 THEN substring\(m\.content FROM \$\d+::text\) END/);
    expect(text).not.toContain("o'brien");
    expect(values).toEqual(expect.arrayContaining([OSS_TENANT_ID, "o'brien", now]));
  });
});
