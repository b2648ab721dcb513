export * from './in-process.embedding-queue.js';
export * from './bullmq.embedding-queue.js';
export * from './job-queue.js';
export * from './in-process.job-queue.js';
export * from './bullmq.job-queue.js';
export * from './micro-batcher.js';
export * from './queue-names.js';
