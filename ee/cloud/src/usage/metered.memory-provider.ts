/* @license Enterprise */
import type {
  EmbeddingJob,
  EmbeddingWrite,
  EmbeddingWriteResult,
  Filter,
  ListQuery,
  Memory,
  MemoryAccess,
  MemoryEmbedding,
  MemoryHistoryEntry,
  MemoryPatch,
  MemoryProvider,
  MemoryScope,
  NewMemory,
  OwnerPage,
  OwnersQuery,
  Page,
  ProviderHealth,
  SearchQuery,
  SearchResult,
  TenantId,
} from '@engram/memory-core';
import type { MemoryQuotas } from './cloud.usage-tracker.js';
import { estimateEmbeddingTokens } from './usage-quotas.js';

/**
 * The quotas that depend on what is written rather than on the request: memories stored (an add counts, an update
 * does not, a delete gives back) and embedding tokens (the content of an add or of an update that changes it, and the
 * text of a search that embeds its query). A delegate wrapper, like CloudMemoryProvider, inside which it sits: a call
 * the tenant wall refuses is never metered. Each quota is reserved before the delegate is called, and given back when
 * the delegate fails; every other method passes straight through (the pipeline's, the worker's).
 */
export class MeteredMemoryProvider implements MemoryProvider {
  constructor(
    private readonly delegate: MemoryProvider,
    private readonly quotas: MemoryQuotas,
  ) {}

  async add(scope: MemoryScope, memory: NewMemory, actor?: string): Promise<Memory> {
    return this.adding(scope.tenantId, [memory], () => this.delegate.add(scope, memory, actor));
  }

  async addMany(scope: MemoryScope, memories: readonly NewMemory[], actor?: string): Promise<Memory[]> {
    return this.adding(scope.tenantId, memories, () => this.delegate.addMany(scope, memories, actor));
  }

  async update(scope: MemoryScope, id: string, patch: MemoryPatch, actor?: string): Promise<Memory> {
    const tokens = typeof patch.content === 'string' ? estimateEmbeddingTokens(patch.content) : 0;
    return this.spendingTokens(scope.tenantId, tokens, () => this.delegate.update(scope, id, patch, actor));
  }

  async search(scope: MemoryScope, query: SearchQuery): Promise<SearchResult[]> {
    const tokens = query.embedding && typeof query.text === 'string' ? estimateEmbeddingTokens(query.text) : 0;
    return this.spendingTokens(scope.tenantId, tokens, () => this.delegate.search(scope, query));
  }

  async delete(scope: MemoryScope, id: string, actor?: string): Promise<void> {
    await this.delegate.delete(scope, id, actor);
    await this.quotas.releaseMemories(scope.tenantId, 1);
  }

  async deleteMany(scope: MemoryScope, ids: readonly string[], actor?: string): Promise<number> {
    const deleted = await this.delegate.deleteMany(scope, ids, actor);
    await this.quotas.releaseMemories(scope.tenantId, deleted);
    return deleted;
  }

  async clear(scope: MemoryScope, actor?: string): Promise<number> {
    const deleted = await this.delegate.clear(scope, actor);
    await this.quotas.releaseMemories(scope.tenantId, deleted);
    return deleted;
  }

  get(scope: MemoryScope, id: string): Promise<Memory | null> {
    return this.delegate.get(scope, id);
  }

  getMany(scope: MemoryScope, ids: readonly string[]): Promise<Memory[]> {
    return this.delegate.getMany(scope, ids);
  }

  list(scope: MemoryScope, query: ListQuery): Promise<Page<Memory>> {
    return this.delegate.list(scope, query);
  }

  count(scope: MemoryScope, filter?: Filter): Promise<number> {
    return this.delegate.count(scope, filter);
  }

  speakerLabels(scope: MemoryScope): Promise<string[]> {
    return this.delegate.speakerLabels(scope);
  }

  exists(scope: MemoryScope, id: string): Promise<boolean> {
    return this.delegate.exists(scope, id);
  }

  owners(scope: MemoryScope, query: OwnersQuery): Promise<OwnerPage> {
    return this.delegate.owners(scope, query);
  }

  history(scope: MemoryScope, id: string): Promise<MemoryHistoryEntry[]> {
    return this.delegate.history(scope, id);
  }

  recordAccess(scope: MemoryScope, accesses: readonly MemoryAccess[]): Promise<void> {
    return this.delegate.recordAccess(scope, accesses);
  }

  setEmbedding(scope: MemoryScope, id: string, embedding: MemoryEmbedding): Promise<EmbeddingWriteResult> {
    return this.delegate.setEmbedding(scope, id, embedding);
  }

  setEmbeddings(scope: MemoryScope, writes: readonly EmbeddingWrite[]): Promise<EmbeddingWriteResult[]> {
    return this.delegate.setEmbeddings(scope, writes);
  }

  markFailed(scope: MemoryScope, id: string, reason: string): Promise<void> {
    return this.delegate.markFailed(scope, id, reason);
  }

  listPending(olderThan: Date, limit: number): Promise<EmbeddingJob[]> {
    return this.delegate.listPending(olderThan, limit);
  }

  /** Not given back here: the stored count is recounted from Postgres (see CloudUsageTracker), expired rows gone. */
  purgeExpired(before: Date, limit: number): Promise<number> {
    return this.delegate.purgeExpired(before, limit);
  }

  health(): Promise<ProviderHealth> {
    return this.delegate.health();
  }

  close(): Promise<void> {
    return this.delegate.close();
  }

  /** Memories first (the cap refuses whole batches), then their tokens; both given back if the write fails. */
  private async adding<T>(tenantId: TenantId, memories: readonly NewMemory[], write: () => Promise<T>): Promise<T> {
    const tokens = memories.reduce(
      (sum, memory) => sum + (typeof memory.content === 'string' ? estimateEmbeddingTokens(memory.content) : 0),
      0,
    );
    await this.quotas.reserveMemories(tenantId, memories.length);
    try {
      return await this.spendingTokens(tenantId, tokens, write);
    } catch (error) {
      await this.quotas.releaseMemories(tenantId, memories.length);
      throw error;
    }
  }

  private async spendingTokens<T>(tenantId: TenantId, tokens: number, work: () => Promise<T>): Promise<T> {
    await this.quotas.reserveEmbeddingTokens(tenantId, tokens);
    try {
      return await work();
    } catch (error) {
      await this.quotas.releaseEmbeddingTokens(tenantId, tokens);
      throw error;
    }
  }
}
