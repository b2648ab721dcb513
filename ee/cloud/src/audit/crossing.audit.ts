/* @license Enterprise */
import type { AuditLogger } from '@engram/memory-core';
import { logCrossing, type TenantCrossing } from '../memory/cloud.memory-provider.js';

/**
 * The memory provider's `onCrossing`: the warning as before, and an event on the requesting tenant's audit log.
 * The event names neither the other tenant nor its data (another tenant's export must not learn of them); the
 * server's log, which the operator reads, names both.
 */
export function auditCrossings(audit: AuditLogger): (crossing: TenantCrossing) => void {
  return (crossing) => {
    logCrossing(crossing);
    void audit
      .log({
        tenantId: crossing.requestTenant,
        actor: 'system',
        action: 'tenant.crossing_refused',
        targetIds: [],
        outcome: 'failure',
      })
      .catch(() => undefined);
  };
}
