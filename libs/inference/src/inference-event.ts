import type { MemoryScope, NewMemory, TenantId } from '@engram/memory-core';
import type { InferenceMessage, MemoryOp } from './inference-engine.js';

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

/**
 * What an inference needs to run, kept with its event until the event is done: the job on the queue names only the
 * event, so a conversation that was acknowledged survives a dead worker and a Redis that lost its jobs.
 */
export interface InferenceRequest {
  messages: InferenceMessage[];
  /** Who asked (`api`, `mem0-api`): the history's actor is `<actor>:inference:<engine>`. */
  actor: string;
  /** Given to every memory the inference adds. */
  defaults?: Omit<NewMemory, 'content'>;
  /** The client waits for the event: its memories must be searchable when it is done. */
  wait: boolean;
  /** The request that asked and its API key, so that what the worker writes is audited as theirs. */
  requestId?: string;
  keyId?: string;
}

/** `request: null` drops the kept request (the event is done with it). */
export type InferenceEventUpdate = Partial<Pick<InferenceEvent, 'status' | 'outcomes' | 'error'>> & {
  updatedAt: Date;
  request?: null;
};

/** An event still `pending` or `running`, as the sweep of interrupted ones sees it. */
export interface UnfinishedInferenceEvent {
  tenantId: TenantId;
  id: string;
  userId: string | null;
  /** It still has its request, so it can be run again; an event of before requests were kept cannot. */
  resumable: boolean;
}

/**
 * Where inference events are kept. Keyed by tenant first, like every tenant table: `get` with another tenant's id
 * finds nothing. Bound to INFERENCE_EVENT_STORE: PostgresInferenceEventStore (`inference_events`, on the memory
 * provider's database, PGlite included; under row-level security in the cloud) with MEMORY_PROVIDER=postgres, so that
 * an event outlives a restart and every API process sees it; InMemoryInferenceEventStore with the local provider.
 */
export interface InferenceEventStore {
  /** Records a new event, with the request it runs (absent: an event that will never run, as in tests). */
  create(event: InferenceEvent, request?: InferenceRequest): Promise<void>;
  update(tenantId: TenantId, id: string, update: InferenceEventUpdate): Promise<void>;
  get(tenantId: TenantId, id: string): Promise<InferenceEvent | null>;
  /** The request kept with the event; null once the event is done, or for an unknown id. */
  request(tenantId: TenantId, id: string): Promise<InferenceRequest | null>;
  /** Forgets a data subject's events, requests included (GDPR erase); returns how many. */
  deleteByUser(tenantId: TenantId, userId: string): Promise<number>;
  /** Up to `limit` events still `pending` or `running` whose last change is older than `before`, of every tenant. */
  unfinished(before: Date, limit: number): Promise<UnfinishedInferenceEvent[]>;
}

/** The error of an event interrupted by a dead process that could not be run again (it had no request kept). */
export const INTERRUPTED_ERROR = 'interrupted';

/** A request read back from JSON: its dates are strings there. */
export function requestFromJson(json: InferenceRequest): InferenceRequest {
  const expiresAt = json.defaults?.expiresAt as Date | string | null | undefined;
  if (typeof expiresAt !== 'string') return json;
  return { ...json, defaults: { ...json.defaults, expiresAt: new Date(expiresAt) } };
}

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

/** Events in the process's memory, for the local provider and tests: lost at a restart, with the in-process queue. */
export class InMemoryInferenceEventStore implements InferenceEventStore {
  private readonly events = new Map<string, InferenceEvent>();
  private readonly requests = new Map<string, InferenceRequest>();

  create(event: InferenceEvent, request?: InferenceRequest): Promise<void> {
    this.events.set(key(event.tenantId, event.id), structuredClone(event));
    if (request) this.requests.set(key(event.tenantId, event.id), structuredClone(request));
    return Promise.resolve();
  }

  update(tenantId: TenantId, id: string, update: InferenceEventUpdate): Promise<void> {
    const event = this.events.get(key(tenantId, id));
    if (!event) return Promise.resolve();
    const { request, ...changes } = update;
    this.events.set(key(tenantId, id), structuredClone({ ...event, ...changes }));
    if (request === null) this.requests.delete(key(tenantId, id));
    return Promise.resolve();
  }

  request(tenantId: TenantId, id: string): Promise<InferenceRequest | null> {
    const request = this.requests.get(key(tenantId, id));
    return Promise.resolve(request ? structuredClone(request) : null);
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
        this.requests.delete(k);
        deleted += 1;
      }
    }
    return Promise.resolve(deleted);
  }

  unfinished(before: Date, limit: number): Promise<UnfinishedInferenceEvent[]> {
    const found: UnfinishedInferenceEvent[] = [];
    for (const [k, event] of this.events) {
      if (found.length >= limit) break;
      if ((event.status === 'pending' || event.status === 'running') && event.updatedAt < before) {
        found.push({ tenantId: event.tenantId, id: event.id, userId: event.userId, resumable: this.requests.has(k) });
      }
    }
    return Promise.resolve(found);
  }
}

function key(tenantId: TenantId, id: string): string {
  return `${tenantId}\u0000${id}`;
}
