/* @license Enterprise */
import { describe, expect, it } from '@jest/globals';
import { effectiveQuotas, estimateEmbeddingTokens, PLATFORM_DEFAULT_QUOTAS } from './usage-quotas.js';

describe('effective quotas', () => {
  it('takes the platform default for every quota not given', () => {
    expect(effectiveQuotas({})).toEqual(PLATFORM_DEFAULT_QUOTAS);
    expect(effectiveQuotas(null)).toEqual(PLATFORM_DEFAULT_QUOTAS);
  });

  it('takes the tenant’s own, zero included', () => {
    expect(
      effectiveQuotas({ maxMemories: 0, maxRequestsPerMonth: 10, requestsPerMinute: 5, maxEmbeddingTokensPerMonth: 7 }),
    ).toEqual({ maxMemories: 0, maxRequestsPerMonth: 10, requestsPerMinute: 5, maxEmbeddingTokensPerMonth: 7 });
  });

  it('ignores what is not a whole number of at least zero (hand-edited jsonb)', () => {
    const stored = { maxMemories: -1, maxRequestsPerMonth: 1.5, requestsPerMinute: '9' } as never;
    expect(effectiveQuotas(stored)).toEqual(PLATFORM_DEFAULT_QUOTAS);
  });
});

describe('embedding token estimate', () => {
  it('is a quarter of the characters, rounded up, at least one', () => {
    expect(estimateEmbeddingTokens('')).toBe(1);
    expect(estimateEmbeddingTokens('abcd')).toBe(1);
    expect(estimateEmbeddingTokens('abcde')).toBe(2);
    expect(estimateEmbeddingTokens('x'.repeat(400))).toBe(100);
  });
});
