import { z } from 'zod';
import {
  contentHash,
  type Filter,
  type FilterValue,
  type Memory,
  type MemoryHistoryEntry,
  type MemoryPatch,
  type MemoryScope,
  type TenantId,
  type ValidNewMemory,
} from '@engram/memory-core';

/**
 * An Engram's native API shapes (API.md, "Native API (v1)") to and from the protocol's. Every field of a memory
 * travels both ways except what the API never shows: the vector, its model and dimensions (the remote embeds with its
 * own pipeline and keeps them), and the content hash, recomputed here as the protocol defines it.
 */

const isoDate = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be a date');

export const engramMemorySchema = z.looseObject({
  id: z.string(),
  user_id: z.string().nullable(),
  agent_id: z.string().nullable(),
  run_id: z.string().nullable(),
  namespace: z.string(),
  content: z.string(),
  memory_type: z.string(),
  importance: z.number(),
  confidence: z.number(),
  metadata: z.record(z.string(), z.unknown()),
  categories: z.array(z.string()),
  status: z.enum(['pending', 'ready', 'failed']),
  failure_reason: z.string().nullish(),
  created_at: isoDate,
  updated_at: isoDate,
  accessed_at: isoDate.nullable(),
  access_count: z.number().int(),
  expires_at: isoDate.nullable(),
});
export type EngramMemory = z.output<typeof engramMemorySchema>;

export const engramHistorySchema = z.looseObject({
  op: z.enum(['ADD', 'UPDATE', 'DELETE']),
  old_content: z.string().nullable(),
  new_content: z.string().nullable(),
  at: isoDate,
  actor: z.string(),
});

export function memoryOfEngram(tenantId: TenantId, remote: EngramMemory): Memory {
  return {
    id: remote.id,
    tenantId,
    userId: remote.user_id,
    agentId: remote.agent_id,
    runId: remote.run_id,
    namespace: remote.namespace,
    content: remote.content,
    memoryType: remote.memory_type,
    importance: remote.importance,
    confidence: remote.confidence,
    metadata: remote.metadata,
    categories: remote.categories,
    status: remote.status,
    failureReason: remote.failure_reason ?? null,
    embeddingModel: null,
    embeddingDimensions: null,
    embedding: null,
    contentHash: contentHash(remote.content),
    createdAt: new Date(remote.created_at),
    updatedAt: new Date(remote.updated_at),
    accessedAt: remote.accessed_at === null ? null : new Date(remote.accessed_at),
    accessCount: remote.access_count,
    expiresAt: remote.expires_at === null ? null : new Date(remote.expires_at),
  };
}

/**
 * The native history has no row ids; a row's place in its memory's history names it, which is stable since history is
 * append-only.
 */
export function historyEntryOfEngram(
  memoryId: string,
  remote: z.output<typeof engramHistorySchema>,
  index: number,
): MemoryHistoryEntry {
  return {
    id: `${memoryId}:${index}`,
    memoryId,
    op: remote.op,
    oldContent: remote.old_content,
    newContent: remote.new_content,
    actor: remote.actor,
    at: new Date(remote.at),
  };
}

/** The scope as the native API's owner fields (query parameters or body fields); absent ones are left out. */
export function scopeFieldsOf(scope: MemoryScope): Record<string, string | undefined> {
  return { user_id: scope.userId, agent_id: scope.agentId, run_id: scope.runId, namespace: scope.namespace };
}

/** A validated new memory as `POST /v1/memories` takes it, with the owner fields of the scope it is added in. */
export function addBodyOf(scope: MemoryScope, memory: ValidNewMemory): Record<string, unknown> {
  return {
    content: memory.content,
    user_id: scope.userId,
    agent_id: scope.agentId,
    run_id: scope.runId,
    namespace: memory.namespace,
    metadata: memory.metadata,
    memory_type: memory.memoryType,
    importance: memory.importance,
    confidence: memory.confidence,
    categories: memory.categories,
    // An explicit null: the caller's service already applied any source's default expiry.
    expires_at: memory.expiresAt?.toISOString() ?? null,
  };
}

export function patchBodyOf(patch: MemoryPatch): Record<string, unknown> {
  const body: Record<string, unknown> = {
    content: patch.content,
    metadata: patch.metadata,
    memory_type: patch.memoryType,
    importance: patch.importance,
    confidence: patch.confidence,
    categories: patch.categories,
    expires_at: patch.expiresAt === undefined ? undefined : (patch.expiresAt?.toISOString() ?? null),
  };
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined));
}

/** The filter tree in the API's own grammar (what `parseFilter` reads), so the remote parses back the same tree. */
export function filterJsonOf(filter: Filter): Record<string, unknown> {
  switch (filter.kind) {
    case 'and':
      return { and: filter.filters.map(filterJsonOf) };
    case 'or':
      return { or: filter.filters.map(filterJsonOf) };
    case 'not':
      return { not: filterJsonOf(filter.filter) };
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
