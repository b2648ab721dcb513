import { describe, expect, it, jest } from '@jest/globals';
import { contentHash, type Embedder } from '@engram/memory-core';
import { CachedEmbedder } from './cached.embedder.js';
import { HashEmbedder } from './hash.embedder.js';

function newTestCache(maxEntries?: number) {
  const inner = new HashEmbedder({ dimensions: 32 });
  const embedSpy = jest.spyOn(inner, 'embed');
  const sut = new CachedEmbedder(inner, { maxEntries });
  return { sut, inner, embedSpy };
}

describe('CachedEmbedder', () => {
  it('has the model and dimensions of the embedder it wraps', () => {
    const { sut } = newTestCache();
    expect(sut.model).toBe('hash-v1-32');
    expect(sut.dimensions).toBe(32);
  });

  it('answers a repeated text from the cache without calling the inner embedder', async () => {
    const { sut, inner, embedSpy } = newTestCache();
    const [first] = await sut.embed(['remember this']);
    const [second] = await sut.embed(['remember this']);

    expect(embedSpy).toHaveBeenCalledTimes(1);
    expect(second).toEqual(first);
    expect(first).toEqual((await inner.embed(['remember this']))[0]);
    expect(sut.stats()).toEqual({ hits: 1, misses: 1, size: 1 });
  });

  it('embeds only the misses, in one call, and keeps the order of mixed hits and misses', async () => {
    const { sut, inner, embedSpy } = newTestCache();
    await sut.embed(['b', 'd']);
    embedSpy.mockClear();

    const texts = ['a', 'b', 'c', 'd', 'a'];
    const vectors = await sut.embed(texts);

    expect(embedSpy).toHaveBeenCalledTimes(1);
    expect(embedSpy).toHaveBeenCalledWith(['a', 'c']);
    expect(vectors).toEqual(await inner.embed(texts));
    expect(sut.stats()).toEqual({ hits: 2, misses: 5, size: 4 });
  });

  it('does not call the inner embedder when everything is cached, or for an empty batch', async () => {
    const { sut, embedSpy } = newTestCache();
    await sut.embed(['x', 'y']);
    embedSpy.mockClear();
    await sut.embed(['y', 'x']);
    await sut.embed([]);
    expect(embedSpy).not.toHaveBeenCalled();
  });

  it('evicts the least recently used entry when full', async () => {
    const { sut, embedSpy } = newTestCache(2);
    await sut.embed(['one', 'two']);
    await sut.embed(['one']); // now "two" is the least recently used
    await sut.embed(['three']);
    embedSpy.mockClear();

    await sut.embed(['one', 'three']);
    expect(embedSpy).not.toHaveBeenCalled();
    await sut.embed(['two']);
    expect(embedSpy).toHaveBeenCalledWith(['two']);
    expect(sut.stats().size).toBe(2);
  });

  it('hands out copies, so a caller that modifies a vector cannot corrupt the cache', async () => {
    const { sut } = newTestCache();
    const [first] = await sut.embed(['stable']);
    const original = [...first];
    first.fill(0);
    const [again] = await sut.embed(['stable']);
    expect(again).toEqual(original);
  });

  it('keeps vectors of different models apart', async () => {
    const shared = (model: string): Embedder => ({
      model,
      dimensions: 1,
      embed: async (texts) => texts.map(() => [model.length]),
    });
    const a = new CachedEmbedder(shared('m'));
    const b = new CachedEmbedder(shared('mm'));
    expect(await a.embed(['t'])).toEqual([[1]]);
    expect(await b.embed(['t'])).toEqual([[2]]);
  });

  it('propagates a failure of the inner embedder and caches nothing', async () => {
    const failing: Embedder = {
      model: 'failing',
      dimensions: 1,
      embed: async () => {
        throw new Error('down');
      },
    };
    const sut = new CachedEmbedder(failing);
    await expect(sut.embed(['t'])).rejects.toThrow('down');
    expect(sut.stats().size).toBe(0);
  });

  it('forgets texts named by their content hash, and only those', async () => {
    const { sut, embedSpy } = newTestCache();
    await sut.embed(['alice likes tea', 'bob likes coffee']);
    expect(sut.evictContent([contentHash('alice likes tea'), contentHash('never embedded')])).toBe(1);
    expect(sut.evictContent([contentHash('alice likes tea')])).toBe(0);
    embedSpy.mockClear();
    await sut.embed(['bob likes coffee']);
    expect(embedSpy).not.toHaveBeenCalled();
    await sut.embed(['alice likes tea']);
    expect(embedSpy).toHaveBeenCalledWith(['alice likes tea']);
    expect(() => sut.evictContent(['alice likes tea'])).toThrow(RangeError);
  });

  it('closes the inner embedder', async () => {
    const close = jest.fn(async () => undefined);
    const sut = new CachedEmbedder({ model: 'm', dimensions: 1, embed: async () => [], close });
    await sut.close();
    expect(close).toHaveBeenCalledTimes(1);
  });
});
