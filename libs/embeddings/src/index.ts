export * from './vector-math.js';
export * from './hash.embedder.js';
export * from './local.embedder.js';
export * from './openai.embedder.js';
export * from './cached.embedder.js';
export * from './embedder.factory.js';
