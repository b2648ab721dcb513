import type { Embedder } from '@engram/memory-core';
import { CachedEmbedder } from './cached.embedder.js';
import { HashEmbedder } from './hash.embedder.js';
import { LocalEmbedder } from './local.embedder.js';
import { OpenAIEmbedder } from './openai.embedder.js';

/** The size of OpenAI's text-embedding-3-small and ada-002, the usual models behind an OpenAI endpoint. */
export const DEFAULT_OPENAI_DIMENSIONS = 1536;

/** One variant per provider, each with only the settings that provider understands. */
export type EmbedderConfig =
  | { provider: 'local' }
  | { provider: 'hash'; dimensions?: number }
  | { provider: 'openai'; baseUrl?: string; model: string; apiKey?: string; dimensions?: number };

export interface CreateEmbedderOptions {
  /** Size of the LRU put in front of every embedder. Default 10,000. */
  cacheEntries?: number;
}

/**
 * Builds the configured embedder behind a cache. For `openai` without `dimensions`, the vectors are expected to
 * have 1536 dimensions and the endpoint is not asked for a size, so that fixed-size models keep working.
 */
export function createEmbedder(config: EmbedderConfig, options: CreateEmbedderOptions = {}): Embedder {
  return new CachedEmbedder(createUncachedEmbedder(config), { maxEntries: options.cacheEntries });
}

function createUncachedEmbedder(config: EmbedderConfig): Embedder {
  switch (config.provider) {
    case 'local':
      return new LocalEmbedder();
    case 'hash':
      return new HashEmbedder({ dimensions: config.dimensions });
    case 'openai':
      return new OpenAIEmbedder({
        baseUrl: config.baseUrl,
        model: config.model,
        apiKey: config.apiKey,
        dimensions: config.dimensions ?? DEFAULT_OPENAI_DIMENSIONS,
        sendDimensions: config.dimensions !== undefined,
      });
    default: {
      const unsupported: never = config;
      throw new Error(`unsupported embeddings provider: ${(unsupported as { provider: string }).provider}`);
    }
  }
}
