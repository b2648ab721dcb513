export * from './test-database.js';
export * from './scratch-database.js';
