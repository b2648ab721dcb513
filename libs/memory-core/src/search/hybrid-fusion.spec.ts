import { describe, expect, it } from '@jest/globals';
import {
  HYBRID_FEEDBACK_DOCS,
  HYBRID_FEEDBACK_WEIGHT,
  HYBRID_MIN_CANDIDATES,
  HYBRID_WEIGHTS,
  fuseHybrid,
  hybridCandidatesPerLeg,
  type HybridLegs,
} from './hybrid-fusion.js';

/** Without `vectors` no candidate can feed back: the first pass alone. */
const legs = (
  keyword: [string, number][],
  vector: [string, number][],
  speaker: string[] = [],
  vectors: [string, number[]][] = [],
): HybridLegs => ({
  keyword: new Map(keyword),
  vector: new Map(vector),
  speaker: new Set(speaker),
  vectors: new Map(vectors),
});

const U = [1, 0];
const W = [0, 1];

describe('fuseHybrid', () => {
  it('should divide each leg by its best score and weigh the legs equally', () => {
    const fused = fuseHybrid(
      legs(
        [
          ['a', 8],
          ['b', 4],
        ],
        [
          ['a', 0.2],
          ['b', 0.4],
          ['c', 0.1],
        ],
      ),
      10,
    );
    expect(fused.get('a')).toBeCloseTo((1 + 0.5) / 2, 12);
    expect(fused.get('b')).toBeCloseTo((0.5 + 1) / 2, 12);
    expect(fused.get('c')).toBeCloseTo(0.25 / 2, 12);
  });

  it('should score 1 a memory first in both legs when no speaker is named', () => {
    expect(
      fuseHybrid(
        legs(
          [['a', 3]],
          [
            ['a', 0.7],
            ['b', 0.1],
          ],
        ),
        10,
      ).get('a'),
    ).toBe(1);
  });

  it('should add the speaker signal with its weight and stay in [0, 1]', () => {
    const fused = fuseHybrid(
      legs(
        [
          ['a', 2],
          ['b', 2],
        ],
        [
          ['a', 0.5],
          ['b', 0.5],
        ],
        ['b'],
      ),
      10,
    );
    expect(fused.get('a')).toBeCloseTo(1 / 1.2, 12);
    expect(fused.get('b')).toBe(1);
  });

  it('should rank a memory without a vector that is first in the keyword leg at least as high as the best vector-only one', () => {
    const fused = fuseHybrid(
      legs(
        [['pending', 5]],
        [
          ['x', 0.9],
          ['y', 0.3],
        ],
      ),
      10,
    );
    expect(fused.get('pending')).toBe(fused.get('x'));
  });

  it('should score nothing when no leg has a positive score', () => {
    expect([
      ...fuseHybrid(
        legs(
          [],
          [
            ['x', 0],
            ['y', 0],
          ],
        ),
        10,
      ).values(),
    ]).toEqual([0, 0]);
    expect(fuseHybrid(legs([], []), 10).size).toBe(0);
  });

  it('should fuse the union of each leg’s top candidates, each with its real scores in both legs', () => {
    const perLeg = hybridCandidatesPerLeg(10);
    expect(perLeg).toBe(HYBRID_MIN_CANDIDATES);
    const count = 2 * perLeg + 50;
    const ids = Array.from({ length: count }, (_, i) => `m${String(i).padStart(4, '0')}`);
    // The keyword leg favours the first ids and the vector leg the last: the middle 50 are in neither top list.
    const keyword = ids.map((id, i): [string, number] => [id, count - i]);
    const vector = ids.map((id, i): [string, number] => [id, (i + 1) / count]);
    const fused = fuseHybrid(legs(keyword, vector), 10);

    expect(fused.size).toBe(2 * perLeg);
    expect(fused.has(ids[perLeg])).toBe(false);
    // The keyword leg's best has the vector leg's lowest score, and that still counts.
    expect(fused.get(ids[0])).toBeCloseTo((1 + 1 / count) / 2, 12);
  });

  describe('the feedback pass', () => {
    it('should take 3 feedback candidates with weight 0.5', () => {
      expect([HYBRID_FEEDBACK_DOCS, HYBRID_FEEDBACK_WEIGHT]).toEqual([3, 0.5]);
    });

    it("should move up the neighbours of the first pass's best candidates", () => {
      // a, d and e lead the first pass, all pointing along U; b points along U too, c elsewhere.
      const fused = fuseHybrid(
        legs(
          [
            ['a', 10],
            ['d', 9],
            ['e', 8],
          ],
          [
            ['a', 0.6],
            ['d', 0.6],
            ['e', 0.6],
            ['b', 0.5],
            ['c', 0.55],
          ],
          [],
          [
            ['a', U],
            ['d', U],
            ['e', U],
            ['b', U],
            ['c', W],
          ],
        ),
        10,
      );
      // c₂: a, d, e 0.6 + 0.5·1 = 1.1 (the maximum); b 0.5 + 0.5·1 = 1; c 0.55 + 0.5·0 = 0.55.
      expect(fused.get('a')).toBe(1);
      expect(fused.get('d')).toBeCloseTo(0.5 * 0.9 + 0.5, 12);
      expect(fused.get('b')).toBeCloseTo(0.5 * (1 / 1.1), 12);
      expect(fused.get('c')).toBeCloseTo(0.5 * (0.55 / 1.1), 12);
      // The first pass ranked c (0.55) above b (0.5).
      expect(fused.get('b')!).toBeGreaterThan(fused.get('c')!);
    });

    it('should take the feedback from the best candidates that have a vector', () => {
      // The pending memory leads the first pass but has no vector: a alone feeds back.
      const fused = fuseHybrid(
        legs(
          [
            ['pending', 20],
            ['a', 10],
          ],
          [
            ['a', 0.6],
            ['b', 0.5],
            ['c', 0.55],
          ],
          [],
          [
            ['a', U],
            ['b', U],
            ['c', W],
          ],
        ),
        10,
        HYBRID_WEIGHTS,
        { docs: 1, weight: 0.5 },
      );
      expect(fused.get('pending')).toBe(0.5);
      expect(fused.get('a')).toBeCloseTo(0.5 * 0.5 + 0.5, 12);
      expect(fused.get('b')).toBeCloseTo(0.5 * (1 / 1.1), 12);
      expect(fused.get('c')).toBeCloseTo(0.5 * (0.55 / 1.1), 12);
      // Still: first in the keyword leg is at least as good as anything the vector leg alone finds.
      expect(fused.get('pending')!).toBeGreaterThanOrEqual(Math.max(fused.get('b')!, fused.get('c')!));
    });

    it('should count a zero vector as similar to nothing', () => {
      const fused = fuseHybrid(
        legs(
          [
            ['zero', 10],
            ['a', 9],
          ],
          [
            ['zero', 0],
            ['a', 0.6],
            ['b', 0.3],
          ],
          [],
          [
            ['zero', [0, 0]],
            ['a', U],
            ['b', U],
          ],
        ),
        10,
        HYBRID_WEIGHTS,
        { docs: 2, weight: 0.5 },
      );
      // F = a, zero. c₂: a 0.6 + 0.5·(1 + 0)/2 = 0.85; b 0.3 + 0.25 = 0.55; zero 0.
      expect(fused.get('a')).toBeCloseTo(0.5 * 0.9 + 0.5, 12);
      expect(fused.get('b')).toBeCloseTo(0.5 * (0.55 / 0.85), 12);
      expect(fused.get('zero')).toBeCloseTo(0.5, 12);
    });

    it('should leave the first pass alone when no candidate has a positive cosine', () => {
      const fused = fuseHybrid(
        legs(
          [
            ['a', 5],
            ['b', 3],
          ],
          [
            ['a', 0],
            ['b', 0],
          ],
          [],
          [
            ['a', U],
            ['b', U],
          ],
        ),
        10,
      );
      expect(fused.get('a')).toBe(1);
      expect(fused.get('b')).toBeCloseTo(0.6, 12);
    });

    it('should clamp a negative moved cosine at 0', () => {
      const fused = fuseHybrid(
        legs(
          [['a', 5]],
          [
            ['a', 0.8],
            ['b', 0.1],
          ],
          [],
          [
            ['a', U],
            ['b', [-1, 0]],
          ],
        ),
        10,
        HYBRID_WEIGHTS,
        { docs: 1, weight: 0.5 },
      );
      // b: 0.1 + 0.5·(−1) < 0 → 0.
      expect(fused.get('b')).toBe(0);
      expect(fused.get('a')).toBe(1);
    });
  });

  it('should widen the pool for large limits', () => {
    expect(hybridCandidatesPerLeg(100)).toBe(200);
  });
});
