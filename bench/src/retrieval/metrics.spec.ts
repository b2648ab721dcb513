import { describe, expect, it } from '@jest/globals';
import { recallAt, reciprocalRank, summarise, type QuestionOutcome } from './metrics.js';

// Synthetic ids only: the benchmark's data is CC BY-NC and stays out of the repository.
const ranked = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];

describe('recallAt', () => {
  it('should count the fraction of evidence ids in the top k', () => {
    expect(recallAt(ranked, ['a'], 1)).toBe(1);
    expect(recallAt(ranked, ['b'], 1)).toBe(0);
    expect(recallAt(ranked, ['b', 'x'], 5)).toBe(0.5);
    expect(recallAt(ranked, ['a', 'e', 'j'], 5)).toBeCloseTo(2 / 3, 12);
    expect(recallAt(ranked, ['a', 'e', 'j'], 10)).toBe(1);
  });

  it('should cap a perfect ranking of several evidence ids at k / |evidence|', () => {
    expect(recallAt(['x', 'y', 'z'], ['x', 'y', 'z'], 1)).toBeCloseTo(1 / 3, 12);
  });

  it('should count an id returned twice once, and ignore unmapped results', () => {
    expect(recallAt(['a', 'a', null, 'b'], ['a', 'b'], 2)).toBe(0.5);
    expect(recallAt(['a', 'a', null, 'b'], ['a', 'b'], 4)).toBe(1);
  });

  it('should treat fewer than k results as a shorter list', () => {
    expect(recallAt(['a'], ['a', 'b'], 10)).toBe(0.5);
    expect(recallAt([], ['a'], 10)).toBe(0);
  });

  it('should refuse a question without evidence and a k below 1', () => {
    expect(() => recallAt(ranked, [], 5)).toThrow(RangeError);
    expect(() => recallAt(ranked, ['a'], 0)).toThrow(RangeError);
  });
});

describe('reciprocalRank', () => {
  it('should use the first evidence id found', () => {
    expect(reciprocalRank(ranked, ['a'])).toBe(1);
    expect(reciprocalRank(ranked, ['d', 'b'])).toBe(0.5);
    expect(reciprocalRank(ranked, ['j'])).toBe(0.1);
    expect(reciprocalRank([null, 'x', 'a'], ['a'])).toBeCloseTo(1 / 3, 12);
  });

  it('should be 0 when no evidence id was returned', () => {
    expect(reciprocalRank(ranked, ['z'])).toBe(0);
    expect(reciprocalRank([], ['a'])).toBe(0);
  });
});

describe('summarise', () => {
  const outcomes: QuestionOutcome[] = [
    { category: 'alpha', evidence: ['a'], ranked: ['a', 'b'] }, // r1 1, r5 1, rr 1
    { category: 'alpha', evidence: ['c', 'z'], ranked: ['a', 'b', 'c'] }, // r1 0, r5 .5, rr 1/3
    { category: 'beta', evidence: ['q'], ranked: ['a', 'b', 'c', 'd', 'e', 'q'] }, // r1 0, r5 0, r10 1, rr 1/6
  ];

  it('should average each metric over the questions', () => {
    const { overall } = summarise(outcomes);
    expect(overall.n).toBe(3);
    expect(overall.r1).toBeCloseTo(1 / 3, 12);
    expect(overall.r5).toBeCloseTo(1.5 / 3, 12);
    expect(overall.r10).toBeCloseTo(2.5 / 3, 12);
    expect(overall.mrr).toBeCloseTo((1 + 1 / 3 + 1 / 6) / 3, 12);
  });

  it('should score each category on its own questions, in the order given', () => {
    const { byCategory } = summarise(outcomes, ['beta', 'alpha', 'gamma']);
    // A category without questions is left out rather than reported as zeros.
    expect([...byCategory.keys()]).toEqual(['beta', 'alpha']);
    expect(byCategory.get('alpha')).toEqual({ r1: 0.5, r5: 0.75, r10: 0.75, mrr: (1 + 1 / 3) / 2, n: 2 });
    expect(byCategory.get('beta')).toEqual({ r1: 0, r5: 0, r10: 1, mrr: 1 / 6, n: 1 });
  });

  it('should report zeros for no questions rather than NaN', () => {
    expect(summarise([]).overall).toEqual({ r1: 0, r5: 0, r10: 0, mrr: 0, n: 0 });
  });
});
