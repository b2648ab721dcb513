import type { MigrationInterface } from 'typeorm';
import type { MigrationQueryRunner } from '../schema/memory-migrations.js';

/**
 * `memory_scope_versions`: a version per (tenant, user bucket) that changes in the very transaction that changes
 * anything a search reads of a memory of that bucket's users. A process that keeps a scope's search data in memory
 * (search/scope-index.cache.ts) compares the version it loaded at with the current one before every use, so a copy
 * is never used after a write it does not hold, whichever process or replica wrote.
 *
 * - The bucket is `hashtext(user_id) & 1023`, not the user id: the table holds no personal data (nothing to erase
 *   for GDPR), at the price of a write to one user also refreshing the copies of the few users sharing its bucket.
 *   Memories without a user are in no bucket: only scopes that name a user are kept in memory.
 * - The version is the writing transaction's id (`pg_current_xact_id()`): unique, and never reused, even after
 *   the table is emptied, so a stale copy can never meet its old version again.
 * - Statement triggers with transition tables: one upsert per bucket per statement, whatever the batch size. An
 *   UPDATE counts only when a searched column changed: the access counts written after every search do not.
 *   Rows are upserted in key order, so that concurrent statements lock them in the same order.
 */
export class MemoryScopeVersions1795446000000 implements MigrationInterface {
  readonly name = 'MemoryScopeVersions1795446000000';

  async up(queryRunner: MigrationQueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE memory_scope_versions (
      tenant_id uuid NOT NULL,
      bucket int NOT NULL,
      version bigint NOT NULL,
      PRIMARY KEY (tenant_id, bucket)
    )`);
    await queryRunner.query(`CREATE FUNCTION memory_scope_versions_bump() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        current_version bigint := pg_current_xact_id()::text::bigint;
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO memory_scope_versions AS v (tenant_id, bucket, version)
            SELECT DISTINCT tenant_id, hashtext(user_id) & 1023, current_version
              FROM new_rows WHERE user_id IS NOT NULL ORDER BY 1, 2
          ON CONFLICT (tenant_id, bucket) DO UPDATE SET version = EXCLUDED.version;
        ELSIF TG_OP = 'DELETE' THEN
          INSERT INTO memory_scope_versions AS v (tenant_id, bucket, version)
            SELECT DISTINCT tenant_id, hashtext(user_id) & 1023, current_version
              FROM old_rows WHERE user_id IS NOT NULL ORDER BY 1, 2
          ON CONFLICT (tenant_id, bucket) DO UPDATE SET version = EXCLUDED.version;
        ELSE
          INSERT INTO memory_scope_versions AS v (tenant_id, bucket, version)
            SELECT DISTINCT tenant_id, hashtext(user_id) & 1023, current_version FROM (
              SELECT o.tenant_id, o.user_id FROM old_rows o JOIN new_rows n ON n.tenant_id = o.tenant_id AND n.id = o.id
                WHERE (o.user_id, o.agent_id, o.run_id, o.namespace, o.content, o.importance, o.created_at,
                    o.expires_at, o.embedding_model, o.embedding_dimensions)
                  IS DISTINCT FROM (n.user_id, n.agent_id, n.run_id, n.namespace, n.content, n.importance,
                    n.created_at, n.expires_at, n.embedding_model, n.embedding_dimensions)
                  OR o.embedding IS DISTINCT FROM n.embedding
              UNION ALL
              SELECT n.tenant_id, n.user_id FROM old_rows o JOIN new_rows n ON n.tenant_id = o.tenant_id AND n.id = o.id
                WHERE (o.tenant_id, o.user_id) IS DISTINCT FROM (n.tenant_id, n.user_id)
            ) changed WHERE user_id IS NOT NULL ORDER BY 1, 2
          ON CONFLICT (tenant_id, bucket) DO UPDATE SET version = EXCLUDED.version;
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`CREATE TRIGGER memory_scope_versions_insert AFTER INSERT ON memories
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION memory_scope_versions_bump()`);
    await queryRunner.query(`CREATE TRIGGER memory_scope_versions_update AFTER UPDATE ON memories
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION memory_scope_versions_bump()`);
    await queryRunner.query(`CREATE TRIGGER memory_scope_versions_delete AFTER DELETE ON memories
      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION memory_scope_versions_bump()`);
    // TRUNCATE fires no row change: every version moves on, so no copy outlives the rows it was made of.
    await queryRunner.query(`CREATE FUNCTION memory_scope_versions_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE memory_scope_versions SET version = pg_current_xact_id()::text::bigint;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`CREATE TRIGGER memory_scope_versions_truncate AFTER TRUNCATE ON memories
      FOR EACH STATEMENT EXECUTE FUNCTION memory_scope_versions_truncate()`);
  }

  async down(queryRunner: MigrationQueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER memory_scope_versions_truncate ON memories`);
    await queryRunner.query(`DROP TRIGGER memory_scope_versions_delete ON memories`);
    await queryRunner.query(`DROP TRIGGER memory_scope_versions_update ON memories`);
    await queryRunner.query(`DROP TRIGGER memory_scope_versions_insert ON memories`);
    await queryRunner.query(`DROP FUNCTION memory_scope_versions_truncate()`);
    await queryRunner.query(`DROP FUNCTION memory_scope_versions_bump()`);
    await queryRunner.query(`DROP TABLE memory_scope_versions`);
  }
}
