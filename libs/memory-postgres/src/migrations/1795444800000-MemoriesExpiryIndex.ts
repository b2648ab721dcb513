import type { MigrationInterface } from 'typeorm';
import type { MigrationQueryRunner } from '../schema/memory-migrations.js';

/**
 * The expired-memory purger's index: it deletes `WHERE expires_at <= $1` in batches every minute, which without an
 * index is a scan of the whole table each time. Partial, so it holds only the memories that have an expiry (most do
 * not) and costs nothing to the writes of the others. Tenant first like every index: under row-level security
 * (the cloud purges tenant by tenant) it is a range scan of the tenant's expiries; across the tenants of an OSS
 * deployment (one tenant) it is the same range.
 */
export class MemoriesExpiryIndex1795444800000 implements MigrationInterface {
  readonly name = 'MemoriesExpiryIndex1795444800000';

  async up(queryRunner: MigrationQueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX memories_expiry_idx ON memories (tenant_id, expires_at) WHERE expires_at IS NOT NULL`,
    );
  }

  async down(queryRunner: MigrationQueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX memories_expiry_idx`);
  }
}
