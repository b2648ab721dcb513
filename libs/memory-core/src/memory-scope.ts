import { MemoryException, MemoryExceptionCode } from './memory.exception.js';
import type { TenantId } from './tenant.js';

/**
 * Who a memory belongs to. Every provider method takes a scope first. Operations over many memories
 * (add, list, search, count, clear) refuse a scope with no user, agent or run, as mem0 does: such a
 * call would read or delete everybody's memories. Operations on given ids need only the tenant
 * (mem0's `get(memory_id)`), and narrow further when the scope names a user, agent or run.
 */
export interface MemoryScope {
  readonly tenantId: TenantId;
  readonly userId?: string;
  readonly agentId?: string;
  readonly runId?: string;
  /** Named memory source of an agent; part of the scope when given. */
  readonly namespace?: string;
}

/** The scope as a map key: two scopes have the same key exactly when they name the same memories. */
export function scopeKey(scope: MemoryScope): string {
  return JSON.stringify([scope.tenantId, scope.userId, scope.agentId, scope.runId, scope.namespace]);
}

/** For operations on given ids: the tenant is enough. */
export function assertTenantScope(scope: MemoryScope): void {
  if (!scope.tenantId) {
    throw new MemoryException(MemoryExceptionCode.SCOPE_REQUIRED, 'a tenant is required');
  }
}

/** For operations over many memories: a user, agent or run is required too. */
export function assertScoped(scope: MemoryScope): void {
  assertTenantScope(scope);
  if (!scope.userId && !scope.agentId && !scope.runId) {
    throw new MemoryException(MemoryExceptionCode.SCOPE_REQUIRED, 'one of user_id, agent_id or run_id is required');
  }
}

/** True when a memory's owner fields fall inside the scope (every field the scope names must match). */
export function inScope(
  scope: MemoryScope,
  owner: { tenantId: TenantId; userId: string | null; agentId: string | null; runId: string | null; namespace: string },
): boolean {
  return (
    owner.tenantId === scope.tenantId &&
    (scope.userId === undefined || owner.userId === scope.userId) &&
    (scope.agentId === undefined || owner.agentId === scope.agentId) &&
    (scope.runId === undefined || owner.runId === scope.runId) &&
    (scope.namespace === undefined || owner.namespace === scope.namespace)
  );
}
