import { z } from 'zod';
import {
  assertScoped,
  assertTenantScope,
  DEFAULT_MEMORY_TYPE,
  DEFAULT_NAMESPACE,
  encodeCursor,
  inScope,
  isUuid,
  mergeAccesses,
  MemoryException,
  MemoryExceptionCode,
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
  type ValidNewMemory,
} from '@engram/memory-core';
import type { Mem0Request } from './mem0-http.client.js';
import {
  entityFieldsOf,
  historyEntryOf,
  mem0FiltersOf,
  memoryOf,
  ownerOf,
  parseRemote,
  remoteEntitySchema,
  remoteHistorySchema,
  remoteMemorySchema,
  remotePageSchema,
  userContextOf,
} from './mem0.mapper.js';
import {
  compareOwners,
  isExpired,
  ownersOfMemories,
  RemoteTenants,
  type HttpMemoryProviderOptions,
  type Remote,
  remoteHealth,
} from './remote-tenants.js';

/** The largest page mem0's list gives (and Engram's list limit). */
const PAGE_MAX = 1000;

const addAnswerSchema = z.looseObject({ results: z.array(z.looseObject({ id: z.string() })) });
const searchAnswerSchema = z.union([
  z.array(remoteMemorySchema),
  z.looseObject({ results: z.array(remoteMemorySchema) }),
]);
const historyAnswerSchema = z.union([
  z.array(remoteHistorySchema),
  z.looseObject({ results: z.array(remoteHistorySchema) }),
]);
const memoryPageSchema = remotePageSchema(remoteMemorySchema);
const entityPageSchema = remotePageSchema(remoteEntitySchema);
const deleteAllAnswerSchema = z.looseObject({ deleted: z.number().int().optional() });

/**
 * A MemoryProvider whose memories live on a remote mem0-compatible server: mem0's platform (or another Engram's `/mem0`
 * routes, though `EngramHttpMemoryProvider` speaks an Engram's own API with full fidelity). Each method is one or more of mem0's routes; what mem0 has no route for is composed from the ones it
 * has (count from a page's total, exists from a read, getMany and deleteMany from reads and deletes by id, owners and
 * speaker labels from a walk of the scope). Owner fields narrow by-id methods here, since a remote key sees its whole
 * tenant.
 *
 * What the remote cannot be told, and how each is answered:
 * - The remote embeds its own memories. `setEmbedding` answers `skipped` (the vector computed here is not the one the
 *   remote searches with), `markFailed` does nothing, `listPending` is empty: this process has nothing to re-queue.
 * - mem0 keeps no access statistics: `recordAccess` checks its input and keeps nothing (`accessCount` stays 0).
 * - mem0's add and update carry no `memory_type`, `importance`, `confidence` or `categories`: values other than the
 *   defaults are refused (VALIDATION_FAILED naming the field), never dropped. The remote's ingestion adds
 *   `metadata.role` ("user") to what an add stores.
 * - mem0's search ranks in its own way: only `hybrid` mode, without recency or importance weights.
 * - The history's actor is the remote's (Engram: `mem0-api`); the `actor` given here does not travel.
 * - mem0 keeps an expiry as a day: a memory lives through the day of its `expiresAt` (UTC).
 * - The history of a deleted memory is shown only to a scope naming the tenant alone: its owner is no longer known.
 *
 * Tenants: a remote key is one tenant, so the provider holds credentials per tenant (`tenants`) and refuses any other
 * (FORBIDDEN). The OSS edition has one tenant and one key.
 */
export class Mem0HttpMemoryProvider implements MemoryProvider {
  private readonly tenants: RemoteTenants;

  constructor(options: HttpMemoryProviderOptions) {
    this.tenants = new RemoteTenants(options, 'Mem0HttpMemoryProvider');
  }

  async add(scope: MemoryScope, memory: NewMemory): Promise<Memory> {
    const [added] = await this.addMany(scope, [memory]);
    return added;
  }

