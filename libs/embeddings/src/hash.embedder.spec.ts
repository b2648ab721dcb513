import { describe, expect, it } from '@jest/globals';
import { HashEmbedder } from './hash.embedder.js';
import { cosineSimilarity } from './vector-math.js';

const norm = (vector: number[]): number => Math.hypot(...vector);

describe('HashEmbedder', () => {
  const sut = new HashEmbedder();

  it('defaults to 384 dimensions and names the model after them', () => {
    expect(sut.dimensions).toBe(384);
    expect(sut.model).toBe('hash-v1-384');
  });

  it('respects the configured dimensions', async () => {
    const small = new HashEmbedder({ dimensions: 64 });
    const [vector] = await small.embed(['the quick brown fox']);
    expect(small.model).toBe('hash-v1-64');
    expect(vector).toHaveLength(64);
  });

  it('rejects dimensions that are not a positive integer', () => {
    expect(() => new HashEmbedder({ dimensions: 0 })).toThrow(RangeError);
    expect(() => new HashEmbedder({ dimensions: 1.5 })).toThrow(RangeError);
  });

  it('is deterministic, across calls and across instances', async () => {
    const text = 'User prefers dark mode in every editor';
    const [first] = await sut.embed([text]);
    const [second] = await sut.embed([text]);
    const [other] = await new HashEmbedder().embed([text]);
    expect(second).toEqual(first);
    expect(other).toEqual(first);
  });

  it('returns unit vectors', async () => {
    const vectors = await sut.embed(['a', 'Hello, world!', 'déjà vu über café', 'word '.repeat(500)]);
    for (const vector of vectors) expect(norm(vector)).toBeCloseTo(1, 10);
  });

  it('ignores case and punctuation', async () => {
    const [a, b] = await sut.embed(['Hello, World!', 'hello world']);
    expect(cosineSimilarity(a, b)).toBeCloseTo(1, 10);
  });

  it('places texts that share words and word forms closer than unrelated texts', async () => {
    const [query, similar, unrelated] = await sut.embed([
      'my favourite programming language is typescript',
      'typescript is the programming language I like the most',
      'the weather in paris was rainy all week',
    ]);
    expect(cosineSimilarity(query, similar)).toBeGreaterThan(cosineSimilarity(query, unrelated) + 0.2);

    const [running, runner, banana] = await sut.embed(['running', 'runner', 'banana']);
    expect(cosineSimilarity(running, runner)).toBeGreaterThan(cosineSimilarity(running, banana));
  });

  it('embeds a text without letters or digits, including the empty string, as the zero vector', async () => {
    const [empty, punctuation] = await sut.embed(['', '  ?!  ']);
    expect(empty).toHaveLength(384);
    expect(empty.every((value) => value === 0)).toBe(true);
    expect(punctuation.every((value) => value === 0)).toBe(true);
  });

  it('keeps the order of a batch, and batching does not change the vectors', async () => {
    const texts = ['alpha', 'beta', 'gamma', 'alpha'];
    const batch = await sut.embed(texts);
    const single = await Promise.all(texts.map(async (text) => (await sut.embed([text]))[0]));
    expect(batch).toEqual(single);
    expect(batch[0]).toEqual(batch[3]);
    expect(batch[0]).not.toEqual(batch[1]);
  });

  it('returns an empty array for an empty batch', async () => {
    await expect(sut.embed([])).resolves.toEqual([]);
  });
});
