import { z } from 'zod';
import {
  contentHash,
  DEFAULT_MEMORY_TYPE,
  DEFAULT_NAMESPACE,
  MemoryException,
  MemoryExceptionCode,
  type Filter,
  type FilterValue,
  type HistoryOp,
  type Memory,
  type MemoryHistoryEntry,
  type MemoryOwner,
  type MemoryScope,
  type MemoryStatus,
  type SignedUserContext,
  type TenantId,
} from '@engram/memory-core';

/**
 * mem0's shapes (its platform API's, which Engram's `/mem0` routes serve) to and from the protocol's. What mem0 has no
 * field for comes back as the protocol's "none": no vector, no access statistics, no failure reason.
 */

const isoDate = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be a date');

export const remoteMemorySchema = z.looseObject({
  id: z.string(),
  memory: z.string(),
  user_id: z.string().nullish(),
  agent_id: z.string().nullish(),
  run_id: z.string().nullish(),
  app_id: z.string().nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  categories: z.array(z.string()).nullish(),
  expiration_date: z.string().nullish(),
  created_at: isoDate,
  updated_at: isoDate.nullish(),
  // Engram's own fields, which it sends along; mem0's platform has none of them.
  memory_type: z.string().nullish(),
  importance: z.number().nullish(),
  confidence: z.number().nullish(),
  status: z.enum(['pending', 'ready', 'failed']).nullish(),
  score: z.number().nullish(),
});
export type RemoteMemory = z.output<typeof remoteMemorySchema>;

export const remoteHistorySchema = z.looseObject({
  id: z.string(),
  memory_id: z.string(),
  old_memory: z.string().nullish(),
  new_memory: z.string().nullish(),
  event: z.enum(['ADD', 'UPDATE', 'DELETE']),
  created_at: isoDate,
  actor: z.string().nullish(),
});

export const remoteEntitySchema = z.looseObject({
  id: z.string().optional(),
  name: z.string().optional(),
  type: z.string(),
  total_memories: z.number().int(),
  created_at: isoDate,
  updated_at: isoDate.nullish(),
});

export const remotePageSchema = <T extends z.ZodType>(item: T) =>
  z.looseObject({ count: z.number().int(), results: z.array(item) });

/** Parses what the remote answered; a shape it should not have is the remote's fault (503), never the caller's. */
export function parseRemote<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new MemoryException(
      MemoryExceptionCode.DEPENDENCY_UNAVAILABLE,
      `the remote memory server answered ${what} in an unexpected shape`,
      { issues: parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.')}: ${issue.message}`) },
    );
  }
  return parsed.data;
}

/** The remote's memory as the protocol's, in the tenant the remote's key belongs to. */
export function memoryOf(tenantId: TenantId, remote: RemoteMemory): Memory {
  const createdAt = new Date(remote.created_at);
  return {
    id: remote.id,
    tenantId,
    userId: remote.user_id ?? null,
    agentId: remote.agent_id ?? null,
    runId: remote.run_id ?? null,
    namespace: remote.app_id ?? DEFAULT_NAMESPACE,
    content: remote.memory,
    memoryType: remote.memory_type ?? DEFAULT_MEMORY_TYPE,
    importance: remote.importance ?? 5,
    confidence: remote.confidence ?? 1,
    metadata: remote.metadata ?? {},
    categories: remote.categories ?? [],
    // mem0's platform reports no status: what it returns is searchable.
    status: (remote.status ?? 'ready') satisfies MemoryStatus,
    failureReason: null,
    embeddingModel: null,
    embeddingDimensions: null,
    embedding: null,
    // The protocol's hash (sha256 of the content), whatever the remote's own hash is: the pipeline compares them.
    contentHash: contentHash(remote.memory),
    createdAt,
    updatedAt: remote.updated_at ? new Date(remote.updated_at) : createdAt,
    accessedAt: null,
    accessCount: 0,
    expiresAt: expiryOf(remote.expiration_date),
  };
}

/** mem0 keeps an expiry as a day: the memory lives through that day (UTC), as the remote applies it. */
export function expiryOf(value: string | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  return new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T23:59:59.999Z` : value);
}

export function historyEntryOf(remote: z.output<typeof remoteHistorySchema>): MemoryHistoryEntry {
  return {
    id: remote.id,
    memoryId: remote.memory_id,
    op: remote.event satisfies HistoryOp,
    oldContent: remote.old_memory ?? null,
    newContent: remote.new_memory ?? null,
    actor: remote.actor ?? 'remote',
    at: new Date(remote.created_at),
  };
}

export function ownerOf(remote: z.output<typeof remoteEntitySchema>): MemoryOwner | null {
  if (remote.type !== 'user' && remote.type !== 'agent' && remote.type !== 'run') return null;
  const id = remote.id ?? remote.name;
  if (id === undefined) return null;
  const firstAt = new Date(remote.created_at);
  return {
    kind: remote.type,
    id,
    memoryCount: remote.total_memories,
    firstAt,
    lastAt: remote.updated_at ? new Date(remote.updated_at) : firstAt,
  };
}

/** The scope's owner fields in mem0's names (top-level fields of adds and deletes); `app_id` is the namespace. */
export function entityFieldsOf(scope: MemoryScope): Record<string, string | undefined> {
  return { user_id: scope.userId, agent_id: scope.agentId, run_id: scope.runId, app_id: scope.namespace };
}

export function userContextOf(scope: MemoryScope): SignedUserContext {
  return { user_id: scope.userId, agent_id: scope.agentId, run_id: scope.runId };
}

/**
 * The scope and the filter as one mem0 filter: `{"AND": [{"user_id": …}, …, <filter>]}`. The scope's conditions pin
 * every result to its user, agent or run, as mem0's reads require. `app_id` is the namespace on both sides.
 */
export function mem0FiltersOf(scope: MemoryScope, filter?: Filter, extra: Record<string, unknown>[] = []) {
  const parts: Record<string, unknown>[] = [];
  if (scope.userId !== undefined) parts.push({ user_id: scope.userId });
  if (scope.agentId !== undefined) parts.push({ agent_id: scope.agentId });
  if (scope.runId !== undefined) parts.push({ run_id: scope.runId });
  if (scope.namespace !== undefined) parts.push({ app_id: scope.namespace });
  if (filter) parts.push(mem0FilterOf(filter));
  parts.push(...extra);
  return { AND: parts };
}

/**
 * The filter tree in mem0's grammar, always with explicit operators (`{"field": {"op": value}}`), since a bare
 * value there means equality, a list `in`, and `"*"` a wildcard. Engram's mem0 routes accept Engram's own fields and
 * `metadata.<path>` too; mem0's platform knows fewer fields and refuses the others (a 400, as VALIDATION_FAILED).
 */
export function mem0FilterOf(filter: Filter): Record<string, unknown> {
  switch (filter.kind) {
    case 'and':
      return { AND: filter.filters.map(mem0FilterOf) };
    case 'or':
      return { OR: filter.filters.map(mem0FilterOf) };
    case 'not':
      return { NOT: [mem0FilterOf(filter.filter)] };
    case 'condition': {
      const field = filter.field.kind === 'column' ? filter.field.name : `metadata.${filter.field.path.join('.')}`;
      return { [field]: { [filter.op]: jsonValueOf(filter.value) } };
    }
  }
}

function jsonValueOf(value: FilterValue): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item: FilterValue) => jsonValueOf(item));
  return value;
}
