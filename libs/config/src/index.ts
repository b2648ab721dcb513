export * from './env.schema.js';
export * from './config.tokens.js';
