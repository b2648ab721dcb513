/* @license Enterprise */
import type { TenantUsage } from './cloud.usage-tracker.js';

/** `{"usage": ...}` of `GET /v1/usage` and `GET /v1/admin/tenants/{id}/usage`; null limits are no limit. */
export function presentUsage(usage: TenantUsage) {
  const { quotas, counters } = usage;
  return {
    tenant_id: usage.tenantId,
    period: { month: usage.period.id, start: usage.period.start.toISOString(), end: usage.period.end.toISOString() },
    requests: { used: counters.requests, limit: quotas.maxRequestsPerMonth },
    embedding_tokens: { used: counters.embedding_tokens, limit: quotas.maxEmbeddingTokensPerMonth },
    memories: { stored: usage.memoriesStored, limit: quotas.maxMemories },
    rate_limit: { requests_per_minute: quotas.requestsPerMinute, per: 'api_key' as const },
    operations: { memories_added: counters.memories_added, searches: counters.searches, reads: counters.reads },
  };
}
