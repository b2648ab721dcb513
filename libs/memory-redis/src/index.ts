export * from './redis.key-value-provider.js';
