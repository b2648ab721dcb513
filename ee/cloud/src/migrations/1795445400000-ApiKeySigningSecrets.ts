/* @license Enterprise */
import type { MigrationQueryRunner, SqlMigration } from '@engram/memory-postgres';

/**
 * Each API key may have a signing secret of its own, for HMAC-signed requests (X-Key-Id names the key). It is stored
 * sealed (AES-256-GCM under ENGRAM_SECRETS_KEY, see signing-secret.cipher.ts), not hashed: the server must recompute
 * the HMAC, so it needs the secret back. NULL for keys issued without ENGRAM_SECRETS_KEY, and for every key issued
 * before this migration: such a key authenticates only as a bearer key.
 */
export class ApiKeySigningSecrets1795445400000 implements SqlMigration {
  readonly name = 'ApiKeySigningSecrets1795445400000';

  async up(queryRunner: MigrationQueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE api_keys ADD COLUMN signing_secret_sealed bytea`);
  }

  async down(queryRunner: MigrationQueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE api_keys DROP COLUMN signing_secret_sealed`);
  }
}
