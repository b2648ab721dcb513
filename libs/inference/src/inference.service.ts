import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown } from '@nestjs/common';
import {
  CLOCK,
  currentRequestContext,
  MemoryException,
  MemoryExceptionCode,
  MEMORY_TELEMETRY,
  MemoryService,
  newId,
  NOOP_MEMORY_TELEMETRY,
  runInRequestContext,
  USAGE_TRACKER,
  type Clock,
  type Memory,
  type MemoryScope,
  type MemoryTelemetry,
  type NewMemory,
  type RequestContext,
  type TenantId,
  type TraceCarrier,
  type UsageTracker,
} from '@engram/memory-core';
import type { JobHandler, JobQueue } from '@engram/queue';
import {
  factRef,
  type ExistingMemory,
  type InferenceEngine,
  type InferenceMessage,
  type MemoryDecision,
} from './inference-engine.js';
import {
  INTERRUPTED_ERROR,
  newInferenceEvent,
  type InferenceEvent,
  type InferenceEventStore,
  type InferenceOutcome,
  type InferenceRequest,
} from './inference-event.js';
import { INFERENCE_ENGINE, INFERENCE_EVENT_STORE, INFERENCE_QUEUE } from './inference.tokens.js';

/** How many memories of the scope each candidate fact is compared with. */
export const SIMILAR_MEMORIES_PER_FACT = 5;

/**
 * How long an unfinished event may go unchanged before the sweep takes it for one whose job was lost (a Redis that
 * lost its jobs, or the in-process queue of a process that died) and runs it again. Far above any inference's run
 * (an engine call times out well before), and a job that is merely waiting is enqueued again harmlessly.
 */
export const INTERRUPTED_AFTER_MS = 10 * 60_000;
/** How often a process that runs workers sweeps for unfinished events. */
export const SWEEP_EVERY_MS = 60_000;
/** How long `wait` waits for an event; then it answers with the event as it is (still pending or running). */
export const WAIT_TIMEOUT_MS = 5 * 60_000;

/** The job on the inference queue: only the event's key (the request is kept with the event, in the database). */
export interface InferenceJob {
  tenantId: TenantId;
  eventId: string;
  /** The data subject, so that a GDPR erase finds the subject's jobs. */
  userId: string | null;
  /** The trace of the add that asked (when tracing is on): the worker's spans join it. */
  trace?: TraceCarrier;
}

/** The metadata key, on every memory an inference writes, that says which event wrote it and why. */
export const INFERENCE_METADATA_KEY = 'inference';
/** The metadata key on a raw message stored because inference failed: why it failed. */
export const INFERENCE_ERROR_METADATA_KEY = 'inference_error';

export interface InferOptions {
  /** Who asked (`api`, `mem0-api`): the history's actor is `<actor>:inference:<engine>`. */
  actor: string;
  /** Given to every memory the inference adds (an UPDATE keeps the memory's own, plus the inference's). */
  defaults?: Omit<NewMemory, 'content'>;
  /** Resolve `submit` only once the inference is done and its memories searchable. */
  wait?: boolean;
}

/**
 * `infer: true`: turns a conversation into memory operations. `submit` records an event (`pending`) with its request
 * (the messages and options), puts a job naming the event on the inference queue and answers with the event. A
 * process that runs workers handles the job (`handle`: `running` → `succeeded` | `failed`):
 *
 * 1. the engine extracts candidate facts;
 * 2. each is searched for in the add's scope (MemoryService.search, so only that tenant's and scope's memories);
 * 3. the engine decides ADD / UPDATE / DELETE / NONE for each;
 * 4. the decisions are applied in order through MemoryService, so history rows, audit, usage, embedding and tenant
 *    isolation are exactly those of any other write, and in the context of the request that asked (its request id
 *    and API key). The history's actor is `<caller>:inference:<engine>`; the reason is kept on the memory (metadata
 *    `inference: {event_id, op, reason, engine}`) and in the event's outcomes.
 *
 * Nothing is lost when the engine fails (a bad LLM reply twice, an endpoint down): each message but system ones is
 * then stored as it is, with metadata `inference_error`, and the event says why (`error`, status `succeeded`,
 * since the data is stored). A failure to store (the database down) fails the job's attempt: the queue retries it,
 * and the event is `failed` only after the last attempt.
 *
 * Nothing acknowledged is lost when a process dies either: the request stays with the event until it is done. With
 * BullMQ a killed worker's job is taken over after the stall check; an event whose job is gone anyway (Redis lost
 * it, or the in-process queue died with its process) is found by the sweep (`resumeUnfinished`) and enqueued again.
 * A run that is repeated after writing part of its decisions plans again from the memories as they now are, so
 * what it wrote is found as existing memories rather than added twice.
 */
