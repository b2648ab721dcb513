/* @license Enterprise */
import type { MigrationQueryRunner, SqlMigration } from '@engram/memory-postgres';

/**
 * The audit log (see ee/cloud/src/audit): `audit_events`, append-only and hash-chained per tenant, and
 * `audit_chain_heads`, one row per tenant naming the chain's last event.
 *
 * - Every key starts with tenant_id (Citus distributes both tables by it). The primary key is the chain order,
 *   (tenant_id, seq); an export by time finds its seqs through (tenant_id, at, seq).
 * - The head row is what the writer locks (`SELECT ... FOR UPDATE`) to append, so two processes never number or
 *   link events of one tenant concurrently, and it lets verification notice removed last events, which no link can.
 * - Under row-level security like every tenant table (same policy as TenantRowLevelSecurity): events are written
 *   and read with the event's tenant set.
 * - The app role is granted INSERT and SELECT on `audit_events` only (openCloudDatabase; no UPDATE, no DELETE):
 *   request traffic can add events but never change or remove one. Hashes are raw SHA-256 (bytea, 32 bytes).
 * - `source_ip` is text, not inet: the hash covers the value exactly as it was logged.
 */
export class CreateAuditEvents1795442700000 implements SqlMigration {
  readonly name = 'CreateAuditEvents1795442700000';

  async up(queryRunner: MigrationQueryRunner): Promise<void> {
    for (const statement of UP) await queryRunner.query(statement);
  }

  async down(queryRunner: MigrationQueryRunner): Promise<void> {
    for (const statement of DOWN) await queryRunner.query(statement);
  }
}

const CURRENT_TENANT = `tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid`;

const UP = [
  `CREATE TABLE audit_events (
    tenant_id uuid NOT NULL,
    seq bigint NOT NULL,
    id uuid NOT NULL,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    target_ids text[] NOT NULL,
    request_id text,
    source_ip text,
    outcome text NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL,
    CONSTRAINT audit_events_pkey PRIMARY KEY (tenant_id, seq),
    CONSTRAINT audit_events_id_key UNIQUE (tenant_id, id),
    CONSTRAINT audit_events_seq_check CHECK (seq > 0),
    CONSTRAINT audit_events_outcome_check CHECK (outcome IN ('success', 'failure')),
    CONSTRAINT audit_events_hash_check CHECK (octet_length(prev_hash) = 32 AND octet_length(hash) = 32)
  )`,
  // seq included: an export finds its range's seqs from this index alone (index-only: the table is append-only).
  `CREATE INDEX audit_events_at_idx ON audit_events (tenant_id, at, seq)`,
  `CREATE TABLE audit_chain_heads (
    tenant_id uuid NOT NULL,
    seq bigint NOT NULL,
    hash bytea NOT NULL,
    -- NULL while seq is 0: the row exists (to be locked) before the tenant's first event does.
    event_id uuid,
    CONSTRAINT audit_chain_heads_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT audit_chain_heads_event_check CHECK ((seq = 0) = (event_id IS NULL))
  )`,
  ...['audit_events', 'audit_chain_heads'].flatMap((table) => [
    `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`,
    `ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`,
    `CREATE POLICY tenant_isolation ON ${table} FOR ALL USING (${CURRENT_TENANT}) WITH CHECK (${CURRENT_TENANT})`,
  ]),
];

const DOWN = [`DROP TABLE audit_chain_heads`, `DROP TABLE audit_events`];
