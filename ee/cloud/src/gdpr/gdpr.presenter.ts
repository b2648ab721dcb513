/* @license Enterprise */
import type { CloudErasureReceipt } from './erasure.js';

/** API.md's receipt; a whole tenant's has `user_id: null` and also counts its API keys. */
export function presentReceipt(receipt: CloudErasureReceipt) {
  const { deleted } = receipt;
  return {
    id: receipt.id,
    tenant_id: receipt.tenantId,
    user_id: receipt.userId,
    at: receipt.at.toISOString(),
    deleted: {
      memories: deleted.memories,
      history: deleted.history,
      kv: deleted.kv,
      cache: deleted.cache,
      jobs: deleted.jobs,
      ...(deleted.apiKeys === undefined ? {} : { api_keys: deleted.apiKeys }),
    },
    audit_event_id: receipt.auditEventId,
  };
}
