import { describe, expect, it } from '@jest/globals';
import { HYBRID_MIN_CANDIDATES, fuseHybrid, hybridCandidatesPerLeg, type HybridLegs } from './hybrid-fusion.js';

const legs = (keyword: [string, number][], vector: [string, number][], speaker: string[] = []): HybridLegs => ({
  keyword: new Map(keyword),
  vector: new Map(vector),
  speaker: new Set(speaker),
});

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

  it('should widen the pool for large limits', () => {
    expect(hybridCandidatesPerLeg(100)).toBe(200);
  });
});
