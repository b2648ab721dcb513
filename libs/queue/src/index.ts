export * from './in-process.embedding-queue.js';
