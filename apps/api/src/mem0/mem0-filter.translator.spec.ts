import { describe, expect, it } from '@jest/globals';
import {
  asTenantId,
  matchesFilter,
  MemoryException,
  MemoryExceptionCode,
  parseFilter,
  type Filter,
  type Memory,
} from '@engram/memory-core';
import { coverOf, MAX_SCOPES, scopedReads, translateMem0Filters } from './mem0-filter.translator.js';

const tenantId = asTenantId('7d3c5e0a-4f1b-4c8e-9a2d-6b5f4e3c2a10');

/** The translation must be exactly what Engram's parser makes of the equivalent native filter. */
function expectSame(mem0: unknown, native: unknown): void {
  expect(translateMem0Filters(mem0)).toEqual(parseFilter(native));
}

function expectFilterError(mem0: unknown, code = MemoryExceptionCode.INVALID_FILTER): void {
  let caught: unknown;
  try {
    translateMem0Filters(mem0);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(MemoryException);
  expect((caught as MemoryException).code).toBe(code);
}

function memory(fields: Partial<Memory>): Memory {
  const at = new Date('2024-07-15T10:00:00Z');
  return {
    id: '01900000-0000-7000-8000-000000000000',
    tenantId,
    userId: null,
    agentId: null,
    runId: null,
    namespace: 'default',
    content: 'Likes to play cricket on weekends',
    memoryType: 'fact',
    importance: 5,
    confidence: 1,
    metadata: {},
    categories: [],
    status: 'ready',
    failureReason: null,
    embeddingModel: null,
    embeddingDimensions: null,
    embedding: null,
    contentHash: 'h',
    createdAt: at,
    updatedAt: at,
    accessedAt: null,
    accessCount: 0,
    expiresAt: null,
    ...fields,
  };
}

describe('translateMem0Filters', () => {
  describe('fields', () => {
    it('keeps the entity ids, in snake_case or camelCase', () => {
      expectSame({ user_id: 'alice' }, { user_id: { eq: 'alice' } });
      expectSame({ userId: 'alice' }, { user_id: { eq: 'alice' } });
      expectSame({ agentId: 'bot', runId: 'r1' }, { and: [{ agent_id: { eq: 'bot' } }, { run_id: { eq: 'r1' } }] });
    });

    it('reads app_id as the namespace', () => {
      expectSame({ app_id: 'travel' }, { namespace: { eq: 'travel' } });
      expectSame({ appId: 'travel' }, { namespace: { eq: 'travel' } });
    });

    it('reads keywords as a case-insensitive search of the content', () => {
      expectSame({ keywords: 'Cricket' }, { content: { icontains: 'Cricket' } });
      expectSame({ keywords: { contains: 'cricket' } }, { content: { contains: 'cricket' } });
    });

    it('reads a bare category as "has this category", and a list as any of them', () => {
      expectSame({ categories: 'sports' }, { categories: { contains: 'sports' } });
      expectSame({ categories: ['sports', 'food'] }, { categories: { in: ['sports', 'food'] } });
      expectSame({ categories: { in: ['sports'] } }, { categories: { in: ['sports'] } });
    });

    it('takes dates in either case and expiration_date as expires_at', () => {
      expectSame(
        { created_at: { gte: '2024-07-01', lte: '2024-07-31' } },
        { created_at: { gte: '2024-07-01', lte: '2024-07-31' } },
      );
      expectSame({ updatedAt: { gt: '2024-01-01' } }, { updated_at: { gt: '2024-01-01' } });
      expectSame({ expiration_date: { lt: '2030-01-01' } }, { expires_at: { lt: '2030-01-01' } });
    });

    it('reads metadata objects as metadata keys, nested ones as paths, operator objects as operators', () => {
      expectSame({ metadata: { food: 'pizza' } }, { 'metadata.food': { eq: 'pizza' } });
      expectSame(
        { metadata: { stars: { gte: 4 }, place: { city: 'Paris' } } },
        { and: [{ 'metadata.stars': { gte: 4 } }, { 'metadata.place.city': { eq: 'Paris' } }] },
      );
      expectSame({ 'metadata.food': { ne: 'pizza' } }, { 'metadata.food': { ne: 'pizza' } });
    });

    it("passes Engram's own fields through", () => {
      expectSame({ importance: { gte: 7 } }, { importance: { gte: 7 } });
      expectSame({ memory_type: 'preference' }, { memory_type: { eq: 'preference' } });
    });

    it('reads a list as "any of"', () => {
      expectSame({ agent_id: ['a', 'b'] }, { agent_id: { in: ['a', 'b'] } });
    });
  });

  describe('operators', () => {
    it.each(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'contains', 'icontains'])('keeps %s', (op) => {
      const value = op === 'contains' || op === 'icontains' ? 'piz' : 'pizza';
      expectSame({ metadata: { food: { [op]: value } } }, { 'metadata.food': { [op]: value } });
    });

    it('keeps in and nin', () => {
      expectSame({ user_id: { in: ['a', 'b'] } }, { user_id: { in: ['a', 'b'] } });
      expectSame({ run_id: { nin: ['r1'] } }, { run_id: { nin: ['r1'] } });
    });

    it('refuses an unknown operator with a 400', () => {
      expectFilterError({ user_id: { starts_with: 'a' } });
    });

    it("leaves Engram's parser to refuse a value of the wrong type", () => {
      expectFilterError({ created_at: { gte: 'last tuesday' } });
    });
  });

  describe('logic', () => {
    it('translates AND, OR and NOT, in upper or lower case', () => {
      expectSame(
        { AND: [{ user_id: 'alice' }, { OR: [{ agent_id: 'a' }, { agent_id: 'b' }] }] },
        { and: [{ user_id: { eq: 'alice' } }, { or: [{ agent_id: { eq: 'a' } }, { agent_id: { eq: 'b' } }] }] },
      );
      expectSame(
        { and: [{ user_id: 'alice' }], not: [{ keywords: 'x' }] },
        {
          and: [{ user_id: { eq: 'alice' } }, { not: { content: { icontains: 'x' } } }],
        },
      );
    });

    it('takes NOT over a list (their AND) or over one filter', () => {
      expectSame(
        { NOT: [{ user_id: 'a' }, { run_id: 'r' }] },
        { not: { and: [{ user_id: { eq: 'a' } }, { run_id: { eq: 'r' } }] } },
      );
      expectSame({ NOT: { user_id: 'a' } }, { not: { user_id: { eq: 'a' } } });
    });

    it('reads several keys of one object as their AND', () => {
      expectSame(
        { user_id: 'alice', categories: 'food' },
        {
          and: [{ user_id: { eq: 'alice' } }, { categories: { contains: 'food' } }],
        },
      );
    });

    it('refuses an empty AND', () => {
      expectFilterError({ AND: [] });
    });
  });

  describe('the wildcard', () => {
    it('constrains nothing: an AND drops it', () => {
      expectSame({ AND: [{ user_id: 'alex' }, { run_id: '*' }] }, { user_id: { eq: 'alex' } });
    });

    it('makes an OR with a wildcard branch match everything', () => {
      expect(translateMem0Filters({ OR: [{ user_id: 'alex' }, { agent_id: '*' }] })).toBeUndefined();
    });

    it('refuses NOT of a wildcard, which could match nothing', () => {
      expectFilterError({ NOT: [{ run_id: '*' }] });
    });
  });

  it('refuses an unknown field with a 400 that lists the fields', () => {
    let caught: unknown;
    try {
      translateMem0Filters({ AND: [{ user_id: 'a' }, { mood: 'happy' }] });
    } catch (error) {
      caught = error;
    }
    expect((caught as MemoryException).code).toBe(MemoryExceptionCode.INVALID_FILTER);
    expect((caught as MemoryException).message).toMatch(
      /filters\.AND\[1\]\.mood: unknown filter field "mood".*user_id/,
    );
  });

  it('means what mem0 means on real memories', () => {
    const filter = translateMem0Filters({
      AND: [
        { user_id: 'alice' },
        { created_at: { gte: '2024-07-01', lte: '2024-07-31' } },
        { OR: [{ categories: 'sports' }, { keywords: 'CRICKET' }] },
        { NOT: [{ metadata: { archived: true } }] },
      ],
    })!;
    expect(matchesFilter(memory({ userId: 'alice' }), filter)).toBe(true);
    expect(matchesFilter(memory({ userId: 'bob' }), filter)).toBe(false);
    expect(matchesFilter(memory({ userId: 'alice', metadata: { archived: true } }), filter)).toBe(false);
    expect(matchesFilter(memory({ userId: 'alice', createdAt: new Date('2024-08-02T00:00:00Z') }), filter)).toBe(false);
    expect(matchesFilter(memory({ userId: 'alice', content: 'likes tea', categories: ['sports'] }), filter)).toBe(true);
    expect(matchesFilter(memory({ userId: 'alice', content: 'likes tea' }), filter)).toBe(false);
  });
});

