import { DEFAULT_NAMESPACE, type Memory, type MemoryHistoryEntry, type MemoryOwner } from '@engram/memory-core';
import type { InferenceEventStatus } from '@engram/inference';
import { EVENT_METADATA_KEY, type IngestEvent } from './message-ingestion.js';

/**
 * Engram's objects in mem0's shapes (its platform API's, snake_case): what its clients read. A memory's text is
 * `memory`; Engram's own fields (`status`, `memory_type`, `importance`, …) ride along, as extra keys clients ignore.
 */

export function presentMem0Memory(memory: Memory, fields?: readonly string[]) {
  // The adapter's own key is not the caller's metadata.
  const metadata = Object.fromEntries(Object.entries(memory.metadata).filter(([key]) => key !== EVENT_METADATA_KEY));
  const presented = {
    id: memory.id,
    memory: memory.content,
    user_id: memory.userId,
    agent_id: memory.agentId,
    app_id: memory.namespace === DEFAULT_NAMESPACE ? null : memory.namespace,
    run_id: memory.runId,
    hash: memory.contentHash,
    metadata: Object.keys(metadata).length > 0 ? metadata : null,
    categories: memory.categories,
    immutable: false,
    expiration_date: memory.expiresAt ? memory.expiresAt.toISOString().slice(0, 10) : null,
    created_at: memory.createdAt.toISOString(),
    updated_at: memory.updatedAt.toISOString(),
    memory_type: memory.memoryType,
    importance: memory.importance,
    confidence: memory.confidence,
    status: memory.status,
  };
  return fields ? pick(presented, fields) : presented;
}

export function presentMem0SearchResult(result: { memory: Memory; score: number }, fields?: readonly string[]) {
  return { ...presentMem0Memory(result.memory, fields), score: result.score };
}

/** mem0's "v1.1" results of a write: one entry per memory, with what happened to it. */
export function presentMem0Write(memory: Memory, event: 'ADD' | 'UPDATE' | 'DELETE' = 'ADD') {
  return { id: memory.id, event, data: { memory: memory.content }, status: memory.status };
}

/** History rows keep no owner fields of their own (the memory may be gone): `user_id` is not known here. */
export function presentMem0History(entry: MemoryHistoryEntry) {
  return {
    id: entry.id,
    memory_id: entry.memoryId,
    input: [],
    old_memory: entry.oldContent,
    new_memory: entry.newContent,
    user_id: null,
    categories: [],
    event: entry.op,
    created_at: entry.at.toISOString(),
    updated_at: entry.at.toISOString(),
    actor: entry.actor,
  };
}

export function presentMem0Entity(owner: MemoryOwner, tenantId: string) {
  return {
    id: owner.id,
    name: owner.id,
    type: owner.kind,
    total_memories: owner.memoryCount,
    created_at: owner.firstAt.toISOString(),
    updated_at: owner.lastAt.toISOString(),
    owner: tenantId,
    organization: tenantId,
    metadata: null,
  };
}

/**
 * mem0's paginated envelope. `next` / `previous` are links to the neighbouring pages (mem0 gives absolute URLs; the
 * clients never follow them).
 */
export function presentMem0Page<T>(results: T[], page: { number: number; size: number; total: number; url: string }) {
  const link = (n: number) => `${page.url}?page=${n}&page_size=${page.size}`;
  return {
    count: page.total,
    next: page.number * page.size < page.total ? link(page.number + 1) : null,
    previous: page.number > 1 ? link(page.number - 1) : null,
    results,
  };
}

const EVENT_MESSAGE = {
  PENDING: 'Memory processing has been queued for background execution',
  SUCCEEDED: 'Memories stored and searchable',
} as const;

/** The answer of an add that runs in the background: what to poll (`GET /v1/event/{event_id}/`). */
export function presentMem0Queued(event: IngestEvent) {
  const status = mem0EventStatus(event);
  return {
    message: status === 'SUCCEEDED' ? EVENT_MESSAGE.SUCCEEDED : EVENT_MESSAGE.PENDING,
    status,
    event_id: event.id,
  };
}

export function presentMem0Event(event: IngestEvent) {
  const status = mem0EventStatus(event);
  const results = presentMem0Results(event);
  return {
    id: event.id,
    event_type: 'ADD',
    status,
    payload: { messages: event.memories.map((m) => ({ role: roleOf(m), content: m.content })) },
    metadata: {
      inferred: event.inferred,
      memories: results.length,
      ...(event.inference?.error ? { inference_error: event.inference.error } : {}),
    },
    results,
    created_at: event.createdAt.toISOString(),
    updated_at: event.updatedAt.toISOString(),
    started_at: event.createdAt.toISOString(),
    completed_at: status === 'SUCCEEDED' || status === 'FAILED' ? event.updatedAt.toISOString() : null,
    latency: null,
  };
}

export type Mem0EventStatus = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

const INFERENCE_STATUS = {
  pending: 'PENDING',
  running: 'RUNNING',
  succeeded: 'SUCCEEDED',
  failed: 'FAILED',
} as const satisfies Record<InferenceEventStatus, Mem0EventStatus>;

/** What an add did: its memories, or for an inferred add each fact's operation (NONE left out, as mem0 does). */
export function presentMem0Results(event: IngestEvent) {
  if (!event.inference) return event.memories.map((memory) => presentMem0Write(memory));
  return event.inference.outcomes
    .filter((outcome) => outcome.op !== 'NONE')
    .map((outcome) => ({
      id: outcome.memoryId,
      event: outcome.op,
      data: { memory: outcome.content },
      ...(outcome.previousContent === null ? {} : { previous_memory: outcome.previousContent }),
      reason: outcome.reason,
    }));
}

/**
 * An inferred add: its own status. Otherwise done when every memory is searchable; failed once one gave up and none
 * is still on its way.
 */
export function mem0EventStatus(event: Pick<IngestEvent, 'memories' | 'inference'>): Mem0EventStatus {
  if (event.inference) return INFERENCE_STATUS[event.inference.status];
  const statuses = event.memories.map((m) => m.status);
  if (statuses.includes('pending')) return statuses.some((s) => s !== 'pending') ? 'RUNNING' : 'PENDING';
  return statuses.includes('failed') ? 'FAILED' : 'SUCCEEDED';
}

function roleOf(memory: Memory): string {
  const role = memory.metadata['role'];
  return typeof role === 'string' ? role : 'user';
}

function pick<T extends object>(object: T, keys: readonly string[]): Partial<T> {
  const wanted = new Set(['id', ...keys]);
  return Object.fromEntries(Object.entries(object).filter(([key]) => wanted.has(key))) as Partial<T>;
}
