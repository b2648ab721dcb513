export * from './memory-source.js';
export * from './memory-sources.js';
export * from './memory-sources.tokens.js';
