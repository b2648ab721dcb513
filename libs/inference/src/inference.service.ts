import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import {
  CLOCK,
  MemoryException,
  MemoryExceptionCode,
  MemoryService,
  newId,
  type Clock,
  type Memory,
  type MemoryScope,
  type NewMemory,
  type TenantId,
} from '@engram/memory-core';
import {
  factRef,
  type ExistingMemory,
  type InferenceEngine,
  type InferenceMessage,
  type MemoryDecision,
} from './inference-engine.js';
import {
  newInferenceEvent,
  type InferenceEvent,
  type InferenceEventStore,
  type InferenceOutcome,
} from './inference-event.js';
import { INFERENCE_ENGINE, INFERENCE_EVENT_STORE } from './inference.tokens.js';

/** How many memories of the scope each candidate fact is compared with. */
export const SIMILAR_MEMORIES_PER_FACT = 5;

/**
 * How long an unfinished event may go unchanged before the boot-time sweep takes it for one whose process died
 * (InferenceService.failInterrupted). Far above any inference's run: an engine call times out well before.
 */
export const INTERRUPTED_AFTER_MS = 10 * 60_000;

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
 * `infer: true`: turns a conversation into memory operations. `submit` records an event (`pending`), answers with
 * it at once, and runs the inference in this process after the answer (`running` → `succeeded` | `failed`):
 *
 * 1. the engine extracts candidate facts;
 * 2. each is searched for in the add's scope (MemoryService.search, so only that tenant's and scope's memories);
 * 3. the engine decides ADD / UPDATE / DELETE / NONE for each;
 * 4. the decisions are applied in order through MemoryService, so history rows, audit, usage, embedding and tenant
 *    isolation are exactly those of any other write. The history's actor is `<caller>:inference:<engine>`; the
 *    reason is kept on the memory (metadata `inference: {event_id, op, reason, engine}`) and in the event's outcomes.
 *
 * Nothing is lost when the engine fails (a bad LLM reply twice, an endpoint down): each message but system ones is
 * then stored as it is, with metadata `inference_error`, and the event says why (`error`, status `succeeded`,
 * since the data is stored). The event is `failed` only when storing failed too.
 *
 * Runs in the API process, not the worker: an inference under way when the process dies leaves its event `running`
 * and its messages unstored. The messages are not kept anywhere (the event has no message text), so it cannot be
 * run again: the next boot of a process that runs workers marks such events `failed` with error `interrupted`
 * (`failInterrupted`), and the client must send the messages again.
 */
@Injectable()
export class InferenceService implements OnApplicationShutdown {
  private readonly logger = new Logger('InferenceService');
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly memories: MemoryService,
    @Inject(INFERENCE_ENGINE) private readonly engine: InferenceEngine,
    @Inject(INFERENCE_EVENT_STORE) private readonly events: InferenceEventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  get engineName(): string {
    return this.engine.name;
  }

  /** Records the event and starts the inference; with `wait`, answers once it is done. */
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
    // Refuse a scope-less add now, not in the background.
    await this.memories.count(scope);
    const event = newInferenceEvent(newId(), scope, this.engine.name, this.clock.now());
    await this.events.create(event);
    const run = this.run(event, scope, messages, options);
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    if (options.wait) {
      await run;
      return (await this.events.get(event.tenantId, event.id)) ?? event;
    }
    return event;
  }

  /** The tenant's event by that id, or null (another tenant's id finds nothing). */
  event(tenantId: TenantId, id: string): Promise<InferenceEvent | null> {
    return this.events.get(tenantId, id);
  }

  /**
   * Marks `failed` (error `interrupted`) the events left `pending` or `running` by a process that died: those
   * unchanged for INTERRUPTED_AFTER_MS, so that another live process's inference under way is left alone. Returns
   * how many.
   */
  async failInterrupted(): Promise<number> {
    const now = this.clock.now();
    const failed = await this.events.failInterrupted(new Date(now.getTime() - INTERRUPTED_AFTER_MS), now);
    if (failed > 0) this.logger.warn(`${failed} inference events interrupted by a restart marked failed`);
    return failed;
  }

  /** Lets the inferences under way finish before the process closes the provider. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  private async run(
    event: InferenceEvent,
    scope: MemoryScope,
    messages: readonly InferenceMessage[],
    options: InferOptions,
  ): Promise<void> {
    const outcomes: InferenceOutcome[] = [];
    try {
      await this.events.update(event.tenantId, event.id, { status: 'running', updatedAt: this.clock.now() });
      let plan: { facts: string[]; existing: Map<string, Memory>; decisions: MemoryDecision[] };
      try {
        plan = await this.plan(scope, messages);
      } catch (error) {
        const reason = errorText(error);
        this.logger.warn(`inference ${event.id} failed, storing the messages as they are: ${reason}`);
        outcomes.push(...(await this.storeRaw(event, scope, messages, options, reason)));
        await this.finish(event, 'succeeded', outcomes, reason);
        return;
      }
      await this.apply(event, scope, plan, options, outcomes);
      await this.finish(event, 'succeeded', outcomes, null);
    } catch (error) {
      this.logger.error(`inference ${event.id} failed: ${errorText(error)}`);
      await this.finish(event, 'failed', outcomes, errorText(error)).catch(() => undefined);
    }
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

  private finish(
    event: InferenceEvent,
    status: 'succeeded' | 'failed',
    outcomes: InferenceOutcome[],
    error: string | null,
  ): Promise<void> {
    return this.events.update(event.tenantId, event.id, { status, outcomes, error, updatedAt: this.clock.now() });
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

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
