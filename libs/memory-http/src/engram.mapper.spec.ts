import { describe, expect, it } from '@jest/globals';
import { parseFilter } from '@engram/memory-core';
import { filterJsonOf, patchBodyOf } from './engram.mapper.js';

describe('filterJsonOf', () => {
  it.each([
    ['a bare equality', { importance: 5 }],
    [
      'nested and, or, not',
      { and: [{ or: [{ memory_type: 'fact' }, { importance: { gte: 7 } }] }, { not: { status: 'failed' } }] },
    ],
    ['metadata paths', { 'metadata.topic.name': { in: ['health', 'food'] }, 'metadata.pinned': { exists: true } }],
    ['lists and dates', { categories: { contains: 'food' }, created_at: { lt: '2026-01-02T03:04:05.678Z' } }],
  ])('should write %s so that the remote parses back the same tree', (_, input) => {
    const filter = parseFilter(input);
    expect(parseFilter(JSON.parse(JSON.stringify(filterJsonOf(filter))))).toEqual(filter);
  });
});

describe('patchBodyOf', () => {
  it('should send only the fields given, and an expiry of null as null', () => {
    expect(patchBodyOf({ importance: 3, expiresAt: null })).toEqual({ importance: 3, expires_at: null });
    expect(patchBodyOf({ content: 'x', memoryType: 'preference', categories: [] })).toEqual({
      content: 'x',
      memory_type: 'preference',
      categories: [],
    });
  });
});
