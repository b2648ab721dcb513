import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import {
  assertScoped,
  assertTenantScope,
  checkDate,
  inScope,
  isUuid,
  mergeAccesses,
  MemoryException,
  MemoryExceptionCode,
  parseFilter,
  speakerLabel,
  validateEmbedding,
  checkEmbeddingWrites,
  validateListQuery,
  validateNewMemory,
  validateOwnersQuery,
  validatePatch,
  validateSearchQuery,
  type EmbeddingJob,
  type EmbeddingWrite,
  type EmbeddingWriteResult,
  type Filter,
  type ListQuery,
  type Memory,
  type MemoryAccess,
  type MemoryEmbedding,
  type MemoryHistoryEntry,
  type MemoryOwner,
  type MemoryPatch,
  type MemoryProvider,
  type MemoryScope,
  type NewMemory,
  type OwnerPage,
  type OwnersQuery,
  type Page,
  type ProviderHealth,
  type SearchQuery,
  type SearchResult,
} from '@engram/memory-core';
import type { Mem0Request } from './mem0-http.client.js';
import {
  addBodyOf,
  engramHistorySchema,
  engramMemorySchema,
  filterJsonOf,
  historyEntryOfEngram,
  memoryOfEngram,
  patchBodyOf,
  scopeFieldsOf,
} from './engram.mapper.js';
import { ownerOf, parseRemote, remoteEntitySchema, remotePageSchema, userContextOf } from './mem0.mapper.js';
import {
  compareOwners,
  isExpired,
  ownersOfMemories,
  RemoteTenants,
  type HttpMemoryProviderOptions,
  type Remote,
  remoteHealth,
} from './remote-tenants.js';

/** The native API's largest list page and batch. */
const PAGE_MAX = 1000;
const BATCH_MAX = 1000;
/** How long the pipeline's job for a memory waits for the remote's to end: as long as a caller's `?wait=true`. */
const REMOTE_PIPELINE_WAIT_MS = 30_000;
const REMOTE_PIPELINE_POLL_MS = 50;

const oneMemorySchema = z.looseObject({ memory: engramMemorySchema });
const manyMemoriesSchema = z.looseObject({ memories: z.array(engramMemorySchema) });
const listSchema = z.looseObject({ memories: z.array(engramMemorySchema), next_cursor: z.string().nullable() });
const searchSchema = z.looseObject({
  results: z.array(z.looseObject({ memory: engramMemorySchema, score: z.number() })),
});
const historySchema = z.looseObject({ history: z.array(engramHistorySchema) });
const deletedSchema = z.looseObject({ deleted: z.number().int() });
const entityPageSchema = remotePageSchema(remoteEntitySchema);

/**
 * A MemoryProvider whose memories live on another Engram, spoken to through its native API (`/v1`): every field of
 * the protocol travels (importance, confidence, categories, memory type, expiry to the millisecond, search modes,
 * thresholds and weights, the filter tree as it is). What the native API has no single route for is composed from the
 * ones it has: count, speaker labels and a scope's owners from a walk of the list, exists and getMany from reads,
 * deleteMany from deletes; the tenant's owner directory is the remote's `/mem0/v1/entities/`, the one route that lists
 * it. A remote key sees its whole tenant, so by-id methods with a narrower scope check the memory's owners here.
 *
 * The remote runs its own pipeline, and this process's worker side has nothing to do for it:
 * - It embeds its memories (with its own embedder: the query vector given to `search` is not sent; the remote embeds
 *   the text). An add answers `pending`, as any provider's, and the memory turns `ready` there on its own.
 *   `setEmbedding` answers `skipped`, `markFailed` does nothing, `listPending` is empty.
 * - It keeps the access statistics: its own reads and searches count them, and they are shown as it reports them;
 *   `recordAccess` checks its input and sends nothing, or every access would count twice.
 * - It purges its own expired memories: `purgeExpired` here purges nothing.
 *
 * What does not travel: the actor of a write (the remote's history names the caller it authenticated, this server's
 * key), and the vector (never shown by the API: `embedding`, `embeddingModel` and `embeddingDimensions` are null).
 *
 * Tenants: a remote key is one tenant, so the provider holds credentials per tenant and refuses any other (FORBIDDEN).
 */
export class EngramHttpMemoryProvider implements MemoryProvider {
  private readonly tenants: RemoteTenants;

  constructor(options: HttpMemoryProviderOptions) {
    this.tenants = new RemoteTenants(options, 'EngramHttpMemoryProvider');
  }

  async add(scope: MemoryScope, memory: NewMemory): Promise<Memory> {
    const [added] = await this.addMany(scope, [memory]);
    return added;
  }

