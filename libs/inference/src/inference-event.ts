import type { MemoryScope, TenantId } from '@engram/memory-core';
import type { MemoryOp } from './inference-engine.js';

export type InferenceEventStatus = 'pending' | 'running' | 'succeeded' | 'failed';

/** What an inference did for one candidate fact (or, after a failure, with one raw message). */
export interface InferenceOutcome {
  op: MemoryOp;
  /** The memory written, updated, deleted, or that already said it (NONE); null for a NONE that names none. */
  memoryId: string | null;
  /** The memory's content after the operation (before it, for a DELETE). */
  content: string;
  /** The content it replaced (UPDATE, DELETE). */
  previousContent: string | null;
  reason: string;
}

/**
 * The record of one `infer: true` add: what the add answered with (its id), the status polled by clients
 * (`GET /v1/events/{id}`, mem0's `GET /v1/event/{id}/`), and once done the outcome of every fact. It holds no message
 * text of its own, but its outcomes carry the contents of the memories it wrote: a GDPR erase must remove the
 * subject's events too (`InferenceEventStore.deleteByUser`; the cloud's erase deletes them in its memories step).
 */
export interface InferenceEvent {
  id: string;
  tenantId: TenantId;
  userId: string | null;
  agentId: string | null;
  runId: string | null;
  namespace: string | null;
  status: InferenceEventStatus;
  /** `llm` or `rules`. */
  engine: string;
  outcomes: InferenceOutcome[];
  /** Why inference failed (the messages were then stored as they are), or why the event failed. */
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type InferenceEventUpdate = Partial<Pick<InferenceEvent, 'status' | 'outcomes' | 'error'>> & { updatedAt: Date };

/**
 * Where inference events are kept. Keyed by tenant first, like every tenant table: `get` with another tenant's id
 * finds nothing. Bound to INFERENCE_EVENT_STORE: PostgresInferenceEventStore (`inference_events`, on the memory
 * provider's database, PGlite included; under row-level security in the cloud) with MEMORY_PROVIDER=postgres, so that
 * an event outlives a restart and every API process sees it; InMemoryInferenceEventStore with the local provider.
 */
export interface InferenceEventStore {
  create(event: InferenceEvent): Promise<void>;
  update(tenantId: TenantId, id: string, update: InferenceEventUpdate): Promise<void>;
  get(tenantId: TenantId, id: string): Promise<InferenceEvent | null>;
  /** Forgets a data subject's events (GDPR erase); returns how many. */
  deleteByUser(tenantId: TenantId, userId: string): Promise<number>;
  /**
   * Marks `failed` (error INTERRUPTED_ERROR) every event still `pending` or `running` whose last change is older than
   * `before`: left by a process that died mid-inference. Its messages were never kept, so it cannot be run again.
   * Returns how many.
   */
  failInterrupted(before: Date, at: Date): Promise<number>;
}

/** The error of an event whose process died before it finished (InferenceEventStore.failInterrupted). */
export const INTERRUPTED_ERROR = 'interrupted';

export function newInferenceEvent(id: string, scope: MemoryScope, engine: string, at: Date): InferenceEvent {
  return {
    id,
    tenantId: scope.tenantId,
    userId: scope.userId ?? null,
    agentId: scope.agentId ?? null,
    runId: scope.runId ?? null,
    namespace: scope.namespace ?? null,
    status: 'pending',
    engine,
    outcomes: [],
    error: null,
    createdAt: at,
    updatedAt: at,
  };
}

/** Events in the process's memory, for the local provider and tests: lost at a restart. */
export class InMemoryInferenceEventStore implements InferenceEventStore {
  private readonly events = new Map<string, InferenceEvent>();

  create(event: InferenceEvent): Promise<void> {
    this.events.set(key(event.tenantId, event.id), structuredClone(event));
    return Promise.resolve();
  }

  update(tenantId: TenantId, id: string, update: InferenceEventUpdate): Promise<void> {
    const event = this.events.get(key(tenantId, id));
    if (event) this.events.set(key(tenantId, id), structuredClone({ ...event, ...update }));
    return Promise.resolve();
  }

  get(tenantId: TenantId, id: string): Promise<InferenceEvent | null> {
    const event = this.events.get(key(tenantId, id));
    return Promise.resolve(event ? structuredClone(event) : null);
  }

  deleteByUser(tenantId: TenantId, userId: string): Promise<number> {
    let deleted = 0;
    for (const [k, event] of this.events) {
      if (event.tenantId === tenantId && event.userId === userId) {
        this.events.delete(k);
        deleted += 1;
      }
    }
    return Promise.resolve(deleted);
  }

  failInterrupted(before: Date, at: Date): Promise<number> {
    let failed = 0;
    for (const [k, event] of this.events) {
      if ((event.status === 'pending' || event.status === 'running') && event.updatedAt < before) {
        this.events.set(k, { ...event, status: 'failed', error: INTERRUPTED_ERROR, updatedAt: at });
        failed += 1;
      }
    }
    return Promise.resolve(failed);
  }
}

function key(tenantId: TenantId, id: string): string {
  return `${tenantId}\u0000${id}`;
}
