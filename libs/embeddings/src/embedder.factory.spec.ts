import { describe, expect, it } from '@jest/globals';
import { CachedEmbedder } from './cached.embedder.js';
import { createEmbedder, DEFAULT_OPENAI_DIMENSIONS } from './embedder.factory.js';

describe('createEmbedder', () => {
  it('builds the offline local model', async () => {
    const embedder = createEmbedder({ provider: 'local' });
    expect(embedder).toBeInstanceOf(CachedEmbedder);
    expect(embedder.model).toBe('use-lite-512');
    expect(embedder.dimensions).toBe(512);
    await embedder.close?.();
  });

  it('builds the hash embedder, with 384 dimensions unless configured', async () => {
    const byDefault = createEmbedder({ provider: 'hash' });
    expect(byDefault).toBeInstanceOf(CachedEmbedder);
    expect([byDefault.model, byDefault.dimensions]).toEqual(['hash-v1-384', 384]);

    const sized = createEmbedder({ provider: 'hash', dimensions: 128 });
    expect([sized.model, sized.dimensions]).toEqual(['hash-v1-128', 128]);
    const [vector] = await sized.embed(['hello']);
    expect(vector).toHaveLength(128);
  });

  it('builds an OpenAI-compatible embedder with the configured model and dimensions', () => {
    const embedder = createEmbedder({
      provider: 'openai',
      baseUrl: 'http://127.0.0.1:11434/v1',
      model: 'nomic-embed-text',
      dimensions: 768,
    });
    expect(embedder).toBeInstanceOf(CachedEmbedder);
    expect([embedder.model, embedder.dimensions]).toEqual(['nomic-embed-text', 768]);
  });

  it('expects 1536 dimensions from an OpenAI-compatible endpoint when none are configured', () => {
    const embedder = createEmbedder({ provider: 'openai', model: 'text-embedding-3-small', apiKey: 'sk-x' });
    expect(embedder.dimensions).toBe(DEFAULT_OPENAI_DIMENSIONS);
    expect(DEFAULT_OPENAI_DIMENSIONS).toBe(1536);
  });
});
