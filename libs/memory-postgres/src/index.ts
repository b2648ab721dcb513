export * from './postgres.memory-provider.js';
export * from './postgres-memory.factory.js';
export * from './sql/sql-executor.js';
export * from './sql/pg.sql-executor.js';
export * from './sql/pglite.sql-executor.js';
export * from './sql/sql-errors.js';
export * from './sql/sql-instrumentation.js';
export * from './sql/sql.tokens.js';
export * from './schema/memory-migrations.js';
export * from './schema/migration-runner.js';
export * from './schema/vector-index.js';
export * from './schema/app-role.js';
export * from './schema/schema-lock.js';
export * from './schema/memory.data-source.js';
export * from './entities/memory.entity.js';
export * from './entities/memory-history.entity.js';
export {
  RECENCY_HALF_LIFE_DAYS,
  SPEAKER_LABEL_PATTERN,
  searchCandidates,
  // The search statement itself: the load benchmark runs it bare on a pg pool as the floor Engram is measured against.
  searchMemories,
  type VectorStrategy,
} from './queries/search.queries.js';