  async addMany(scope: MemoryScope, memories: readonly NewMemory[]): Promise<Memory[]> {
    assertScoped(scope);
    const remote = this.remoteOf(scope);
    if (!Array.isArray(memories)) throw MemoryException.validation('memories must be an array');
    // Every memory is checked before anything is sent, so that an invalid one stores nothing.
    const valid = memories.map((memory, i) => storable(validateNewMemory(scope, memory, `memories[${i}]`), i));
    const ids: string[] = [];
    // One add per run of memories that share what mem0's add gives to all its messages (namespace, metadata, expiry).
    for (const group of runsOf(valid)) {
      const [first] = group;
      const answer = await this.call(scope, remote, {
        method: 'POST',
        path: '/v3/memories/add/',
        body: {
          messages: group.map((memory) => ({ role: 'user', content: memory.content })),
          ...entityFieldsOf({ ...scope, namespace: undefined }),
          app_id: first.namespace === DEFAULT_NAMESPACE ? undefined : first.namespace,
          metadata: Object.keys(first.metadata).length > 0 ? first.metadata : undefined,
          expiration_date: first.expiresAt?.toISOString(),
          infer: false,
          // The remote answers once the memories are stored and searchable, with their ids.
          async_mode: false,
        },
        idempotent: false,
      });
      const { results } = parseRemote(addAnswerSchema, answer, 'an add');
      if (results.length !== group.length) {
        throw new MemoryException(
          MemoryExceptionCode.DEPENDENCY_UNAVAILABLE,
          `the remote memory server stored ${results.length} memories for an add of ${group.length}`,
        );
      }
      ids.push(...results.map((result) => result.id));
    }
    const added = await this.tenants.mapLimit(ids, (id) => this.fetch(scope, remote, id));
    return added.map((memory, i) => {
      if (memory === null)
        throw new MemoryException(MemoryExceptionCode.CONFLICT, `memory ${ids[i]} vanished after its add`);
      return memory;
    });
  }

  async get(scope: MemoryScope, id: string): Promise<Memory | null> {
    assertTenantScope(scope);
    const remote = this.remoteOf(scope);
    if (typeof id !== 'string' || !isUuid(id)) return null;
    const memory = await this.fetch(scope, remote, id);
    return memory && inScope(scope, memory) && !isExpired(memory) ? memory : null;
  }

  async getMany(scope: MemoryScope, ids: readonly string[]): Promise<Memory[]> {
    assertTenantScope(scope);
    this.remoteOf(scope);
    const found = await this.tenants.mapLimit(ids, (id) => this.get(scope, id));
    return found.filter((memory): memory is Memory => memory !== null);
  }

  async update(scope: MemoryScope, id: string, patch: MemoryPatch): Promise<Memory> {
    assertTenantScope(scope);
    const remote = this.remoteOf(scope);
    const valid = storablePatch(validatePatch(patch));
    const current = await this.get(scope, id);
    if (!current) throw MemoryException.notFound(id);
    const body: Record<string, unknown> = {};
    if (valid.content !== undefined) body.text = valid.content;
    if (valid.metadata !== undefined) body.metadata = valid.metadata;
    if (valid.expiresAt !== undefined) body.expiration_date = valid.expiresAt?.toISOString() ?? null;
    if (Object.keys(body).length === 0) return current;
    const answer = await this.call(scope, remote, { method: 'PUT', path: `/v1/memories/${id}/`, body });
    return memoryOf(scope.tenantId, parseRemote(remoteMemorySchema, answer, 'an update'));
  }

  async delete(scope: MemoryScope, id: string): Promise<void> {
    assertTenantScope(scope);
    const remote = this.remoteOf(scope);
    if (!(await this.get(scope, id))) throw MemoryException.notFound(id);
    await this.call(scope, remote, { method: 'DELETE', path: `/v1/memories/${id}/` });
  }

  async deleteMany(scope: MemoryScope, ids: readonly string[]): Promise<number> {
    assertTenantScope(scope);
    this.remoteOf(scope);
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
    const remote = this.remoteOf(scope);
    // mem0's platform answers a delete-all with a message only: the count taken first is then the answer.
    const before = await this.count(scope);
    const answer = await this.call(scope, remote, {
      method: 'DELETE',
      path: '/v1/memories/',
      query: entityFieldsOf(scope),
    });
    return parseRemote(deleteAllAnswerSchema, answer ?? {}, 'a delete').deleted ?? before;
  }

