/* @license Enterprise */
import type { MigrationQueryRunner, SqlMigration } from '@engram/memory-postgres';

/**
 * The GDPR erase's durable records (see ee/cloud/src/gdpr): one row per erase of a data subject or a whole tenant,
 * with the steps done so far and what each removed, so that an erase interrupted half-way is resumed where it
 * stopped, and a finished one is its receipt.
 *
 * - Control plane, not under row-level security: the resumer lists unfinished erases of every tenant.
 * - The subject's user id is kept only while the erase runs (the resumer needs it); a finished row names the subject
 *   by `subject_digest` (sha256 of tenant and user id), which is how a repeated request finds its receipt. A row
 *   of a whole-tenant erase has neither.
 * - `gdpr_erasure_keys` holds, while the erase runs, the subject's memory ids and content hashes, read before the
 *   memories are deleted: the embedding cache and the queue's event stream are purged by them afterwards.
 * - At most one unfinished erase per subject (or tenant): concurrent requests join it.
 */
export class CreateGdprErasures1795442400000 implements SqlMigration {
  readonly name = 'CreateGdprErasures1795442400000';

  async up(queryRunner: MigrationQueryRunner): Promise<void> {
    for (const statement of UP) await queryRunner.query(statement);
  }

  async down(queryRunner: MigrationQueryRunner): Promise<void> {
    for (const statement of DOWN) await queryRunner.query(statement);
  }
}

const UP = [
  `CREATE TABLE gdpr_erasures (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    kind text NOT NULL,
    subject_digest text,
    user_id text,
    state text NOT NULL,
    steps_done text[] NOT NULL DEFAULT '{}',
    counts jsonb NOT NULL DEFAULT '{}',
    attempts integer NOT NULL DEFAULT 0,
    requested_at timestamptz NOT NULL,
    completed_at timestamptz,
    audit_event_id text,
    CONSTRAINT gdpr_erasures_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT gdpr_erasures_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT gdpr_erasures_kind_check CHECK (kind IN ('subject', 'tenant')),
    CONSTRAINT gdpr_erasures_state_check CHECK (state IN ('running', 'completed')),
    CONSTRAINT gdpr_erasures_subject_check CHECK ((kind = 'subject') = (subject_digest IS NOT NULL)),
    CONSTRAINT gdpr_erasures_user_check CHECK (user_id IS NULL OR (kind = 'subject' AND state = 'running'))
  )`,
  `CREATE UNIQUE INDEX gdpr_erasures_one_running_idx ON gdpr_erasures (tenant_id, (coalesce(subject_digest, '')))
    WHERE state = 'running'`,
  `CREATE INDEX gdpr_erasures_subject_idx ON gdpr_erasures (tenant_id, subject_digest, completed_at)`,
  `CREATE INDEX gdpr_erasures_running_idx ON gdpr_erasures (requested_at) WHERE state = 'running'`,
  `CREATE TABLE gdpr_erasure_keys (
    tenant_id uuid NOT NULL,
    erasure_id uuid NOT NULL,
    kind text NOT NULL,
    key text NOT NULL,
    CONSTRAINT gdpr_erasure_keys_pkey PRIMARY KEY (tenant_id, erasure_id, kind, key),
    CONSTRAINT gdpr_erasure_keys_erasure_fkey FOREIGN KEY (tenant_id, erasure_id)
      REFERENCES gdpr_erasures (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT gdpr_erasure_keys_kind_check CHECK (kind IN ('memory', 'content'))
  )`,
];

const DOWN = [`DROP TABLE gdpr_erasure_keys`, `DROP TABLE gdpr_erasures`];
