import { DataSource, type MigrationInterface } from 'typeorm';
import { MemoryHistoryEntity } from '../entities/memory-history.entity.js';
import { MemoryEntity } from '../entities/memory.entity.js';
import { MEMORY_MIGRATIONS } from './memory-migrations.js';
import { MIGRATIONS_TABLE } from './migration-runner.js';

/**
 * A TypeORM DataSource over the memory schema, for developers' `typeorm` CLI (migration:show, migration:create,
 * migration:generate to draft a new migration from an entity change, to be reviewed and hand-finished). The
 * application never uses it: it runs the same migration classes with `runMigrations`, which also works on PGlite,
 * and bookkeeps them in the same `migrations` table, so both agree on what is applied.
 */
export function createMemoryDataSource(url: string): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: [MemoryEntity, MemoryHistoryEntity],
    migrations: MEMORY_MIGRATIONS.map((migration) => migration.constructor as new () => MigrationInterface),
    migrationsTableName: MIGRATIONS_TABLE,
    synchronize: false,
    migrationsRun: false,
  });
}
