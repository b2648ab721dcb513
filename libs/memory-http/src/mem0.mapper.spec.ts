import { describe, expect, it } from '@jest/globals';
import { contentHash, MemoryException, MemoryExceptionCode, OSS_TENANT_ID, parseFilter } from '@engram/memory-core';
import { mem0FiltersOf, memoryOf, parseRemote, remoteMemorySchema } from './mem0.mapper.js';

describe('mem0 mapping', () => {
  describe('filters', () => {
    it('should pin the scope and translate the tree with explicit operators', () => {
      const filter = parseFilter({
        and: [
          { importance: { gte: 5 } },
          { or: [{ 'metadata.topic': 'health' }, { categories: { contains: 'food' } }] },
          { not: { created_at: { lt: '2026-01-01T00:00:00.000Z' } } },
        ],
      });
      expect(mem0FiltersOf({ tenantId: OSS_TENANT_ID, userId: 'alice', namespace: 'notes' }, filter)).toEqual({
        AND: [
          { user_id: 'alice' },
          { app_id: 'notes' },
          {
            AND: [
              { importance: { gte: 5 } },
              { OR: [{ 'metadata.topic': { eq: 'health' } }, { categories: { contains: 'food' } }] },
              { NOT: [{ created_at: { lt: '2026-01-01T00:00:00.000Z' } }] },
            ],
          },
        ],
      });
    });

    it('should never send a bare "*", which mem0 reads as a wildcard', () => {
      const filters = mem0FiltersOf({ tenantId: OSS_TENANT_ID, runId: 'r' }, parseFilter({ content: '*' }));
      expect(filters).toEqual({ AND: [{ run_id: 'r' }, { content: { eq: '*' } }] });
    });
  });

  describe('memories', () => {
    const remote = {
      id: '0196a6d2-3c4b-7d8e-9f00-112233445566',
      memory: 'Alice: likes tea',
      user_id: 'alice',
      agent_id: null,
      app_id: null,
      metadata: null,
      categories: [],
      expiration_date: '2026-12-31',
      created_at: '2026-05-01T10:00:00.000Z',
    };

    it("should fill what mem0 does not send with the protocol's defaults", () => {
      expect(memoryOf(OSS_TENANT_ID, parseRemote(remoteMemorySchema, remote, 'a memory'))).toEqual({
        id: remote.id,
        tenantId: OSS_TENANT_ID,
        userId: 'alice',
        agentId: null,
        runId: null,
        namespace: 'default',
        content: 'Alice: likes tea',
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
        contentHash: contentHash('Alice: likes tea'),
        createdAt: new Date('2026-05-01T10:00:00.000Z'),
        updatedAt: new Date('2026-05-01T10:00:00.000Z'),
        accessedAt: null,
        accessCount: 0,
        expiresAt: new Date('2026-12-31T23:59:59.999Z'),
      });
    });

    it('should refuse an answer of the wrong shape as the remote failing, naming the field', () => {
      let caught: unknown;
      try {
        parseRemote(remoteMemorySchema, { ...remote, memory: 42 }, 'a memory');
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(MemoryException);
      expect((caught as MemoryException).code).toBe(MemoryExceptionCode.DEPENDENCY_UNAVAILABLE);
      expect(JSON.stringify((caught as MemoryException).details)).toContain('memory');
    });
  });
});
