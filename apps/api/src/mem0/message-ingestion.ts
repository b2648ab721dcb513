import { Injectable } from '@nestjs/common';
import { InferenceService, type InferenceEvent, type InferenceOutcome } from '@engram/inference';
import {
  MemoryException,
  MemoryExceptionCode,
  MemoryService,
  newId,
  parseFilter,
  BATCH_MAX,
  type Memory,
  type MemoryScope,
  type TenantId,
} from '@engram/memory-core';

/** A turn of a conversation, as an add receives it. */
export interface ConversationMessage {
  role: 'user' | 'assistant' | 'system' | 'tool';
  content: string;
  /** Who spoke, when the role is not enough (mem0 keeps it as `actor_id`). */
  name?: string;
}

export interface IngestOptions {
  /** The caller asked for facts to be extracted (mem0's default). */
  infer: boolean;
  /** Given to every memory the add writes. */
  metadata?: Record<string, unknown>;
  expiresAt?: Date | null;
  /** Answer only once the memories are searchable. */
  wait: boolean;
  actor: string;
}

/** What an add set going, as its event reports it. */
export interface IngestEvent {
  id: string;
  /** The memories it wrote, oldest first, with their status (`ready` once searchable). */
  memories: Memory[];
  /** Whether facts were extracted from the messages (false: the messages were stored as they are). */
  inferred: boolean;
  createdAt: Date;
  updatedAt: Date;
  /**
   * For an inferred add: its own status (its memories are known only once it is done), what it did with each fact
   * (`memories` is then empty), and why inference failed, when it did (the messages were then stored as they are).
   */
  inference?: Pick<InferenceEvent, 'status' | 'outcomes' | 'error'>;
}

/**
 * How an add's messages become memories, and how its event is found again. Bound to MESSAGE_INGESTION:
 * InferringMessageIngestion, which hands `infer: true` adds to the InferenceService (facts extracted, ADD / UPDATE /
 * DELETE / NONE decided against the scope's memories, outcome reported under the event id the add returned) and
 * stores the others as they are (VerbatimMessageIngestion).
 */
export interface MessageIngestion {
  ingest(scope: MemoryScope, messages: readonly ConversationMessage[], options: IngestOptions): Promise<IngestEvent>;
  /** The event of an earlier `ingest` by the tenant, or null when it has none by that id. */
  event(tenantId: TenantId, eventId: string): Promise<IngestEvent | null>;
}

export const MESSAGE_INGESTION = Symbol('MessageIngestion');

/** The metadata key that ties the memories of one add together (hidden from mem0 clients). */
export const EVENT_METADATA_KEY = 'mem0_event_id';

/**
 * Stores each message as its own memory, as mem0 does with `infer: false` (system messages skipped, the role kept in
 * the metadata as `role`, a speaker's name as `actor_id`), whether or not the caller asked to infer.
 *
 * The event is the memories themselves: its id is the id of the add's first memory, and the add's memories carry one
 * tag in their metadata (EVENT_METADATA_KEY) that finds them all again. So an event is exactly as durable as its
 * memories (in every edition and backend, across restarts and API processes, with no table of its own), is isolated
 * by tenant as they are, and its status is theirs: done once every one of them is `ready` (embedded, searchable).
 * An event whose first memory was deleted, or whose tag was overwritten by a metadata update, is gone (404).
 */
@Injectable()
export class VerbatimMessageIngestion implements MessageIngestion {
  constructor(private readonly memories: MemoryService) {}

  async ingest(
    scope: MemoryScope,
    messages: readonly ConversationMessage[],
    options: IngestOptions,
  ): Promise<IngestEvent> {
    const kept = messages.filter((message) => message.role !== 'system');
    if (kept.length === 0) {
      throw MemoryException.validation(
        'messages: nothing to store; give at least one message that is not a system one',
      );
    }
    const tag = newId();
    const stored = await this.memories.addMany(
      kept.map((message) => ({
        scope,
        memory: {
          content: message.content,
          metadata: {
            ...options.metadata,
            role: message.role,
            ...(message.name === undefined ? {} : { actor_id: message.name }),
            [EVENT_METADATA_KEY]: tag,
          },
          expiresAt: options.expiresAt,
        },
      })),
      { wait: options.wait, actor: options.actor },
    );
    return eventOf(stored);
  }

  async event(tenantId: TenantId, eventId: string): Promise<IngestEvent | null> {
    const first = await this.memories.get({ tenantId }, eventId).catch((error: unknown) => {
      if (error instanceof MemoryException && error.code === MemoryExceptionCode.MEMORY_NOT_FOUND) return null;
      throw error;
    });
    const tag = first?.metadata[EVENT_METADATA_KEY];
    if (!first || typeof tag !== 'string') return null;
    const page = await this.memories.list(
      {
        tenantId,
        userId: first.userId ?? undefined,
        agentId: first.agentId ?? undefined,
        runId: first.runId ?? undefined,
        namespace: first.namespace,
      },
      { limit: BATCH_MAX, filter: parseFilter({ [`metadata.${EVENT_METADATA_KEY}`]: tag }) },
    );
    const memories = page.items.reverse();
    return memories.some((memory) => memory.id === eventId) ? { ...eventOf(memories), id: eventId } : null;
  }
}

/**
 * mem0's `infer` (its default): an inferred add goes to the InferenceService (LLM engine when LLM_* is configured,
 * else the offline rules) and its event is the inference's; `infer: false` stores the messages as they are. Events
 * of both kinds are found by `event`: an inference event first, else the verbatim add whose first memory has the id.
 */
@Injectable()
export class InferringMessageIngestion implements MessageIngestion {
  constructor(
    private readonly verbatim: VerbatimMessageIngestion,
    private readonly inference: InferenceService,
  ) {}

  async ingest(
    scope: MemoryScope,
    messages: readonly ConversationMessage[],
    options: IngestOptions,
  ): Promise<IngestEvent> {
    if (!options.infer) return this.verbatim.ingest(scope, messages, options);
    const event = await this.inference.submit(scope, messages, {
      actor: options.actor,
      defaults: { metadata: options.metadata, expiresAt: options.expiresAt },
      wait: options.wait,
    });
    return ingestEventOf(event);
  }

  async event(tenantId: TenantId, eventId: string): Promise<IngestEvent | null> {
    const inferred = await this.inference.event(tenantId, eventId);
    return inferred ? ingestEventOf(inferred) : this.verbatim.event(tenantId, eventId);
  }
}

function ingestEventOf(event: InferenceEvent): IngestEvent {
  const outcomes: InferenceOutcome[] = event.outcomes;
  return {
    id: event.id,
    memories: [],
    inferred: true,
    createdAt: event.createdAt,
    updatedAt: event.updatedAt,
    inference: { status: event.status, outcomes, error: event.error },
  };
}

function eventOf(memories: Memory[]): IngestEvent {
  const times = (pick: (m: Memory) => Date) => memories.map((m) => pick(m).getTime());
  return {
    id: memories[0].id,
    memories,
    inferred: false,
    createdAt: new Date(Math.min(...times((m) => m.createdAt))),
    updatedAt: new Date(Math.max(...times((m) => m.updatedAt))),
  };
}
