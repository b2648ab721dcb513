import type { InferenceMessage } from '@engram/inference';
import {
  parseFilter,
  type MemoryPatch,
  type MemoryScope,
  type NewMemory,
  type SearchRequest,
  type TenantId,
} from '@engram/memory-core';
import type { AddMemoryBody, SearchBody, UpdateMemoryBody } from './dto/memory.dto.js';

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

/** A search, as the REST route and the MCP tool take it. */
export function searchRequestOf(body: SearchBody): SearchRequest {
  return {
    query: body.query,
    mode: body.mode,
    limit: body.limit,
    threshold: body.threshold,
    filter: body.filters === undefined ? undefined : parseFilter(body.filters),
    recencyWeight: body.recency_weight,
    importanceWeight: body.importance_weight,
  };
}

/** What an inference reads: the messages, or the content as one user turn. */
export function messagesOf(body: AddMemoryBody): InferenceMessage[] {
  return body.messages ?? [{ role: 'user', content: body.content ?? '' }];
}

/** The add's own fields, given to every memory its inference adds. */
export function inferenceDefaultsOf(body: AddMemoryBody): Omit<NewMemory, 'content'> {
  const { memoryType, importance, confidence, metadata, categories, expiresAt, namespace } = newMemoryOf(body);
  return { memoryType, importance, confidence, metadata, categories, expiresAt, namespace };
}
