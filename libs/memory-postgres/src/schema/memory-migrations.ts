import type { MigrationInterface } from 'typeorm';
import { CreateMemoryTables1795432990113 } from '../migrations/1795432990113-CreateMemoryTables.js';
import { MemoriesRoomForHotUpdates1795440132684 } from '../migrations/1795440132684-MemoriesRoomForHotUpdates.js';
import { CreateInferenceEvents1795443000000 } from '../migrations/1795443000000-CreateInferenceEvents.js';
import { InferenceEventsKeepTheirRequest1795443900000 } from '../migrations/1795443900000-InferenceEventsKeepTheirRequest.js';
import { MemoriesExpiryIndex1795444800000 } from '../migrations/1795444800000-MemoriesExpiryIndex.js';
import { MemoryScopeVersions1795446000000 } from '../migrations/1795446000000-MemoryScopeVersions.js';

/** All a migration may use of TypeORM's QueryRunner; TypeORM's own query runner satisfies it. */
export interface MigrationQueryRunner {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/**
 * A migration as Engram runs it: TypeORM's MigrationInterface (so the `typeorm` CLI runs the same classes), named
 * `<PascalCase><timestamp>` as TypeORM names them, and needing nothing of the query runner but `query`, so that
 * `runMigrations` can run it over any SqlExecutor, PGlite included.
 */
export interface SqlMigration extends MigrationInterface {
  readonly name: string;
  up(queryRunner: MigrationQueryRunner): Promise<void>;
  down(queryRunner: MigrationQueryRunner): Promise<void>;
}

/** The memory schema's migrations, oldest first. Append only: a released migration is never edited. */
export const MEMORY_MIGRATIONS: readonly SqlMigration[] = [
  new CreateMemoryTables1795432990113(),
  new MemoriesRoomForHotUpdates1795440132684(),
  new CreateInferenceEvents1795443000000(),
  new InferenceEventsKeepTheirRequest1795443900000(),
  new MemoriesExpiryIndex1795444800000(),
  new MemoryScopeVersions1795446000000(),
];
