import { asTenantId, isAccessScope, newId, type AccessScope, type TenantId } from '@engram/memory-core';
import type { SqlExecutor } from '@engram/memory-postgres';
import type { ApiKeyRecord, StoredApiKey, Tenant, TenantQuotas } from './tenant.js';

interface TenantRow {
  id: string;
  name: string;
  quotas: TenantQuotas;
  created_at: Date;
}

interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string;
  scopes: string[];
  secret_hash: Buffer;
  signing_secret_sealed: Buffer | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

/**
 * The control plane's tables, `tenants` and `api_keys`: read before any tenant is known (a key is looked up to
 * find its tenant), so they are not under row-level security; every statement here names the tenant or the key
 * itself. Deleted tenants are kept as tombstones (`deleted_at`), so that an id is never reused.
 */
export class TenantRepository {
  constructor(private readonly sql: SqlExecutor) {}

  async create(name: string, quotas: TenantQuotas, at: Date): Promise<Tenant> {
    const [row] = await this.sql.query<TenantRow>(
      `INSERT INTO tenants (id, name, quotas, created_at) VALUES ($1, $2, $3, $4) RETURNING id, name, quotas, created_at`,
      [newId(), name, JSON.stringify(quotas), at],
    );
    return toTenant(row);
  }

  async find(id: TenantId): Promise<Tenant | null> {
    const [row] = await this.sql.query<TenantRow>(
      `SELECT id, name, quotas, created_at FROM tenants WHERE id = $1 AND deleted_at IS NULL`,
      [id],
    );
    return row ? toTenant(row) : null;
  }

  async liveTenantIds(): Promise<TenantId[]> {
    const rows = await this.sql.query<{ id: string }>(`SELECT id FROM tenants WHERE deleted_at IS NULL ORDER BY id`);
    return rows.map((row) => asTenantId(row.id));
  }

  /** Marks the tenant deleted and removes its keys; false when there was no live tenant. */
  async markDeleted(id: TenantId, at: Date): Promise<{ deleted: boolean; apiKeys: number }> {
    return this.sql.transaction(async (tx) => {
      const tombstoned = await tx.query(
        `UPDATE tenants SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING id`,
        [id, at],
      );
      if (tombstoned.length === 0) return { deleted: false, apiKeys: 0 };
      const keys = await tx.query(`DELETE FROM api_keys WHERE tenant_id = $1 RETURNING id`, [id]);
      return { deleted: true, apiKeys: keys.length };
    });
  }

  async createKey(key: {
    id: string;
    tenantId: TenantId;
    name: string;
    scopes: readonly AccessScope[];
    secretHash: Buffer;
    /** Sealed by SigningSecretCipher; null for a key without a signing secret. */
    signingSecretSealed: Buffer | null;
    createdAt: Date;
    expiresAt: Date | null;
  }): Promise<ApiKeyRecord> {
    const [row] = await this.sql.query<ApiKeyRow>(
      `INSERT INTO api_keys AS k (id, tenant_id, name, scopes, secret_hash, signing_secret_sealed, created_at, expires_at)
       SELECT $1, t.id, $3, $4, $5, $6, $7, $8 FROM tenants t WHERE t.id = $2 AND t.deleted_at IS NULL
       RETURNING ${KEY_COLUMNS}`,
      [
        key.id,
        key.tenantId,
        key.name,
        [...key.scopes],
        key.secretHash,
        key.signingSecretSealed,
        key.createdAt,
        key.expiresAt,
      ],
    );
    if (!row) throw new Error(`tenant ${key.tenantId} vanished while its key was created`);
    return toKey(row);
  }

  /**
   * The key with its secret's hash and its sealed signing secret, if it exists and its tenant is live (revoked and
   * expired keys included).
   */
  async findKey(id: string): Promise<StoredApiKey | null> {
    const [row] = await this.sql.query<ApiKeyRow>(
      `SELECT ${KEY_COLUMNS} FROM api_keys k JOIN tenants t ON t.id = k.tenant_id AND t.deleted_at IS NULL WHERE k.id = $1`,
      [id],
    );
    return row ? { ...toKey(row), secretHash: row.secret_hash, signingSecretSealed: row.signing_secret_sealed } : null;
  }

  /** Revokes a key; false when there is no such key (or it was revoked already). */
  async revokeKey(id: string, at: Date): Promise<boolean> {
    const rows = await this.sql.query(
      `UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id`,
      [id, at],
    );
    return rows.length > 0;
  }

  /** Moves `last_used_at` forward for many keys in one statement (see KeyUsageRecorder). */
  async touchKeys(uses: ReadonlyMap<string, Date>): Promise<void> {
    if (uses.size === 0) return;
    await this.sql.query(
      `UPDATE api_keys k SET last_used_at = GREATEST(k.last_used_at, u.at)
       FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at) WHERE k.id = u.id`,
      [[...uses.keys()], [...uses.values()]],
    );
  }
}

const KEY_COLUMNS =
  'k.id, k.tenant_id, k.name, k.scopes, k.secret_hash, k.signing_secret_sealed, k.created_at, k.expires_at, k.revoked_at, k.last_used_at';

function toTenant(row: TenantRow): Tenant {
  return { id: asTenantId(row.id), name: row.name, quotas: row.quotas ?? {}, createdAt: row.created_at };
}

function toKey(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    tenantId: asTenantId(row.tenant_id),
    name: row.name,
    scopes: row.scopes.filter(isAccessScope),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}
