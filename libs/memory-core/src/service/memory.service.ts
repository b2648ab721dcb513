import { Inject, Injectable } from '@nestjs/common';
import type { Embedder } from '../embedder.js';
import { embeddingJobOf, type EmbeddingQueue } from '../embedding-queue.js';
import type { AuditLogger, Clock, UsageTracker } from '../extension-points.js';
import type { Filter } from '../filters/filter.js';
import type {
  Memory,
  MemoryHistoryEntry,
  MemoryPatch,
  NewMemory,
  OwnerPage,
  OwnersQuery,
  Page,
  SearchMode,
  SearchResult,
} from '../memory.js';
import { MemoryException } from '../memory.exception.js';
import type { MemoryProvider } from '../memory-provider.js';
import { AccessRecorder } from './access-recorder.service.js';
import { SpeakerLabelCache } from './speaker-label.cache.js';
import { withoutNamedSpeakers } from '../search/speaker-label.js';
import { assertScoped, assertTenantScope, type MemoryScope } from '../memory-scope.js';
import {
  AUDIT_LOGGER,
  CLOCK,
  EMBEDDER,
  EMBEDDING_QUEUE,
  MEMORY_PROVIDER,
  USAGE_TRACKER,
} from '../memory-core.tokens.js';

/** How long `?wait=true` waits for the embedding before answering with the memory still pending. */
export const WAIT_FOR_READY_MS = 30_000;

export const SEARCH_LIMIT_MAX = 100;
export const LIST_LIMIT_MAX = 1000;
export const BATCH_MAX = 1000;

export interface WriteOptions {
  actor?: string;
  /** Answer only once the memory is searchable (or WAIT_FOR_READY_MS passed). */
  wait?: boolean;
}

export interface SearchRequest {
  query: string;
  mode?: SearchMode;
  limit?: number;
  filter?: Filter;
  threshold?: number;
  recencyWeight?: number;
  importanceWeight?: number;
}

export interface ScopedNewMemory {
  scope: MemoryScope;
  memory: NewMemory;
}

/**
 * The facade every entry point (REST, mem0 routes, MCP, workers) goes through: it checks usage,
 * calls the provider, feeds the embedding pipeline, records accesses and writes the audit trail.
 * It holds no storage logic of its own; that is the provider's.
 */
@Injectable()
export class MemoryService {
  private readonly speakerLabels = new SpeakerLabelCache();

  constructor(
    @Inject(MEMORY_PROVIDER) private readonly provider: MemoryProvider,
    @Inject(EMBEDDER) private readonly embedder: Embedder,
    @Inject(EMBEDDING_QUEUE) private readonly queue: EmbeddingQueue,
    @Inject(USAGE_TRACKER) private readonly usage: UsageTracker,
    @Inject(AUDIT_LOGGER) private readonly audit: AuditLogger,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly accesses: AccessRecorder,
  ) {}

  async add(scope: MemoryScope, memory: NewMemory, options: WriteOptions = {}): Promise<Memory> {
    const [added] = await this.addMany([{ scope, memory }], options);
    return added;
  }

  /** Adds memories that may belong to different scopes; answers in the order given. */
  async addMany(items: readonly ScopedNewMemory[], options: WriteOptions = {}): Promise<Memory[]> {
    if (items.length === 0) return [];
    if (items.length > BATCH_MAX) throw MemoryException.validation(`at most ${BATCH_MAX} memories per batch`);
    for (const item of items) assertScoped(item.scope);
    const tenantId = items[0].scope.tenantId;
    await this.usage.check(tenantId, 'memory.write', items.length);

    const groups = new Map<string, { scope: MemoryScope; indexes: number[] }>();
    items.forEach((item, index) => {
      const key = JSON.stringify([
        item.scope.tenantId,
        item.scope.userId,
        item.scope.agentId,
        item.scope.runId,
        item.scope.namespace,
      ]);
      const group = groups.get(key) ?? { scope: item.scope, indexes: [] };
      group.indexes.push(index);
      groups.set(key, group);
    });
    const added = new Array<Memory>(items.length);
    for (const { scope, indexes } of groups.values()) {
      const stored = await this.provider.addMany(
        scope,
        indexes.map((i) => items[i].memory),
        options.actor,
      );
      stored.forEach((memory, i) => (added[indexes[i]] = memory));
    }

    await this.queue.enqueue(added.map(embeddingJobOf));
    await this.usage.record(tenantId, 'memory.write', added.length);
    await this.audit.log({
      tenantId,
      actor: options.actor ?? 'system',
      action: 'memory.add',
      targetIds: added.map((m) => m.id),
      outcome: 'success',
    });
    return options.wait ? this.awaitReady(added) : added;
  }

  async get(scope: MemoryScope, id: string): Promise<Memory> {
    assertTenantScope(scope);
    await this.usage.check(scope.tenantId, 'memory.read', 1);
    const memory = await this.provider.get(scope, id);
    if (!memory) throw MemoryException.notFound(id);
    const at = this.clock.now();
    this.accesses.record(scope, [id], at);
    await this.usage.record(scope.tenantId, 'memory.read', 1);
    // The stored count lags by the accesses not flushed yet (this one included); a reader sees them.
    return { ...memory, accessCount: memory.accessCount + this.accesses.pending(scope, id), accessedAt: at };
  }