  async search(scope: MemoryScope, query: SearchQuery): Promise<SearchResult[]> {
    assertScoped(scope);
    const remote = this.remoteOf(scope);
    const valid = validateSearchQuery(query);
    if (valid.mode !== 'hybrid') {
      throw MemoryException.validation(
        `query.mode ${valid.mode} is not available: the remote memory server (MEMORY_PROVIDER=http) ranks with its own search; use hybrid`,
      );
    }
    if (valid.recencyWeight !== 0 || valid.importanceWeight !== 0) {
      throw MemoryException.validation(
        'query.recencyWeight and query.importanceWeight are not available with a remote memory server (MEMORY_PROVIDER=http)',
      );
    }
    const answer = await this.call(scope, remote, {
      method: 'POST',
      path: '/v3/memories/search/',
      body: {
        query: valid.text,
        filters: mem0FiltersOf(scope, valid.filter),
        top_k: valid.limit,
        threshold: valid.threshold,
      },
    });
    const parsed = parseRemote(searchAnswerSchema, answer, 'a search');
    return (Array.isArray(parsed) ? parsed : parsed.results)
      .map((hit) => ({ memory: memoryOf(scope.tenantId, hit), score: hit.score ?? 0 }))
      .filter(({ memory }) => inScope(scope, memory) && !isExpired(memory))
      .slice(0, valid.limit);
  }

  /**
   * Newest first; the cursor is the last id seen and the next page is read below it (`{"id": {"lt": cursor}}`), so
   * inserts never shift it. Engram's mem0 routes filter by id; mem0's platform does not, and refuses a second page.
   */
  async list(scope: MemoryScope, query: ListQuery): Promise<Page<Memory>> {
    assertScoped(scope);
    const remote = this.remoteOf(scope);
    const { limit, after, filter } = validateListQuery(query);
    const page = await this.page(scope, remote, { filter, after, size: limit });
    const items = page.items;
    return {
      items,
      nextCursor: page.total > items.length && items.length > 0 ? encodeCursor(items[items.length - 1].id) : null,
    };
  }

  async count(scope: MemoryScope, filter?: Filter): Promise<number> {
    assertScoped(scope);
    const remote = this.remoteOf(scope);
    return (await this.page(scope, remote, { filter, after: null, size: 1 })).total;
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
    const remote = this.remoteOf(scope);
    const { limit, offset } = validateOwnersQuery(query);
    const owners =
      scope.userId === undefined && scope.agentId === undefined && scope.runId === undefined
        ? await this.tenantOwners(scope, remote)
        : await ownersOfMemories(this.walk(scope));
    owners.sort(compareOwners);
    return { items: owners.slice(offset, offset + limit), total: owners.length };
  }

  async history(scope: MemoryScope, id: string): Promise<MemoryHistoryEntry[]> {
    assertTenantScope(scope);
    const remote = this.remoteOf(scope);
    if (typeof id !== 'string' || !isUuid(id)) return [];
    const narrowed = [scope.userId, scope.agentId, scope.runId, scope.namespace].some((v) => v !== undefined);
    if (narrowed && !(await this.get(scope, id))) return [];
    try {
      const answer = await this.call(scope, remote, { method: 'GET', path: `/v1/memories/${id}/history/` });
      const parsed = parseRemote(historyAnswerSchema, answer, 'a history');
      return (Array.isArray(parsed) ? parsed : parsed.results)
        .map(historyEntryOf)
        .sort((a, b) => a.at.getTime() - b.at.getTime());
    } catch (error) {
      if (error instanceof MemoryException && error.code === MemoryExceptionCode.MEMORY_NOT_FOUND) return [];
      throw error;
    }
  }

  /** mem0 keeps no access statistics: the accesses are checked and not kept. */
  async recordAccess(scope: MemoryScope, accesses: readonly MemoryAccess[]): Promise<void> {
    assertTenantScope(scope);
    mergeAccesses(accesses);
  }

  /** The remote embeds its own memories: a vector computed here is never written. */
  async setEmbedding(scope: MemoryScope, _id: string, embedding: MemoryEmbedding): Promise<EmbeddingWriteResult> {
    assertTenantScope(scope);
    validateEmbedding(embedding);
    return 'skipped';
  }

  async setEmbeddings(scope: MemoryScope, writes: readonly EmbeddingWrite[]): Promise<EmbeddingWriteResult[]> {
    assertTenantScope(scope);
    checkEmbeddingWrites(writes);
    return writes.map(() => 'skipped');
  }

  /** The remote owns its memories' status. */
  async markFailed(scope: MemoryScope): Promise<void> {
    assertTenantScope(scope);
  }

  /** Nothing of the remote's waits for this process's embedding pipeline. */
  async listPending(): Promise<EmbeddingJob[]> {
    return [];
  }

