import type { Memory, MemoryHistoryEntry } from '@engram/memory-core';

/** A memory as the API shows it (API.md): snake_case, no vector, no internal hashes. */
export function presentMemory(memory: Memory) {
  return {
    id: memory.id,
    user_id: memory.userId,
    agent_id: memory.agentId,
    run_id: memory.runId,
    namespace: memory.namespace,
    content: memory.content,
    memory_type: memory.memoryType,
    importance: memory.importance,
    confidence: memory.confidence,
    metadata: memory.metadata,
    categories: memory.categories,
    status: memory.status,
    ...(memory.status === 'failed' ? { failure_reason: memory.failureReason } : {}),
    created_at: memory.createdAt.toISOString(),
    updated_at: memory.updatedAt.toISOString(),
    accessed_at: memory.accessedAt?.toISOString() ?? null,
    access_count: memory.accessCount,
    expires_at: memory.expiresAt?.toISOString() ?? null,
  };
}

export function presentHistory(entry: MemoryHistoryEntry) {
  return {
    op: entry.op,
    old_content: entry.oldContent,
    new_content: entry.newContent,
    at: entry.at.toISOString(),
    actor: entry.actor,
  };
}
