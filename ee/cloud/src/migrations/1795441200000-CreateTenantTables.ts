/* @license Enterprise */
import type { MigrationQueryRunner, SqlMigration } from '@engram/memory-postgres';

/**
 * The control plane: tenants and their API keys.
 *
 * Deliberately NOT under row-level security, unlike the tenant tables: an API key is looked up by its public id
 * before anyone knows which tenant is calling (the lookup is how the tenant is found), and the operator's admin
 * routes work across tenants. No tenant-facing memory call reads these tables; only the auth and tenancy services
 * do, with their own tenant checks.
 *
 * `api_keys` is keyed by the key's id alone, not (tenant_id, id) as the tenant tables are, for the same reason: the
 * tenant is what the lookup finds out. Under Citus these small tables become reference tables, not distributed.
 * `tenants.created_at` has no default: the application's clock stamps it, as it stamps memories.
 */
export class CreateTenantTables1795441200000 implements SqlMigration {
  readonly name = 'CreateTenantTables1795441200000';

  async up(queryRunner: MigrationQueryRunner): Promise<void> {
    for (const statement of UP) await queryRunner.query(statement);
  }

  async down(queryRunner: MigrationQueryRunner): Promise<void> {
    for (const statement of DOWN) await queryRunner.query(statement);
  }
}

const UP = [
  `CREATE TABLE tenants (
    id uuid NOT NULL,
    name text NOT NULL,
    quotas jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    -- Set when the tenant is deleted; its data is then erased, and the row kept as the record of that.
    deleted_at timestamptz,
    CONSTRAINT tenants_pkey PRIMARY KEY (id)
  )`,
  `CREATE TABLE api_keys (
    -- The public part of a presented key (egm_<env>_<id>_<secret>): what the key is looked up by.
    id text NOT NULL,
    tenant_id uuid NOT NULL,
    name text,
    scopes text[] NOT NULL,
    -- A hash of the secret part only; the key itself is shown once and never stored.
    secret_hash bytea NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz,
    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT api_keys_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
  )`,
  // A tenant's keys, listed by the admin routes; also what the cascade from tenants looks its rows up by.
  `CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, id)`,
];

const DOWN = [`DROP TABLE api_keys`, `DROP TABLE tenants`];
