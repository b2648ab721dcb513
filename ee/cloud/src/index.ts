export * from './cloud.edition.js';
export * from './database/tenant-sql.executor.js';
export * from './database/cloud-database.js';
export * from './database/cloud-database.exception.js';
export * from './memory/cloud.memory-provider.js';
export * from './migrations/cloud-migrations.js';
export * from './usage/cloud.usage-tracker.js';
export * from './usage/usage.store.js';