  async addMany(scope: MemoryScope, memories: readonly NewMemory[]): Promise<Memory[]> {
    assertScoped(scope);
    const remote = this.tenants.of(scope);
    if (!Array.isArray(memories)) throw MemoryException.validation('memories must be an array');
    // Every memory is checked here before anything is sent, so that an invalid one stores nothing and is named as the
    // protocol names it (the remote would name it by its own field names).
    const valid = memories.map((memory, i) => validateNewMemory(scope, memory, `memories[${i}]`));
    const added: Memory[] = [];
    for (let start = 0; start < valid.length; start += BATCH_MAX) {
      const answer = await this.call(scope, remote, {
        method: 'POST',
        path: '/v1/memories/batch',
        body: { memories: valid.slice(start, start + BATCH_MAX).map((memory) => addBodyOf(scope, memory)) },
        idempotent: false,
      });
      added.push(...parseRemote(manyMemoriesSchema, answer, 'an add').memories.map((m) => this.memoryOf(scope, m)));
    }
    return added;
  }

  async get(scope: MemoryScope, id: string): Promise<Memory | null> {
    assertTenantScope(scope);
    const remote = this.tenants.of(scope);
    if (typeof id !== 'string' || !isUuid(id)) return null;
    const memory = await this.fetch(scope, remote, id);
    return memory && inScope(scope, memory) && !isExpired(memory) ? memory : null;
  }

  async getMany(scope: MemoryScope, ids: readonly string[]): Promise<Memory[]> {
    assertTenantScope(scope);
    this.tenants.of(scope);
    const found = await this.tenants.mapLimit(ids, (id) => this.get(scope, id));
    return found.filter((memory): memory is Memory => memory !== null);
  }

  async update(scope: MemoryScope, id: string, patch: MemoryPatch): Promise<Memory> {
    assertTenantScope(scope);
    const remote = this.tenants.of(scope);
    const body = patchBodyOf(validatePatch(patch));
    if (!(await this.owns(scope, id))) throw MemoryException.notFound(id);
    if (Object.keys(body).length === 0) {
      const current = await this.get(scope, id);
      if (!current) throw MemoryException.notFound(id);
      return current;
    }
    const answer = await this.call(scope, remote, { method: 'PATCH', path: `/v1/memories/${id}`, body });
    return this.memoryOf(scope, parseRemote(oneMemorySchema, answer, 'an update').memory);
  }

  async delete(scope: MemoryScope, id: string): Promise<void> {
    assertTenantScope(scope);
    const remote = this.tenants.of(scope);
    if (!(await this.owns(scope, id))) throw MemoryException.notFound(id);
    await this.call(scope, remote, { method: 'DELETE', path: `/v1/memories/${id}` });
  }

  async deleteMany(scope: MemoryScope, ids: readonly string[]): Promise<number> {
    assertTenantScope(scope);
    this.tenants.of(scope);
    const deleted = await this.tenants.mapLimit([...new Set(ids)], async (id) => {
      try {
        await this.delete(scope, id);
        return 1;
      } catch (error) {
        if (error instanceof MemoryException && error.code === MemoryExceptionCode.MEMORY_NOT_FOUND) return 0;
        throw error;
      }
    });
    return deleted.reduce((sum: number, n) => sum + n, 0);
  }

  async clear(scope: MemoryScope): Promise<number> {
    assertScoped(scope);
    const remote = this.tenants.of(scope);
    const answer = await this.call(scope, remote, {
      method: 'DELETE',
      path: '/v1/memories',
      query: scopeFieldsOf(scope),
    });
    return parseRemote(deletedSchema, answer, 'a delete').deleted;
  }

  async search(scope: MemoryScope, query: SearchQuery): Promise<SearchResult[]> {
    assertScoped(scope);
    const remote = this.tenants.of(scope);
    const valid = validateSearchQuery(query);
    const answer = await this.call(scope, remote, {
      method: 'POST',
      path: '/v1/memories/search',
      body: {
        query: valid.text,
        ...scopeFieldsOf(scope),
        filters: valid.filter === undefined ? undefined : filterJsonOf(valid.filter),
        limit: valid.limit,
        threshold: valid.threshold,
        mode: valid.mode,
        recency_weight: valid.recencyWeight,
        importance_weight: valid.importanceWeight,
      },
    });
    return parseRemote(searchSchema, answer, 'a search').results.map((hit) => ({
      memory: this.memoryOf(scope, hit.memory),
      score: hit.score,
    }));
  }

