import type { MemoryScope } from '@engram/memory-core';
import type { SqlParams } from '../filters/sql-params.js';

/**
 * The WHERE fragments every memory statement shares. Each names only the owner fields the scope names, so the
 * planner can use the (tenant_id, user_id | agent_id | run_id, id) indexes; every value is a bind parameter.
 */

/**
 * The scope: tenant always; user, agent, run and namespace when the scope names them (`inScope`'s rule).
 * Works on `memories` and on `memory_history`, which keeps the owner columns of the memory.
 */
export function scopeSql(scope: MemoryScope, params: SqlParams, alias = 'm'): string {
  const parts = [`${alias}.tenant_id = ${params.add(scope.tenantId)}::uuid`];
  if (scope.userId !== undefined) parts.push(`${alias}.user_id = ${params.add(scope.userId)}`);
  if (scope.agentId !== undefined) parts.push(`${alias}.agent_id = ${params.add(scope.agentId)}`);
  if (scope.runId !== undefined) parts.push(`${alias}.run_id = ${params.add(scope.runId)}`);
  if (scope.namespace !== undefined) parts.push(`${alias}.namespace = ${params.add(scope.namespace)}`);
  return parts.join(' AND ');
}

/**
 * Not expired at `now`. Expired rows stay in the table until purged, so every read says this; `now` comes from
 * the provider's clock (not the database's) so that it agrees with the timestamps the provider writes.
 */
export function liveSql(now: Date, params: SqlParams, alias = 'm'): string {
  return `(${alias}.expires_at IS NULL OR ${alias}.expires_at > ${params.add(now)}::timestamptz)`;
}