@Injectable()
export class InferenceService implements JobHandler<InferenceJob>, OnApplicationShutdown {
  private readonly logger = new Logger('InferenceService');
  private sweepTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly memories: MemoryService,
    @Inject(INFERENCE_ENGINE) private readonly engine: InferenceEngine,
    @Inject(INFERENCE_EVENT_STORE) private readonly events: InferenceEventStore,
    @Inject(INFERENCE_QUEUE) private readonly queue: JobQueue<InferenceJob>,
    @Inject(USAGE_TRACKER) private readonly usage: UsageTracker,
    @Inject(CLOCK) private readonly clock: Clock,
    @Optional() @Inject(MEMORY_TELEMETRY) private readonly telemetry: MemoryTelemetry = NOOP_MEMORY_TELEMETRY,
  ) {}

  get engineName(): string {
    return this.engine.name;
  }

  /** Records the event and queues its inference; with `wait`, answers once it is done. */
  async submit(
    scope: MemoryScope,
    messages: readonly InferenceMessage[],
    options: InferOptions,
  ): Promise<InferenceEvent> {
    if (messages.every((m) => m.role === 'system')) {
      throw MemoryException.validation(
        'messages: nothing to infer from; give at least one message that is not a system one',
      );
    }
    // Refuse now, not in the background, a scope-less add and one the tenant has no room for.
    await this.memories.count(scope);
    await this.usage.check(scope.tenantId, 'inference', 1);
    const event = newInferenceEvent(newId(), scope, this.engine.name, this.clock.now());
    const context = currentRequestContext();
    const request: InferenceRequest = {
      messages: messages.map((m) => ({ ...m })),
      actor: options.actor,
      ...(options.defaults ? { defaults: options.defaults } : {}),
      wait: options.wait ?? false,
      ...(context?.requestId ? { requestId: context.requestId } : {}),
      ...(context?.principal.kind === 'tenant' && context.principal.keyId ? { keyId: context.principal.keyId } : {}),
    };
    await this.events.create(event, request);
    try {
      const trace = this.telemetry.traceCarrier();
      await this.queue.enqueue(event.id, { ...jobOf(event), ...(trace && { trace }) });
    } catch (error) {
      // The event and its request are stored: the sweep enqueues it again, so the add is still acknowledged.
      this.logger.warn(`inference ${event.id} could not be queued, the sweep will: ${errorText(error)}`);
    }
    return options.wait ? this.waitUntilDone(event) : event;
  }

  /** The tenant's event by that id, or null (another tenant's id finds nothing). */
  event(tenantId: TenantId, id: string): Promise<InferenceEvent | null> {
    return this.events.get(tenantId, id);
  }

  /** Starts handling inference jobs in this process, and sweeping for lost ones (processes that run workers). */
  startWorker(options: { resumeAtBootAfterMs?: number } = {}): void {
    this.queue.start(this);
    const sweep = (staleAfterMs: number) =>
      this.resumeUnfinished(staleAfterMs).catch((error: unknown) => {
        // Best effort: the next sweep tries again.
        this.logger.warn(`unfinished inference events could not be swept: ${errorText(error)}`);
      });
    void sweep(options.resumeAtBootAfterMs ?? INTERRUPTED_AFTER_MS);
    this.sweepTimer = setInterval(() => void sweep(INTERRUPTED_AFTER_MS), SWEEP_EVERY_MS);
    this.sweepTimer.unref();
  }

  /**
   * Enqueues again the events unchanged for `staleAfterMs` that are still unfinished (their job was lost), and marks
   * `failed` (error `interrupted`) those that cannot be run again (recorded before requests were kept).
   */
  async resumeUnfinished(staleAfterMs = INTERRUPTED_AFTER_MS): Promise<{ resumed: number; failed: number }> {
    const now = this.clock.now();
    const unfinished = await this.events.unfinished(new Date(now.getTime() - staleAfterMs), 1000);
    let resumed = 0;
    let failed = 0;
    for (const event of unfinished) {
      if (event.resumable) {
        // Touched first, so that the next sweep leaves it alone while it waits for a worker.
        await this.events.update(event.tenantId, event.id, { updatedAt: now });
        await this.queue.enqueue(event.id, { tenantId: event.tenantId, eventId: event.id, userId: event.userId });
        resumed++;
      } else {
        await this.events.update(event.tenantId, event.id, {
          status: 'failed',
          error: INTERRUPTED_ERROR,
          updatedAt: now,
        });
        failed++;
      }
    }
    if (resumed + failed > 0)
      this.logger.warn(`unfinished inference events: ${resumed} queued again, ${failed} failed`);
    return { resumed, failed };
  }

  /** Removes the queued and finished jobs of a data subject, or of a whole tenant (a GDPR erase). */
  removeJobs(tenantId: TenantId, userId?: string) {
    return this.queue.removeJobs((job) => job.tenantId === tenantId && (userId === undefined || job.userId === userId));
  }

  /** The worker's side: runs the event's inference, unless it is gone (erased) or done (a repeated delivery). */
  async handle(job: InferenceJob): Promise<void> {
    const [event, request] = await Promise.all([
      this.events.get(job.tenantId, job.eventId),
      this.events.request(job.tenantId, job.eventId),
    ]);
    if (!event || !request || event.status === 'succeeded' || event.status === 'failed') return;
    await this.telemetry.continueTrace('inference.run', [job.trace], () =>
      runInRequestContext(contextOf(job, request), () => this.run(event, request)),
    );
  }

  /** The job's last attempt failed: the event says so, and its request goes. */
  async failed(job: InferenceJob, reason: string): Promise<void> {
    this.logger.error(`inference ${job.eventId} failed: ${reason}`);
    this.telemetry.inferenceFinished('failed');
    await this.events.update(job.tenantId, job.eventId, {
      status: 'failed',
      error: reason,
      updatedAt: this.clock.now(),
      request: null,
    });
  }

  /** Stops the sweep and lets the jobs under way finish before the process closes the provider. */
  onApplicationShutdown(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.closing ??= this.queue.close();
    return this.closing;
  }

  private async waitUntilDone(event: InferenceEvent): Promise<InferenceEvent> {
    const deadline = Date.now() + WAIT_TIMEOUT_MS;
    for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
      const current = (await this.events.get(event.tenantId, event.id)) ?? event;
      if (current.status === 'succeeded' || current.status === 'failed' || Date.now() >= deadline) return current;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  private async run(event: InferenceEvent, request: InferenceRequest): Promise<void> {
    const scope = scopeOf(event);
    const options: InferOptions = { actor: request.actor, defaults: request.defaults, wait: request.wait };
    await this.events.update(event.tenantId, event.id, { status: 'running', updatedAt: this.clock.now() });
    const outcomes: InferenceOutcome[] = [];
    let engineFailure: string | null;
    try {
      engineFailure = await this.infer(event, scope, request.messages, options, outcomes);
    } catch (error) {
      if (!isFinal(error)) throw error;
      // Trying again would be refused again (the tenant's quota, a memory that fails validation): the event fails
      // now, with what was applied before.
      this.telemetry.inferenceFinished('failed');
      await this.events.update(event.tenantId, event.id, {
        status: 'failed',
        outcomes,
        error: errorText(error),
        updatedAt: this.clock.now(),
        request: null,
      });
      return;
    }
    await this.finish(event, outcomes, engineFailure);
  }

  /** Plans and applies; when the engine fails, stores the messages as they are and returns why it failed. */
  private async infer(
    event: InferenceEvent,
    scope: MemoryScope,
    messages: readonly InferenceMessage[],
    options: InferOptions,
    outcomes: InferenceOutcome[],
  ): Promise<string | null> {
    let plan: { facts: string[]; existing: Map<string, Memory>; decisions: MemoryDecision[] };
    try {
      plan = await this.plan(scope, messages);
    } catch (error) {
      const reason = errorText(error);
      this.logger.warn(`inference ${event.id} failed, storing the messages as they are: ${reason}`);
      outcomes.push(...(await this.storeRaw(event, scope, messages, options, reason)));
      return reason;
    }
    await this.apply(event, scope, plan, options, outcomes);
    return null;
  }

  private async plan(scope: MemoryScope, messages: readonly InferenceMessage[]) {
    const facts = await this.engine.extract(messages);
    const existing = new Map<string, Memory>();
    for (const fact of facts) {
      const found = await this.memories.search(scope, { query: fact, limit: SIMILAR_MEMORIES_PER_FACT });
      for (const { memory } of found) existing.set(memory.id, memory);
    }
    const candidates: ExistingMemory[] = [...existing.values()].map((m) => ({ id: m.id, content: m.content }));
    const decisions = await this.engine.decide(facts, candidates);
    return { facts, existing, decisions };
  }

  /** Applies the decisions in order; a decision naming a memory that is gone (or unknown) becomes an ADD. */
  private async apply(
    event: InferenceEvent,
    scope: MemoryScope,
    plan: { facts: string[]; existing: Map<string, Memory>; decisions: MemoryDecision[] },
    options: InferOptions,
    outcomes: InferenceOutcome[],
  ): Promise<void> {
    const actor = `${options.actor}:inference:${this.engine.name}`;
    const current = new Map(plan.existing);
    const added = new Map<string, string>();
    const resolve = (target: string | undefined) => (target === undefined ? undefined : (added.get(target) ?? target));
    const tag = (op: string, reason: string) => ({
      [INFERENCE_METADATA_KEY]: { event_id: event.id, op, reason, engine: this.engine.name },
    });
    const add = async (fact: number, content: string, reason: string) => {
      const memory = await this.memories.add(
        scope,
        {
          ...options.defaults,
          content,
          metadata: { ...options.defaults?.metadata, ...tag('ADD', reason) },
        },
        { actor, wait: options.wait },
      );
      added.set(factRef(fact), memory.id);
      current.set(memory.id, memory);
      outcomes.push({ op: 'ADD', memoryId: memory.id, content, previousContent: null, reason });
    };

    for (const decision of plan.decisions) {
      const targetId = resolve('target' in decision ? decision.target : undefined);
      const target = targetId === undefined ? undefined : current.get(targetId);
      switch (decision.op) {
        case 'ADD':
          await add(decision.fact, decision.content, decision.reason);
          break;
        case 'UPDATE': {
          if (!target) {
            await add(decision.fact, decision.content, `${decision.reason} (its memory is gone: added)`);
            break;
          }
          const updated = await this.ifExists(() =>
            this.memories.update(
              scope,
              target.id,
              { content: decision.content, metadata: { ...target.metadata, ...tag('UPDATE', decision.reason) } },
              { actor, wait: options.wait },
            ),
          );
          if (!updated) {
            await add(decision.fact, decision.content, `${decision.reason} (its memory is gone: added)`);
            break;
          }
          current.set(updated.id, updated);
          outcomes.push({
            op: 'UPDATE',
            memoryId: updated.id,
            content: updated.content,
            previousContent: target.content,
            reason: decision.reason,
          });
          break;
        }
        case 'DELETE': {
          if (!target) {
            outcomes.push({
              op: 'NONE',
              memoryId: null,
              content: plan.facts[decision.fact] ?? '',
              previousContent: null,
              reason: `${decision.reason} (nothing to delete)`,
            });
            break;
          }
          await this.ifExists(() => this.memories.delete(scope, target.id, actor).then(() => true));
          current.delete(target.id);
          outcomes.push({
            op: 'DELETE',
            memoryId: target.id,
            content: target.content,
            previousContent: target.content,
            reason: decision.reason,
          });
          break;
        }
        case 'NONE':
          outcomes.push({
            op: 'NONE',
            memoryId: target?.id ?? null,
            content: target?.content ?? plan.facts[decision.fact] ?? '',
            previousContent: null,
            reason: decision.reason,
          });
          break;
      }
    }
  }

  /** The fallback: every message but system ones, stored as it is, with why inference failed. */
  private async storeRaw(
    event: InferenceEvent,
    scope: MemoryScope,
    messages: readonly InferenceMessage[],
    options: InferOptions,
    reason: string,
  ): Promise<InferenceOutcome[]> {
    const kept = messages.filter((m) => m.role !== 'system');
    const stored = await this.memories.addMany(
      kept.map((message) => ({
        scope,
        memory: {
          ...options.defaults,
          content: message.content,
          metadata: {
            ...options.defaults?.metadata,
            role: message.role,
            ...(message.name === undefined ? {} : { actor_id: message.name }),
            [INFERENCE_ERROR_METADATA_KEY]: reason,
            [INFERENCE_METADATA_KEY]: {
              event_id: event.id,
              op: 'ADD',
              reason: 'inference failed: stored as it is',
              engine: this.engine.name,
            },
          },
        },
      })),
      { actor: `${options.actor}:inference:${this.engine.name}`, wait: options.wait },
    );
    return stored.map((memory) => ({
      op: 'ADD',
      memoryId: memory.id,
      content: memory.content,
      previousContent: null,
      reason: `inference failed (${reason}): the message is stored as it is`,
    }));
  }

  private finish(event: InferenceEvent, outcomes: InferenceOutcome[], error: string | null): Promise<void> {
    this.telemetry.inferenceFinished(error === null ? 'succeeded' : 'fallback');
    return this.events.update(event.tenantId, event.id, {
      status: 'succeeded',
      outcomes,
      error,
      updatedAt: this.clock.now(),
      request: null,
    });
  }

  /** The write's result, or null when its memory was deleted meanwhile. */
  private async ifExists<T>(write: () => Promise<T>): Promise<T | null> {
    try {
      return await write();
    } catch (error) {
      if (error instanceof MemoryException && error.code === MemoryExceptionCode.MEMORY_NOT_FOUND) return null;
      throw error;
    }
  }
}

function jobOf(event: InferenceEvent): InferenceJob {
  return { tenantId: event.tenantId, eventId: event.id, userId: event.userId };
}

function scopeOf(event: InferenceEvent): MemoryScope {
  return {
    tenantId: event.tenantId,
    ...(event.userId === null ? {} : { userId: event.userId }),
    ...(event.agentId === null ? {} : { agentId: event.agentId }),
    ...(event.runId === null ? {} : { runId: event.runId }),
    ...(event.namespace === null ? {} : { namespace: event.namespace }),
  };
}

/** The worker writes on behalf of the request that asked: its request id and API key reach the audit log. */
function contextOf(job: InferenceJob, request: InferenceRequest): RequestContext {
  return {
    requestId: request.requestId,
    principal: {
      kind: 'tenant',
      tenantId: job.tenantId,
      scopes: new Set(['memories:read', 'memories:write'] as const),
      ...(request.keyId ? { keyId: request.keyId } : {}),
    },
  };
}

/** An error a retry would meet again: Engram's own refusals, but not a dependency that is down. */
function isFinal(error: unknown): boolean {
  return error instanceof MemoryException && error.code !== MemoryExceptionCode.DEPENDENCY_UNAVAILABLE;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