  /** The remote's own cursor, checked here first so that a malformed one is refused as every provider refuses it. */
  async list(scope: MemoryScope, query: ListQuery): Promise<Page<Memory>> {
    assertScoped(scope);
    const remote = this.tenants.of(scope);
    const { limit, filter } = validateListQuery(query);
    return this.page(scope, remote, { limit, cursor: query.cursor, filter });
  }

  async count(scope: MemoryScope, filter?: Filter): Promise<number> {
    assertScoped(scope);
    const remote = this.tenants.of(scope);
    let count = 0;
    let cursor: string | undefined;
    do {
      const page = await this.page(scope, remote, { limit: PAGE_MAX, cursor, filter });
      count += page.items.length;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return count;
  }

  async speakerLabels(scope: MemoryScope): Promise<string[]> {
    assertScoped(scope);
    const labels = new Set<string>();
    for await (const memory of this.walk(scope)) {
      const label = speakerLabel(memory.content);
      if (label !== null) labels.add(label);
    }
    return [...labels];
  }

  async exists(scope: MemoryScope, id: string): Promise<boolean> {
    return (await this.get(scope, id)) !== null;
  }

  async owners(scope: MemoryScope, query: OwnersQuery): Promise<OwnerPage> {
    assertTenantScope(scope);
    const remote = this.tenants.of(scope);
    const { limit, offset } = validateOwnersQuery(query);
    const owners =
      scope.userId === undefined && scope.agentId === undefined && scope.runId === undefined
        ? await this.tenantOwners(scope, remote)
        : await ownersOfMemories(this.walk(scope));
    owners.sort(compareOwners);
    return { items: owners.slice(offset, offset + limit), total: owners.length };
  }

  /** The remote applies the scope to the history itself, so a deleted memory's history still shows to its owner. */
  async history(scope: MemoryScope, id: string): Promise<MemoryHistoryEntry[]> {
    assertTenantScope(scope);
    const remote = this.tenants.of(scope);
    if (typeof id !== 'string' || !isUuid(id)) return [];
    try {
      const answer = await this.call(scope, remote, {
        method: 'GET',
        path: `/v1/memories/${id}/history`,
        query: scopeFieldsOf(scope),
      });
      return parseRemote(historySchema, answer, 'a history').history.map((row, i) => historyEntryOfEngram(id, row, i));
    } catch (error) {
      if (error instanceof MemoryException && error.code === MemoryExceptionCode.MEMORY_NOT_FOUND) return [];
      throw error;
    }
  }

  /** The remote counts the accesses of its own reads and searches: these are checked and not sent again. */
  async recordAccess(scope: MemoryScope, accesses: readonly MemoryAccess[]): Promise<void> {
    assertTenantScope(scope);
    mergeAccesses(accesses);
  }

  /**
   * The remote embeds its own memories: a vector computed here is never written. This process's job for the memory
   * ends only once the remote's pipeline is done with it (ready, failed, changed or gone, or after 30 s), so that a
   * caller here waiting for the job (`?wait=true`) then reads the memory as the remote made it.
   */
  async setEmbedding(scope: MemoryScope, id: string, embedding: MemoryEmbedding): Promise<EmbeddingWriteResult> {
    assertTenantScope(scope);
    validateEmbedding(embedding);
    const remote = this.tenants.of(scope);
    if (typeof id !== 'string' || !isUuid(id) || !isNarrowed(scope)) return 'skipped';
    const deadline = Date.now() + REMOTE_PIPELINE_WAIT_MS;
    for (;;) {
      const memory = await this.readInScope(scope, remote, id);
      const waiting = memory?.status === 'pending' && memory.contentHash === embedding.contentHash;
      if (!waiting || Date.now() >= deadline) return 'skipped';
      await sleep(REMOTE_PIPELINE_POLL_MS);
    }
  }
  /** Each write as `setEmbedding`: the remote embeds its own memories, so there is nothing to batch. */
  async setEmbeddings(scope: MemoryScope, writes: readonly EmbeddingWrite[]): Promise<EmbeddingWriteResult[]> {
    assertTenantScope(scope);
    checkEmbeddingWrites(writes);
    return Promise.all(writes.map(({ id, embedding }) => this.setEmbedding(scope, id, embedding)));
  }

  /** The remote's pipeline owns its memories' status. */
  async markFailed(scope: MemoryScope): Promise<void> {
    assertTenantScope(scope);
  }

  /** Nothing of the remote's waits for this process's embedding pipeline. */
  async listPending(): Promise<EmbeddingJob[]> {
    return [];
  }

  /** The remote purges its own expired memories. */
  async purgeExpired(before: Date, limit: number): Promise<number> {
    checkDate(before, 'before');
    if (typeof limit !== 'number' || Number.isNaN(limit)) throw MemoryException.validation('limit must be a number');
    return 0;
  }

  /** `GET /v1/sources` with the first tenant's credentials: the remote is up and takes them. */
  async health(): Promise<ProviderHealth> {
    return remoteHealth(this.tenants, '/v1/sources');
  }

  async close(): Promise<void> {
    // Nothing of ours to release: idle connections belong to fetch's shared pool, which closes them itself.
  }

  private call(scope: MemoryScope, remote: Remote, request: Omit<Mem0Request, 'credentials'>): Promise<unknown> {
    return remote.client.request({ ...request, credentials: remote.credentials, userContext: userContextOf(scope) });
  }

  private memoryOf(scope: MemoryScope, remote: z.output<typeof engramMemorySchema>): Memory {
    return memoryOfEngram(scope.tenantId, remote);
  }

  /** The memory by id, whoever owns it in the tenant; null when the remote has none (or it expired). */
  private async fetch(scope: MemoryScope, remote: Remote, id: string): Promise<Memory | null> {
    try {
      const answer = await this.call(scope, remote, { method: 'GET', path: `/v1/memories/${id}` });
      return this.memoryOf(scope, parseRemote(oneMemorySchema, answer, 'a memory').memory);
    } catch (error) {
      if (error instanceof MemoryException && error.code === MemoryExceptionCode.MEMORY_NOT_FOUND) return null;
      throw error;
    }
  }

  /**
   * Whether a by-id method may touch the memory: the remote answers for the whole tenant, so a narrower scope is
   * checked first. A scope naming the tenant alone needs no read: the remote's own 404 answers for a missing memory.
   */
  private async owns(scope: MemoryScope, id: string): Promise<boolean> {
    if (typeof id !== 'string' || !isUuid(id)) return false;
    return !isNarrowed(scope) || (await this.readInScope(scope, this.tenants.of(scope), id)) !== null;
  }

  /**
   * The memory if it is live in the scope, read through the list (the remote applies the scope) rather than by id: a
   * read by id is an access the remote counts, and a check made for a write is not one.
   */
  private async readInScope(scope: MemoryScope, remote: Remote, id: string): Promise<Memory | null> {
    if (scope.userId === undefined && scope.agentId === undefined && scope.runId === undefined) {
      // The list needs a user, agent or run: a scope narrowed by its namespace alone is checked on a read by id.
      return this.get(scope, id);
    }
    const page = await this.page(scope, remote, { limit: 1, filter: parseFilter({ id: { eq: id } }) });
    return page.items[0] ?? null;
  }

  private async page(
    scope: MemoryScope,
    remote: Remote,
    read: { limit: number; cursor?: string; filter?: Filter },
  ): Promise<Page<Memory>> {
    const answer = await this.call(scope, remote, {
      method: 'GET',
      path: '/v1/memories',
      query: {
        ...scopeFieldsOf(scope),
        limit: read.limit,
        cursor: read.cursor,
        filters: read.filter === undefined ? undefined : JSON.stringify(filterJsonOf(read.filter)),
      },
    });
    const page = parseRemote(listSchema, answer, 'a list');
    return { items: page.memories.map((m) => this.memoryOf(scope, m)), nextCursor: page.next_cursor };
  }

  private async *walk(scope: MemoryScope, filter?: Filter): AsyncGenerator<Memory> {
    const remote = this.tenants.of(scope);
    let cursor: string | undefined;
    do {
      const page = await this.page(scope, remote, { limit: PAGE_MAX, cursor, filter });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  /** The tenant's owner directory: the native API has none, so the remote's mem0 entities route, on the same server. */
  private async tenantOwners(scope: MemoryScope, remote: Remote): Promise<MemoryOwner[]> {
    const owners: MemoryOwner[] = [];
    for (let page = 1; ; page += 1) {
      const answer = await this.call(scope, remote, {
        method: 'GET',
        path: '/mem0/v1/entities/',
        query: { page, page_size: PAGE_MAX },
      });
      const { count, results } = parseRemote(entityPageSchema, answer, 'the entities');
      for (const entity of results) {
        const owner = ownerOf(entity);
        if (owner) owners.push(owner);
      }
      if (results.length === 0 || page * PAGE_MAX >= count) return owners;
    }
  }
}

/** A scope naming more than the tenant, which the remote's answers by id do not apply. */
function isNarrowed(scope: MemoryScope): boolean {
  return [scope.userId, scope.agentId, scope.runId, scope.namespace].some((value) => value !== undefined);
}
