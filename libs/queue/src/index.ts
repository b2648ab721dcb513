export * from './in-process.embedding-queue.js';
export * from './bullmq.embedding-queue.js';
export * from './micro-batcher.js';
export * from './queue-names.js';
