import type { AccessScope, Clock, TenantId } from '@engram/memory-core';
import { newId } from '@engram/memory-core';
import type { SqlExecutor } from '@engram/memory-postgres';
import { issueApiKey, type KeyEnvironment } from '../auth/api-key.js';
import type { TenantSqlExecutor } from '../database/tenant-sql.executor.js';
import type { ApiKeyRecord, Tenant, TenantErasure, TenantQuotas } from './tenant.js';
import type { TenantRepository } from './tenant.repository.js';

/** The platform operator's work on tenants and their keys (the admin routes). */
export class TenantsService {
  constructor(
    private readonly tenants: TenantRepository,
    private readonly tenantSql: TenantSqlExecutor,
    private readonly clock: Clock,
    private readonly keyEnvironment: KeyEnvironment = 'live',
  ) {}

  create(name: string, quotas: TenantQuotas = {}): Promise<Tenant> {
    return this.tenants.create(name, quotas, this.clock.now());
  }

  get(id: TenantId): Promise<Tenant | null> {
    return this.tenants.find(id);
  }

  /**
   * Erases the whole tenant: its memories and their history (under its own tenant setting, so row-level
   * security lets exactly its rows be deleted), then its keys, leaving a tombstone so the id is never reused.
   * null when there is no such live tenant.
   */
  async erase(id: TenantId): Promise<TenantErasure | null> {
    if (!(await this.tenants.find(id))) return null;
    const at = this.clock.now();
    const { memories, history } = await this.tenantSql.withTenant(id, () =>
      this.tenantSql.transaction(async (tx: SqlExecutor) => {
        const deletedHistory = await tx.query(`DELETE FROM memory_history WHERE tenant_id = $1 RETURNING id`, [id]);
        const deletedMemories = await tx.query(`DELETE FROM memories WHERE tenant_id = $1 RETURNING id`, [id]);
        return { memories: deletedMemories.length, history: deletedHistory.length };
      }),
    );
    const { apiKeys } = await this.tenants.markDeleted(id, at);
    return { id: newId(), tenantId: id, at, deleted: { memories, history, apiKeys } };
  }

  /** A new key for a live tenant, with the one and only copy of its secret; null when there is no such tenant. */
  async issueKey(
    tenantId: TenantId,
    request: { name: string; scopes: readonly AccessScope[]; expiresAt: Date | null },
  ): Promise<{ record: ApiKeyRecord; key: string } | null> {
    if (!(await this.tenants.find(tenantId))) return null;
    const issued = issueApiKey(this.keyEnvironment);
    const record = await this.tenants.createKey({
      id: issued.id,
      tenantId,
      name: request.name,
      scopes: [...new Set(request.scopes)],
      secretHash: issued.secretHash,
      createdAt: this.clock.now(),
      expiresAt: request.expiresAt,
    });
    return { record, key: issued.key };
  }

  revokeKey(id: string): Promise<boolean> {
    return this.tenants.revokeKey(id, this.clock.now());
  }
}