describe('scopes of a read', () => {
  const cover = (mem0: unknown) => coverOf(translateMem0Filters(mem0)!);

  it('finds the one scope a top-level entity pins', () => {
    expect(cover({ user_id: 'alice' })).toEqual([{ userId: 'alice' }]);
    expect(cover({ AND: [{ user_id: 'alice' }, { agent_id: 'bot' }, { importance: { gt: 3 } }] })).toEqual([
      { userId: 'alice', agentId: 'bot' },
    ]);
  });

  it('finds one scope per value of an in, and per branch of an OR', () => {
    expect(cover({ agent_id: { in: ['a', 'b'] } })).toEqual([{ agentId: 'a' }, { agentId: 'b' }]);
    expect(cover({ OR: [{ user_id: 'alice' }, { agent_id: { in: ['travel', 'sports'] } }] })).toEqual([
      { userId: 'alice' },
      { agentId: 'travel' },
      { agentId: 'sports' },
    ]);
  });

  it('combines an AND of ORs', () => {
    expect(cover({ AND: [{ user_id: 'alice' }, { OR: [{ run_id: 'r1' }, { run_id: 'r2' }] }] })).toEqual([
      { userId: 'alice', runId: 'r1' },
      { userId: 'alice', runId: 'r2' },
    ]);
  });

  it('finds no scope for a contradiction: the read matches nothing', () => {
    expect(cover({ AND: [{ user_id: 'alice' }, { user_id: 'bob' }] })).toEqual([]);
    expect(scopedReads(tenantId, translateMem0Filters({ AND: [{ user_id: 'a' }, { user_id: 'b' }] }))).toEqual([]);
  });

  it.each([
    ['no entity', { created_at: { gte: '2024-01-01' } }],
    ['only a wildcard', { user_id: '*' }],
    ['an OR with a branch without an entity', { OR: [{ user_id: 'alice' }, { importance: { gt: 5 } }] }],
    ['only NOT', { NOT: [{ user_id: 'alice' }] }],
    ['only ne', { user_id: { ne: 'alice' } }],
    ['only app_id', { app_id: 'travel' }],
  ])('refuses a read that names %s with SCOPE_REQUIRED (a 400)', (_name, mem0) => {
    let caught: unknown;
    try {
      scopedReads(tenantId, translateMem0Filters(mem0));
    } catch (error) {
      caught = error;
    }
    expect((caught as MemoryException).code).toBe(MemoryExceptionCode.SCOPE_REQUIRED);
  });

  it('refuses a read over more than MAX_SCOPES scopes', () => {
    const many = Array.from({ length: MAX_SCOPES + 1 }, (_, i) => `user-${i}`);
    expect(() => scopedReads(tenantId, translateMem0Filters({ user_id: { in: many } }))).toThrow(MemoryException);
  });

  it('drops a scope inside a wider one', () => {
    const reads = scopedReads(
      tenantId,
      translateMem0Filters({ OR: [{ user_id: 'alice' }, { AND: [{ user_id: 'alice' }, { run_id: 'r1' }] }] }),
    );
    expect(reads.map((read) => read.scope)).toEqual([{ tenantId, userId: 'alice' }]);
  });

  it('gives each scope the whole filter, and each later scope none of the earlier ones', () => {
    const filter = translateMem0Filters({ OR: [{ user_id: 'alice' }, { agent_id: 'bot' }] })!;
    const [first, second] = scopedReads(tenantId, filter);
    expect(first).toEqual({ scope: { tenantId, userId: 'alice' }, filter });
    expect(second.scope).toEqual({ tenantId, agentId: 'bot' });

    // A memory of alice AND bot is read once, in alice's scope.
    const shared = memory({ userId: 'alice', agentId: 'bot' });
    const botOnly = memory({ agentId: 'bot' });
    expect(matchesFilter(shared, first.filter)).toBe(true);
    expect(matchesFilter(shared, second.filter)).toBe(false);
    expect(matchesFilter(botOnly, second.filter)).toBe(true);
    expect(matchesFilter(memory({ agentId: 'other' }), second.filter satisfies Filter)).toBe(false);
  });
});
