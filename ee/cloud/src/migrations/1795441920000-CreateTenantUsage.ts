/* @license Enterprise */
import type { MigrationQueryRunner, SqlMigration } from '@engram/memory-postgres';

/**
 * `tenant_usage`: the durable copy of the usage counters that the UsageTracker keeps in Redis, one row per tenant and
 * calendar month (UTC, `YYYY-MM`). Written by periodic snapshots (each column only ever grows, see
 * TenantUsageRepository.save) and read back when Redis has lost a month's counters, and for past months' usage.
 *
 * A tenant table: row-level security with the same policy as the memories (request traffic sets `app.tenant_id`), and
 * its key starts with `tenant_id` (a Citus distribution column). Counters of tenants, never of data subjects.
 */
export class CreateTenantUsage1795441920000 implements SqlMigration {
  readonly name = 'CreateTenantUsage1795441920000';

  async up(queryRunner: MigrationQueryRunner): Promise<void> {
    for (const statement of UP) await queryRunner.query(statement);
  }

  async down(queryRunner: MigrationQueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE tenant_usage`);
  }
}

const UP = [
  `CREATE TABLE tenant_usage (
    tenant_id uuid NOT NULL,
    period text NOT NULL,
    requests bigint NOT NULL DEFAULT 0,
    embedding_tokens bigint NOT NULL DEFAULT 0,
    memories_added bigint NOT NULL DEFAULT 0,
    searches bigint NOT NULL DEFAULT 0,
    reads bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL,
    CONSTRAINT tenant_usage_pkey PRIMARY KEY (tenant_id, period),
    CONSTRAINT tenant_usage_period_check CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    CONSTRAINT tenant_usage_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
  )`,
  `ALTER TABLE tenant_usage ENABLE ROW LEVEL SECURITY`,
  `ALTER TABLE tenant_usage FORCE ROW LEVEL SECURITY`,
  `CREATE POLICY tenant_isolation ON tenant_usage FOR ALL
     USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
     WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)`,
];
