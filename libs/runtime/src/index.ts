export * from './engram-runtime.module.js';
export * from './memory-provider.factory.js';
export * from './edition.js';
