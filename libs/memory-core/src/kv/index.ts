export * from './key-value-provider.js';
export * from './kv.validation.js';
export * from './in-process.key-value-provider.js';
