export * from './test-database.js';
export * from './scratch-database.js';
export * from './api-process.js';
