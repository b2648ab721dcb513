import type { MemoryPatch, MemoryScope, NewMemory, TenantId } from '@engram/memory-core';
import type { AddMemoryBody, UpdateMemoryBody } from './dto/memory.dto.js';

interface ScopeFields {
  user_id?: string;
  agent_id?: string;
  run_id?: string;
  namespace?: string;
}

export function scopeOf(tenantId: TenantId, fields: ScopeFields): MemoryScope {
  return {
    tenantId,
    userId: fields.user_id,
    agentId: fields.agent_id,
    runId: fields.run_id,
    namespace: fields.namespace,
  };
}

/** Without inference, a conversation is kept as one memory: its turns, each with its speaker. */
export function newMemoryOf(body: AddMemoryBody): NewMemory {
  const content = body.content ?? (body.messages ?? []).map((m) => `${m.role}: ${m.content}`).join('\n');
  return { ...patchOf(body), content, namespace: body.namespace };
}

/** The optional memory fields, shared by add and update. */
export function patchOf(body: UpdateMemoryBody | AddMemoryBody): MemoryPatch {
  return {
    content: body.content,
    memoryType: body.memory_type,
    importance: body.importance,
    confidence: body.confidence,
    metadata: body.metadata,
    categories: body.categories,
    expiresAt: body.expires_at === undefined ? undefined : body.expires_at === null ? null : new Date(body.expires_at),
  };
}