  /** The remote expires (and purges) its own memories. */
  async purgeExpired(): Promise<number> {
    return 0;
  }

  /** `GET /v1/ping/` with the first tenant's credentials: the remote is up and takes them. */
  async health(): Promise<ProviderHealth> {
    return remoteHealth(this.tenants, '/v1/ping/');
  }

  async close(): Promise<void> {
    // Nothing of ours to release: idle connections belong to fetch's shared pool, which closes them itself.
  }

  private remoteOf(scope: MemoryScope): Remote {
    return this.tenants.of(scope);
  }

  private call(scope: MemoryScope, remote: Remote, request: Omit<Mem0Request, 'credentials'>): Promise<unknown> {
    return remote.client.request({ ...request, credentials: remote.credentials, userContext: userContextOf(scope) });
  }

  /** The memory by id, whoever owns it in the tenant; null when the remote has none. */
  private async fetch(scope: MemoryScope, remote: Remote, id: string): Promise<Memory | null> {
    try {
      const answer = await this.call(scope, remote, { method: 'GET', path: `/v1/memories/${id}/` });
      return memoryOf(scope.tenantId, parseRemote(remoteMemorySchema, answer, 'a memory'));
    } catch (error) {
      if (error instanceof MemoryException && error.code === MemoryExceptionCode.MEMORY_NOT_FOUND) return null;
      throw error;
    }
  }

  /** A page of the scope, newest first, below `after`, with how many match in all (below `after` too). */
  private async page(
    scope: MemoryScope,
    remote: Remote,
    read: { filter?: Filter; after: string | null; size: number },
  ): Promise<{ items: Memory[]; total: number }> {
    const answer = await this.call(scope, remote, {
      method: 'POST',
      path: '/v3/memories/',
      query: { page: 1, page_size: read.size },
      body: { filters: mem0FiltersOf(scope, read.filter, read.after === null ? [] : [{ id: { lt: read.after } }]) },
    });
    const page = parseRemote(memoryPageSchema, answer, 'a list');
    return { items: page.results.map((item) => memoryOf(scope.tenantId, item)), total: page.count };
  }

  private async *walk(scope: MemoryScope): AsyncGenerator<Memory> {
    const remote = this.remoteOf(scope);
    let after: string | null = null;
    for (;;) {
      const { items, total } = await this.page(scope, remote, { after, size: PAGE_MAX });
      yield* items;
      if (items.length === 0 || total <= items.length) return;
      after = items[items.length - 1].id;
    }
  }

  private async tenantOwners(scope: MemoryScope, remote: Remote): Promise<MemoryOwner[]> {
    const owners: MemoryOwner[] = [];
    for (let page = 1; ; page += 1) {
      const answer = await this.call(scope, remote, {
        method: 'GET',
        path: '/v1/entities/',
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

/** What mem0's add can carry; the protocol's other fields are refused unless they are the defaults. */
function storable(memory: ValidNewMemory, index: number): ValidNewMemory {
  const path = `memories[${index}]`;
  if (memory.memoryType !== DEFAULT_MEMORY_TYPE) refuseField(`${path}.memoryType`);
  if (memory.importance !== 5) refuseField(`${path}.importance`);
  if (memory.confidence !== 1) refuseField(`${path}.confidence`);
  if (memory.categories.length > 0) refuseField(`${path}.categories`);
  return memory;
}

function storablePatch(patch: MemoryPatch): MemoryPatch {
  for (const field of ['memoryType', 'importance', 'confidence', 'categories'] as const) {
    if (patch[field] !== undefined) refuseField(`patch.${field}`);
  }
  return patch;
}

function refuseField(path: string): never {
  throw MemoryException.validation(
    `${path} cannot be stored by the remote memory server (MEMORY_PROVIDER=http): mem0's API has no such field`,
    { field: path },
  );
}

/** Consecutive memories that one mem0 add can write together. */
function runsOf(memories: readonly ValidNewMemory[]): ValidNewMemory[][] {
  const runs: ValidNewMemory[][] = [];
  let key: string | null = null;
  for (const memory of memories) {
    const next = JSON.stringify([memory.namespace, memory.metadata, memory.expiresAt?.toISOString() ?? null]);
    if (next === key) runs[runs.length - 1].push(memory);
    else runs.push([memory]);
    key = next;
  }
  return runs;
}
