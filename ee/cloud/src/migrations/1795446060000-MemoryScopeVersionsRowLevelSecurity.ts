/* @license Enterprise */
import type { MigrationQueryRunner, SqlMigration } from '@engram/memory-postgres';

/**
 * `memory_scope_versions` (the core's MemoryScopeVersions migration) is a tenant table: its rows are written by the
 * triggers on `memories`, in the writing statement's transaction and so as its tenant, and read before every
 * search from a scope's in-memory copy, as the searching tenant. The same row-level security as the other tenant
 * tables (TenantRowLevelSecurity1795441260000): one tenant can neither read nor move another's versions.
 *
 * The SQL is spelled out here rather than built from constants: a released migration must never change.
 */
export class MemoryScopeVersionsRowLevelSecurity1795446060000 implements SqlMigration {
  readonly name = 'MemoryScopeVersionsRowLevelSecurity1795446060000';

  async up(queryRunner: MigrationQueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE memory_scope_versions ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE memory_scope_versions FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(
      `CREATE POLICY tenant_isolation ON memory_scope_versions FOR ALL
         USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
         WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)`,
    );
  }

  async down(queryRunner: MigrationQueryRunner): Promise<void> {
    await queryRunner.query(`DROP POLICY tenant_isolation ON memory_scope_versions`);
    await queryRunner.query(`ALTER TABLE memory_scope_versions NO FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE memory_scope_versions DISABLE ROW LEVEL SECURITY`);
  }
}
