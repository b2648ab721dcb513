/* @license Enterprise */
import type { MigrationQueryRunner, SqlMigration } from '@engram/memory-postgres';

/**
 * Tenant isolation enforced by the database: every tenant table of the core gets row-level security with one
 * policy, for reads and writes alike, comparing the row's tenant with the setting `app.tenant_id`, which request
 * traffic sets per transaction (TenantSqlExecutor). A statement that forgets its tenant filter still sees, changes
 * and deletes only the current tenant's rows, and cannot write a row into another tenant.
 *
 * - No tenant set: `current_setting(..., true)` is NULL (never set on the connection) or '' (set by an earlier,
 *   finished transaction); NULLIF folds both to NULL, and `tenant_id = NULL` holds for no row: nothing is visible
 *   and nothing can be written.
 * - FORCE: the owner is held to the policy too, so that a deployment whose app connection is (wrongly) the owner
 *   still isolates. Superusers and BYPASSRLS roles skip every policy whatever FORCE says, which is why request
 *   traffic runs as a role with neither (openCloudDatabase checks it at boot).
 * - The comparison is with a STABLE expression of the setting, so the planner still uses the (tenant_id, ...)
 *   indexes: the policy narrows by an index condition rather than filtering afterwards.
 *
 * Consequence for later migrations: a data migration over these tables running as a non-superuser owner sees no
 * rows (it has no tenant set), so it must run per tenant or as a role that bypasses row-level security.
 *
 * The SQL is spelled out here rather than built from constants: a released migration must never change.
 */
export class TenantRowLevelSecurity1795441260000 implements SqlMigration {
  readonly name = 'TenantRowLevelSecurity1795441260000';

  async up(queryRunner: MigrationQueryRunner): Promise<void> {
    for (const table of TABLES) {
      await queryRunner.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      await queryRunner.query(`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`);
      await queryRunner.query(
        `CREATE POLICY tenant_isolation ON ${table} FOR ALL USING (${CURRENT_TENANT}) WITH CHECK (${CURRENT_TENANT})`,
      );
    }
  }

  async down(queryRunner: MigrationQueryRunner): Promise<void> {
    for (const table of TABLES) {
      await queryRunner.query(`DROP POLICY tenant_isolation ON ${table}`);
      await queryRunner.query(`ALTER TABLE ${table} NO FORCE ROW LEVEL SECURITY`);
      await queryRunner.query(`ALTER TABLE ${table} DISABLE ROW LEVEL SECURITY`);
    }
  }
}

const TABLES = ['memories', 'memory_history'] as const;

const CURRENT_TENANT = `tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid`;
