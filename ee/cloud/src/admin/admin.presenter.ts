import type { ApiKeyRecord, Tenant } from '../tenants/tenant.js';

export function presentTenant(tenant: Tenant) {
  return {
    id: tenant.id,
    name: tenant.name,
    quotas: {
      max_memories: tenant.quotas.maxMemories ?? null,
      max_requests_per_month: tenant.quotas.maxRequestsPerMonth ?? null,
      requests_per_minute: tenant.quotas.requestsPerMinute ?? null,
      max_embedding_tokens_per_month: tenant.quotas.maxEmbeddingTokensPerMonth ?? null,
    },
    created_at: tenant.createdAt.toISOString(),
  };
}

/** Never the secret: it exists only in the response that issued the key. */
export function presentApiKey(key: ApiKeyRecord) {
  return {
    id: key.id,
    tenant_id: key.tenantId,
    name: key.name,
    scopes: key.scopes,
    created_at: key.createdAt.toISOString(),
    expires_at: key.expiresAt?.toISOString() ?? null,
    revoked_at: key.revokedAt?.toISOString() ?? null,
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
  };
}