  async update(scope: MemoryScope, id: string, patch: MemoryPatch, options: WriteOptions = {}): Promise<Memory> {
    assertTenantScope(scope);
    await this.usage.check(scope.tenantId, 'memory.write', 1);
    const updated = await this.provider.update(scope, id, patch, options.actor);
    if (updated.status === 'pending') await this.queue.enqueue([embeddingJobOf(updated)]);
    await this.audit.log({
      tenantId: scope.tenantId,
      actor: options.actor ?? 'system',
      action: 'memory.update',
      targetIds: [id],
      outcome: 'success',
    });
    if (options.wait && updated.status === 'pending') return (await this.awaitReady([updated]))[0];
    return updated;
  }

  async delete(scope: MemoryScope, id: string, actor = 'system'): Promise<void> {
    assertTenantScope(scope);
    await this.usage.check(scope.tenantId, 'memory.delete', 1);
    await this.provider.delete(scope, id, actor);
    await this.audit.log({
      tenantId: scope.tenantId,
      actor,
      action: 'memory.delete',
      targetIds: [id],
      outcome: 'success',
    });
  }

  /** Deletes every memory of a scope. */
  async deleteAll(scope: MemoryScope, actor = 'system'): Promise<number> {
    assertScoped(scope);
    await this.usage.check(scope.tenantId, 'memory.delete', 1);
    const deleted = await this.provider.clear(scope, actor);
    await this.audit.log({
      tenantId: scope.tenantId,
      actor,
      action: 'memory.delete_all',
      targetIds: [],
      outcome: 'success',
    });
    return deleted;
  }

  async list(scope: MemoryScope, query: { limit: number; cursor?: string; filter?: Filter }): Promise<Page<Memory>> {
    assertScoped(scope);
    if (query.limit > LIST_LIMIT_MAX) throw MemoryException.validation(`limit must be at most ${LIST_LIMIT_MAX}`);
    await this.usage.check(scope.tenantId, 'memory.read', 1);
    return this.provider.list(scope, query);
  }

  async search(scope: MemoryScope, request: SearchRequest): Promise<SearchResult[]> {
    assertScoped(scope);
    const limit = request.limit ?? 10;
    if (limit > SEARCH_LIMIT_MAX) throw MemoryException.validation(`limit must be at most ${SEARCH_LIMIT_MAX}`);
    const mode = request.mode ?? 'hybrid';
    await this.usage.check(scope.tenantId, 'memory.search', 1);

    const embedding =
      mode === 'keyword'
        ? undefined
        : {
            vector: (await this.embedder.embed([await this.vectorQuery(scope, request.query)]))[0],
            model: this.embedder.model,
          };
    const results = await this.provider.search(scope, {
      text: request.query,
      embedding,
      mode,
      limit,
      filter: request.filter,
      threshold: request.threshold,
      recencyWeight: request.recencyWeight,
      importanceWeight: request.importanceWeight,
    });
    this.accesses.record(
      scope,
      results.map((r) => r.memory.id),
      this.clock.now(),
    );
    await this.usage.record(scope.tenantId, 'memory.search', 1);
    return results;
  }

  async history(scope: MemoryScope, id: string): Promise<MemoryHistoryEntry[]> {
    assertTenantScope(scope);
    const history = await this.provider.history(scope, id);
    if (history.length === 0) throw MemoryException.notFound(id);
    return history;
  }

  /**
   * The users, agents and runs that hold memories in the scope: the tenant's whole directory for a scope naming only
   * the tenant (what mem0's "entities" list), or those sharing memories with a narrower scope.
   */
  async owners(scope: MemoryScope, query: OwnersQuery): Promise<OwnerPage> {
    assertTenantScope(scope);
    if (query.limit > LIST_LIMIT_MAX) throw MemoryException.validation(`limit must be at most ${LIST_LIMIT_MAX}`);
    await this.usage.check(scope.tenantId, 'memory.read', 1);
    return this.provider.owners(scope, query);
  }

  async count(scope: MemoryScope, filter?: Filter): Promise<number> {
    assertScoped(scope);
    return this.provider.count(scope, filter);
  }

  /**
   * The text the vector leg embeds: the query without the names of the scope's speakers it gives
   * (`withoutNamedSpeakers`); the keyword leg and the speaker signal keep the full text. The scope's labels come
   * from a cache (`SpeakerLabelCache`): a label added within its time to live is simply not stripped yet.
   */
  private async vectorQuery(scope: MemoryScope, query: string): Promise<string> {
    if (typeof query !== 'string') return query;
    const labels = await this.speakerLabels.get(scope, this.clock.now().getTime(), () =>
      this.provider.speakerLabels(scope),
    );
    return withoutNamedSpeakers(query, labels);
  }

  private async awaitReady(memories: Memory[]): Promise<Memory[]> {
    await this.queue.waitFor(
      memories.map((m) => m.id),
      WAIT_FOR_READY_MS,
    );
    return Promise.all(memories.map(async (memory) => (await this.provider.get(scopeOf(memory), memory.id)) ?? memory));
  }
}

function scopeOf(memory: Memory): MemoryScope {
  return {
    tenantId: memory.tenantId,
    userId: memory.userId ?? undefined,
    agentId: memory.agentId ?? undefined,
    runId: memory.runId ?? undefined,
  };
}
