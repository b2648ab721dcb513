export * from './redis.key-value-provider.js';
export * from './redis.signature-replay-guard.js';
