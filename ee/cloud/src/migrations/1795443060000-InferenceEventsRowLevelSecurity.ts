/* @license Enterprise */
import type { MigrationQueryRunner, SqlMigration } from '@engram/memory-postgres';

/**
 * `inference_events` (the core's CreateInferenceEvents migration) is a tenant table: the same row-level security as
 * the other tenant tables (TenantRowLevelSecurity1795441260000), so that an event is visible and writable only as
 * its own tenant (PostgresInferenceEventStore runs each call under the event's tenant).
 *
 * The SQL is spelled out here rather than built from constants: a released migration must never change.
 */
export class InferenceEventsRowLevelSecurity1795443060000 implements SqlMigration {
  readonly name = 'InferenceEventsRowLevelSecurity1795443060000';

  async up(queryRunner: MigrationQueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE inference_events ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE inference_events FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(
      `CREATE POLICY tenant_isolation ON inference_events FOR ALL
         USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
         WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)`,
    );
  }

  async down(queryRunner: MigrationQueryRunner): Promise<void> {
    await queryRunner.query(`DROP POLICY tenant_isolation ON inference_events`);
    await queryRunner.query(`ALTER TABLE inference_events NO FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE inference_events DISABLE ROW LEVEL SECURITY`);
  }
}
