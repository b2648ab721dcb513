import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { Embedder } from '../embedder.js';
import { embeddingJobOf, type EmbeddingQueue } from '../embedding-queue.js';
import type { AuditLogger, Clock, UsageTracker } from '../extension-points.js';
import type { Filter } from '../filters/filter.js';
import {
  DEFAULT_NAMESPACE,
  type Memory,
  type MemoryHistoryEntry,
  type MemoryPatch,
  type NewMemory,
  type OwnerPage,
  type OwnersQuery,
  type Page,
  type SearchMode,
  type SearchResult,
} from '../memory.js';
import { MemoryException, MemoryExceptionCode } from '../memory.exception.js';
import type { MemoryProvider } from '../memory-provider.js';
import { AccessRecorder } from './access-recorder.service.js';
import { SpeakerLabelCache } from './speaker-label.cache.js';
import { withoutNamedSpeakers } from '../search/speaker-label.js';
import { assertScoped, assertTenantScope, scopeKey, type MemoryScope } from '../memory-scope.js';
import {
  AUDIT_LOGGER,
  CLOCK,
  EMBEDDER,
  EMBEDDING_QUEUE,
  MEMORY_PROVIDER,
  MEMORY_TELEMETRY,
  USAGE_TRACKER,
} from '../memory-core.tokens.js';
import type { MemorySource } from '../sources/memory-source.js';
import { MemorySources } from '../sources/memory-sources.js';
import { MEMORY_SOURCES } from '../sources/memory-sources.tokens.js';
import { NOOP_MEMORY_TELEMETRY, Observed, type MemoryTelemetry } from '../telemetry/memory-telemetry.js';

/** How long `?wait=true` waits for the embedding before answering with the memory still pending. */
export const WAIT_FOR_READY_MS = 30_000;

