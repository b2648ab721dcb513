import { afterAll, describe, expect, it } from '@jest/globals';
import { MemoryExceptionCode } from '@engram/memory-core';
import {
  LocalEmbedder,
  loadUniversalSentenceEncoder,
  type TextEmbeddingModel,
  type TextEmbeddingModelLoader,
} from './local.embedder.js';
import { cosineSimilarity } from './vector-math.js';

/** Wraps a loader to count loads and record the size of every model call. */
function instrument(load: TextEmbeddingModelLoader) {
  const calls = { loads: 0, batchSizes: [] as number[], maxConcurrent: 0, disposed: 0 };
  let running = 0;
  const loader: TextEmbeddingModelLoader = async () => {
    calls.loads++;
    const model = await load();
    return {
      async embed(texts) {
        calls.batchSizes.push(texts.length);
        calls.maxConcurrent = Math.max(calls.maxConcurrent, ++running);
        try {
          return await model.embed(texts);
        } finally {
          running--;
        }
      },
      dispose() {
        calls.disposed++;
        model.dispose?.();
      },
    };
  };
  return { loader, calls };
}

/** A stand-in model: vector [length, first char code, 1], and a failure for the text 'boom'. */
const fakeModel: TextEmbeddingModel = {
  async embed(texts) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (texts.includes('boom')) throw new Error('tensor exploded');
    return texts.map((text) => [text.length, text.charCodeAt(0) || 0, 1]);
  },
};

function expectVectorsClose(actual: number[][], expected: number[][]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((vector, i) => vector.forEach((value, j) => expect(value).toBeCloseTo(expected[i][j], 12)));
}

function expectSameDirection(actual: number[][], expected: number[][]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((vector, i) => expect(cosineSimilarity(vector, expected[i])).toBeGreaterThan(0.9999));
}