export const SEARCH_LIMIT_MAX = 100;
export const LIST_LIMIT_MAX = 1000;
export const BATCH_MAX = 1000;
/** The mode of a search that names none, unless its namespace is a declared source that says otherwise. */
export const DEFAULT_SEARCH_MODE: SearchMode = 'hybrid';

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
  private readonly logger = new Logger('MemoryService');
  private readonly speakerLabels = new SpeakerLabelCache();
  private readonly sources: MemorySources;

  constructor(
    @Inject(MEMORY_PROVIDER) private readonly provider: MemoryProvider,
    @Inject(EMBEDDER) private readonly embedder: Embedder,
    @Inject(EMBEDDING_QUEUE) private readonly queue: EmbeddingQueue,
    @Inject(USAGE_TRACKER) private readonly usage: UsageTracker,
    @Inject(AUDIT_LOGGER) private readonly audit: AuditLogger,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly accesses: AccessRecorder,
    @Optional() @Inject(MEMORY_TELEMETRY) readonly telemetry: MemoryTelemetry = NOOP_MEMORY_TELEMETRY,
    // Optional: without a sources file (and in tests) every namespace is free-form.
    @Optional() @Inject(MEMORY_SOURCES) sources: MemorySources | null = null,
  ) {
    this.sources = sources ?? MemorySources.none();
  }

  /** The declared memory sources (MEMORY_SOURCES_FILE), in the file's order. */
  listSources(): MemorySource[] {
    return this.sources.list();
  }

  /** Throws SOURCE_NOT_FOUND for a name the sources file does not declare. */
  getSource(name: string): MemorySource {
    return this.sources.get(name);
  }

  async add(scope: MemoryScope, memory: NewMemory, options: WriteOptions = {}): Promise<Memory> {
    const [added] = await this.addMany([{ scope, memory }], options);
    return added;
  }

  /** Adds memories that may belong to different scopes; answers in the order given. */
  @Observed('add', (items: readonly ScopedNewMemory[]) => items.length)
  async addMany(items: readonly ScopedNewMemory[], options: WriteOptions = {}): Promise<Memory[]> {
    if (items.length === 0) return [];
    if (items.length > BATCH_MAX) throw MemoryException.validation(`at most ${BATCH_MAX} memories per batch`);
    for (const item of items) assertScoped(item.scope);
    const tenantId = items[0].scope.tenantId;
    await this.usage.check(tenantId, 'memory.write', items.length);

    const groups = new Map<string, { scope: MemoryScope; indexes: number[] }>();
    items.forEach((item, index) => {
      const key = scopeKey(item.scope);
      const group = groups.get(key) ?? { scope: item.scope, indexes: [] };
      group.indexes.push(index);
      groups.set(key, group);
    });
    const added = new Array<Memory>(items.length);
    const now = this.clock.now();
    for (const { scope, indexes } of groups.values()) {
      const stored = await this.provider.addMany(
        scope,
        indexes.map((i) => this.withSourceDefaults(scope, items[i].memory, now)),
        options.actor,
      );
      stored.forEach((memory, i) => (added[indexes[i]] = memory));
    }

    await this.enqueueEmbedding(added, options);
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

  @Observed('get')
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

  @Observed('update')
  async update(scope: MemoryScope, id: string, patch: MemoryPatch, options: WriteOptions = {}): Promise<Memory> {
    assertTenantScope(scope);
    await this.usage.check(scope.tenantId, 'memory.write', 1);
    const updated = await this.provider.update(scope, id, patch, options.actor);
    if (updated.status === 'pending') await this.enqueueEmbedding([updated], options);
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

  @Observed('delete')
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
  @Observed('delete_all')
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

  @Observed('list')
  async list(scope: MemoryScope, query: { limit: number; cursor?: string; filter?: Filter }): Promise<Page<Memory>> {
    assertScoped(scope);
    if (query.limit > LIST_LIMIT_MAX) throw MemoryException.validation(`limit must be at most ${LIST_LIMIT_MAX}`);
    await this.usage.check(scope.tenantId, 'memory.read', 1);
    return this.provider.list(scope, query);
  }

  @Observed('search')
  async search(scope: MemoryScope, request: SearchRequest): Promise<SearchResult[]> {
    assertScoped(scope);
    const limit = request.limit ?? 10;
    if (limit > SEARCH_LIMIT_MAX) throw MemoryException.validation(`limit must be at most ${SEARCH_LIMIT_MAX}`);
    const mode = request.mode ?? this.sources.find(scope.namespace)?.defaultSearchMode ?? DEFAULT_SEARCH_MODE;
    await this.usage.check(scope.tenantId, 'memory.search', 1);

    const embedding =
      mode === 'keyword'
        ? undefined
        : await this.telemetry.inSpan(
            'search.embed_query',
            { 'engram.embedding.model': this.embedder.model },
            async () => ({
              vector: (await this.embedder.embed([await this.vectorQuery(scope, request.query)]))[0],
              model: this.embedder.model,
            }),
          );
    const results = await this.telemetry.inSpan('search.query', { 'engram.search.mode': mode }, () =>
      this.provider.search(scope, {
        text: request.query,
        embedding,
        mode,
        limit,
        filter: request.filter,
        threshold: request.threshold,
        recencyWeight: request.recencyWeight,
        importanceWeight: request.importanceWeight,
      }),
    );
    this.telemetry.annotate({
      'engram.search.mode': mode,
      'engram.search.limit': limit,
      'engram.search.results': results.length,
    });
    this.accesses.record(
      scope,
      results.map((r) => r.memory.id),
      this.clock.now(),
    );
    await this.usage.record(scope.tenantId, 'memory.search', 1);
    return results;
  }

  @Observed('history')
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
  @Observed('owners')
  async owners(scope: MemoryScope, query: OwnersQuery): Promise<OwnerPage> {
    assertTenantScope(scope);
    if (query.limit > LIST_LIMIT_MAX) throw MemoryException.validation(`limit must be at most ${LIST_LIMIT_MAX}`);
    await this.usage.check(scope.tenantId, 'memory.read', 1);
    return this.provider.owners(scope, query);
  }

  @Observed('count')
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

  /**
   * A memory added into a declared source without an expiry gets the source's: `now` + its default TTL. An explicit
   * `expiresAt: null` means "never" and is kept; a free-form namespace changes nothing. The memory's own namespace
   * wins over the scope's, as the providers store it. Malformed input is left to the provider's validation.
   */
  private withSourceDefaults(scope: MemoryScope, memory: NewMemory, now: Date): NewMemory {
    if (typeof memory !== 'object' || memory === null || memory.expiresAt !== undefined) return memory;
    const ttl = this.sources.find(memory.namespace ?? scope.namespace ?? DEFAULT_NAMESPACE)?.defaultTtlSeconds;
    return ttl ? { ...memory, expiresAt: new Date(now.getTime() + ttl * 1000) } : memory;
  }

  /**
   * Queues the memories' embedding. They are stored already, as `pending`: when the queue is unreachable the write
   * still stands (the reconciler queues pending memories again once it can), so only a caller that waits for them to
   * be searchable is told (DEPENDENCY_UNAVAILABLE).
   */
  private async enqueueEmbedding(memories: readonly Memory[], options: WriteOptions): Promise<void> {
    const trace = this.telemetry.traceCarrier();
    try {
      await this.queue.enqueue(memories.map((memory) => ({ ...embeddingJobOf(memory), ...(trace && { trace }) })));
    } catch (error) {
      const unreachable = error instanceof MemoryException && error.code === MemoryExceptionCode.DEPENDENCY_UNAVAILABLE;
      if (!unreachable || options.wait) throw error;
      this.logger.warn(
        `${memories.length} memories stored pending, not queued (the reconciler will): ${error.message}`,
      );
    }
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