describe('LocalEmbedder with the Universal Sentence Encoder', () => {
  const sut = new LocalEmbedder();
  afterAll(() => sut.close());

  it('identifies the model and its size', () => {
    expect(sut.model).toBe('use-lite-512');
    expect(sut.dimensions).toBe(512);
  });

  it('returns 512-dimensional unit vectors', async () => {
    const vectors = await sut.embed(['I love hiking in the mountains', 'x', '']);
    expect(vectors).toHaveLength(3);
    for (const vector of vectors) {
      expect(vector).toHaveLength(512);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    }
  });

  it.each([
    [
      'I love hiking in the mountains',
      'My favourite outdoor activity is walking up hills',
      'The quarterly tax report is due Friday',
    ],
    ['What is the weather like today?', 'Is it going to rain this afternoon?', 'I need to renew my passport'],
    ['My dog is called Rex', 'I have a pet named Rex, he is a dog', 'The database migration failed overnight'],
    ['I am allergic to peanuts', 'Nuts give me a bad allergic reaction', 'We are moving to Berlin in March'],
    ['She prefers tea over coffee', 'Her favourite hot drink is tea', 'The car needs new tyres'],
  ])('ranks a paraphrase of "%s" above an unrelated sentence', async (query, paraphrase, unrelated) => {
    const [q, p, u] = await sut.embed([query, paraphrase, unrelated]);
    expect(cosineSimilarity(q, p)).toBeGreaterThan(cosineSimilarity(q, u));
  });

  it('embeds the empty string the same wherever it appears in a batch', async () => {
    const [alone] = await sut.embed(['']);
    const [both] = await sut.embed(['', '']);
    const [first] = await sut.embed(['', 'hello']);
    const last = await sut.embed(['hello', '', '']);
    expect(last).toHaveLength(3);
    expectSameDirection([alone, both, last[1], last[2]], [first, first, first, first]);
  });

  it('takes the texts of a call made right after another one returned', async () => {
    // Regression: a call made while the previous drain was winding down used to wait forever.
    for (let i = 0; i < 5; i++) await expect(sut.embed([`text ${i}`])).resolves.toHaveLength(1);
  });

  it('gives each concurrent caller its own vectors, the same as separate calls', async () => {
    const requests = [
      ['The cat sat on the mat', 'Quantum computing is hard'],
      ['Pizza is my favourite food'],
      Array.from({ length: 70 }, (_, i) => `sentence number ${i} about topic ${i % 7}`),
      ['Meeting moved to Thursday', 'Buy milk', 'Call mum'],
    ];
    const concurrent = await Promise.all(requests.map((texts) => sut.embed(texts)));
    for (const [i, texts] of requests.entries()) {
      const separate: number[][] = [];
      for (const text of texts) separate.push(...(await sut.embed([text])));
      expectSameDirection(concurrent[i], separate);
    }
  });

  it('loads the model once and coalesces concurrent calls into model calls of at most 64 texts', async () => {
    const { loader, calls } = instrument(loadUniversalSentenceEncoder);
    const embedder = new LocalEmbedder({ loadModel: loader });
    const texts = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag} ${i}`);

    const results = await Promise.all([
      embedder.embed(texts(40, 'a')),
      embedder.embed(texts(50, 'b')),
      embedder.embed(texts(10, 'c')),
    ]);
    await embedder.embed(['later']);

    expect(results.map((vectors) => vectors.length)).toEqual([40, 50, 10]);
    expect(calls.loads).toBe(1);
    expect(calls.batchSizes).toEqual([64, 36, 1]);
    expect(calls.maxConcurrent).toBe(1);

    await embedder.close();
    expect(calls.disposed).toBe(1);
  });
});

describe('LocalEmbedder queueing', () => {
  it('returns [] for an empty batch without loading the model', async () => {
    const { loader, calls } = instrument(async () => fakeModel);
    const sut = new LocalEmbedder({ loadModel: loader });
    await expect(sut.embed([])).resolves.toEqual([]);
    expect(calls.loads).toBe(0);
  });

  it('shares one load between concurrent first calls', async () => {
    const { loader, calls } = instrument(async () => fakeModel);
    const sut = new LocalEmbedder({ loadModel: loader });
    await Promise.all([sut.embed(['a']), sut.embed(['b']), sut.embed(['c'])]);
    expect(calls.loads).toBe(1);
  });

  it('normalises the vectors of the model and routes them back in order', async () => {
    const sut = new LocalEmbedder({ loadModel: async () => fakeModel, maxBatchSize: 2 });
    const [first, second] = await Promise.all([sut.embed(['ab', 'c', 'def']), sut.embed(['gh'])]);
    const expected = (text: string) => {
      const raw = [text.length, text.charCodeAt(0), 1];
      return raw.map((value) => value / Math.hypot(...raw));
    };
    expectVectorsClose(first, ['ab', 'c', 'def'].map(expected));
    expectVectorsClose(second, [expected('gh')]);
  });

  it('fails only the callers whose texts were in a failed model call, with EMBEDDING_FAILED', async () => {
    const sut = new LocalEmbedder({ loadModel: async () => fakeModel, maxBatchSize: 2 });
    const failing = sut.embed(['ok', 'boom', 'never embedded']);
    const unaffected = sut.embed(['fine', 'also fine']);
    await expect(failing).rejects.toMatchObject({
      code: MemoryExceptionCode.EMBEDDING_FAILED,
      message: expect.stringContaining('tensor exploded'),
    });
    await expect(unaffected).resolves.toHaveLength(2);
  });

  it('reports a failed load as EMBEDDING_FAILED and tries loading again on the next call', async () => {
    let attempts = 0;
    const sut = new LocalEmbedder({
      loadModel: async () => {
        if (++attempts === 1) throw new Error('weights missing');
        return fakeModel;
      },
    });
    await expect(Promise.all([sut.embed(['a']), sut.embed(['b'])])).rejects.toMatchObject({
      code: MemoryExceptionCode.EMBEDDING_FAILED,
      message: expect.stringContaining('weights missing'),
    });
    await expect(sut.embed(['a'])).resolves.toHaveLength(1);
    expect(attempts).toBe(2);
  });
});
