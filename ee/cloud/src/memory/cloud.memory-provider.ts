/* @license Enterprise */
import { Logger } from '@nestjs/common';
import {
  assertScoped,
  assertTenantScope,
  checkDate,
  MemoryException,
  MemoryExceptionCode,
  validateEmbedding,
  checkEmbeddingWrites,
  validateListQuery,
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
  type TenantId,
} from '@engram/memory-core';
import type { TenantRunner } from '../database/tenant-sql.executor.js';

export interface CloudMemoryProviderOptions {
  /**
   * The tenant of the request being served (the request context's), or null where no tenant is being served: the
   * worker, timers, the operator's routes. Read on every call.
   */
  currentTenant: () => TenantId | null;
  /** The live tenants, for the methods that serve them all (`listPending`, `purgeExpired`). */
  tenantIds: () => Promise<readonly TenantId[]>;
  /** Told of every call the application wall refused (default: a warning in the log). */
  onCrossing?: (crossing: TenantCrossing) => void;
}

/** A call, within a request of one tenant, with a scope of another: always a bug of ours, worth an alert. */
export interface TenantCrossing {
  method: keyof MemoryProvider;
  requestTenant: TenantId;
  scopeTenant: TenantId;
}

/**
 * The cloud edition's MemoryProvider: a delegate (a PostgresMemoryProvider on a TenantSqlExecutor) behind two walls
 * that do not depend on each other.
 *
 * 1. The application wall, here: while a request of tenant A is being served, a call with a scope of tenant B is
 *    answered as the reference answers for ids that do not exist (null, empty, 0, MEMORY_NOT_FOUND) without
 *    reaching the database, so another tenant's data can be neither read nor probed. Only `add`, which names no
 *    existing memory, is refused outright (FORBIDDEN). A crossing is always a bug of ours (the API takes the tenant
 *    from the API key), so it is reported (`onCrossing`).
 * 2. The database wall: the delegate runs inside `withTenant(scope.tenantId)`, so row-level security shows every
 *    statement only the rows of the scope's tenant, even one that forgets its tenant filter.
 *
 * Scope checks (SCOPE_REQUIRED) and input validation come first, as in the delegate, so a crossing call fails on bad
 * input exactly as a call on a missing id would.
 */
export class CloudMemoryProvider implements MemoryProvider {
  private readonly onCrossing: (crossing: TenantCrossing) => void;

  constructor(
    private readonly delegate: MemoryProvider,
    private readonly tenancy: TenantRunner,
    private readonly options: CloudMemoryProviderOptions,
  ) {
    this.onCrossing = options.onCrossing ?? logCrossing;
  }

  add(scope: MemoryScope, memory: NewMemory, actor?: string): Promise<Memory> {
    return this.run('add', assertScoped, scope, refuseWrite, () => this.delegate.add(scope, memory, actor));
  }

  addMany(scope: MemoryScope, memories: readonly NewMemory[], actor?: string): Promise<Memory[]> {
    return this.run('addMany', assertScoped, scope, refuseWrite, () => this.delegate.addMany(scope, memories, actor));
  }

  get(scope: MemoryScope, id: string): Promise<Memory | null> {
    return this.run(
      'get',
      assertTenantScope,
      scope,
      () => null,
      () => this.delegate.get(scope, id),
    );
  }

  getMany(scope: MemoryScope, ids: readonly string[]): Promise<Memory[]> {
    return this.run(
      'getMany',
      assertTenantScope,
      scope,
      () => [],
      () => this.delegate.getMany(scope, ids),
    );
  }

  update(scope: MemoryScope, id: string, patch: MemoryPatch, actor?: string): Promise<Memory> {
    return this.run(
      'update',
      assertTenantScope,
      scope,
      () => {
        validatePatch(patch);
        throw MemoryException.notFound(id);
      },
      () => this.delegate.update(scope, id, patch, actor),
    );
  }

  delete(scope: MemoryScope, id: string, actor?: string): Promise<void> {
    return this.run(
      'delete',
      assertTenantScope,
      scope,
      () => {
        throw MemoryException.notFound(id);
      },
      () => this.delegate.delete(scope, id, actor),
    );
  }

  deleteMany(scope: MemoryScope, ids: readonly string[], actor?: string): Promise<number> {
    return this.run(
      'deleteMany',
      assertTenantScope,
      scope,
      () => 0,
      () => this.delegate.deleteMany(scope, ids, actor),
    );
  }

  clear(scope: MemoryScope, actor?: string): Promise<number> {
    return this.run(
      'clear',
      assertScoped,
      scope,
      () => 0,
      () => this.delegate.clear(scope, actor),
    );
  }

  search(scope: MemoryScope, query: SearchQuery): Promise<SearchResult[]> {
    return this.run(
      'search',
      assertScoped,
      scope,
      () => {
        validateSearchQuery(query);
        return [];
      },
      () => this.delegate.search(scope, query),
    );
  }

  list(scope: MemoryScope, query: ListQuery): Promise<Page<Memory>> {
    return this.run(
      'list',
      assertScoped,
      scope,
      () => {
        validateListQuery(query);
        return { items: [], nextCursor: null };
      },
      () => this.delegate.list(scope, query),
    );
  }

  count(scope: MemoryScope, filter?: Filter): Promise<number> {
    return this.run(
      'count',
      assertScoped,
      scope,
      () => 0,
      () => this.delegate.count(scope, filter),
    );
  }

  speakerLabels(scope: MemoryScope): Promise<string[]> {
    return this.run(
      'speakerLabels',
      assertScoped,
      scope,
      () => [],
      () => this.delegate.speakerLabels(scope),
    );
  }

  exists(scope: MemoryScope, id: string): Promise<boolean> {
    return this.run(
      'exists',
      assertTenantScope,
      scope,
      () => false,
      () => this.delegate.exists(scope, id),
    );
  }

  owners(scope: MemoryScope, query: OwnersQuery): Promise<OwnerPage> {
    return this.run(
      'owners',
      assertTenantScope,
      scope,
      () => {
        validateOwnersQuery(query);
        return { items: [], total: 0 };
      },
      () => this.delegate.owners(scope, query),
    );
  }

  history(scope: MemoryScope, id: string): Promise<MemoryHistoryEntry[]> {
    return this.run(
      'history',
      assertTenantScope,
      scope,
      () => [],
      () => this.delegate.history(scope, id),
    );
  }

  recordAccess(scope: MemoryScope, accesses: readonly MemoryAccess[]): Promise<void> {
    return this.run(
      'recordAccess',
      assertTenantScope,
      scope,
      () => undefined,
      () => this.delegate.recordAccess(scope, accesses),
    );
  }

  setEmbedding(scope: MemoryScope, id: string, embedding: MemoryEmbedding): Promise<EmbeddingWriteResult> {
    return this.run(
      'setEmbedding',
      assertTenantScope,
      scope,
      () => {
        validateEmbedding(embedding);
        return 'skipped' as const;
      },
      () => this.delegate.setEmbedding(scope, id, embedding),
    );
  }

  setEmbeddings(scope: MemoryScope, writes: readonly EmbeddingWrite[]): Promise<EmbeddingWriteResult[]> {
    return this.run(
      'setEmbeddings',
      assertTenantScope,
      scope,
      () => {
        checkEmbeddingWrites(writes);
        return writes.map(() => 'skipped' as const);
      },
      () => this.delegate.setEmbeddings(scope, writes),
    );
  }

  markFailed(scope: MemoryScope, id: string, reason: string): Promise<void> {
    return this.run(
      'markFailed',
      assertTenantScope,
      scope,
      () => undefined,
      () => this.delegate.markFailed(scope, id, reason),
    );
  }

  /**
   * The one cross-tenant method. Row-level security lets no statement see two tenants, so each live tenant is asked
   * in turn, under its own setting; within a request, only the request's tenant is.
   *
   * Oldest first within each tenant. Across tenants the page is shared out rather than filled by age, so that one
   * tenant's backlog cannot hold back another's recovery: each tenant gets an even share, then the tenants that
   * filled theirs share what the others left unused. That reads at most about twice `limit` rows, whatever the
   * number of tenants. Tenants are asked one after another: this is a background pass, and it must not take the
   * whole pool from request traffic.
   */
  async listPending(olderThan: Date, limit: number): Promise<EmbeddingJob[]> {
    checkDate(olderThan, 'olderThan');
    if (typeof limit !== 'number' || Number.isNaN(limit)) throw MemoryException.validation('limit must be a number');
    if (limit < 1) return [];
    const current = this.options.currentTenant();
    const tenants = current === null ? await this.options.tenantIds() : [current];
    if (tenants.length === 0) return [];
    const budget = Math.min(Math.floor(limit), MAX_LIMIT);
    const share = Math.ceil(budget / tenants.length);

    const pages = new Map<TenantId, EmbeddingJob[]>();
    for (const tenantId of tenants) pages.set(tenantId, await this.pendingOf(tenantId, olderThan, share));
    const unused = budget - sum([...pages.values()].map((page) => page.length));
    const fullTenants = tenants.filter((tenantId) => pages.get(tenantId)!.length === share);
    if (unused > 0 && fullTenants.length > 0) {
      // Oldest first, so a longer page of the same tenant starts with the shorter one: it replaces it.
      const longer = share + Math.ceil(unused / fullTenants.length);
      for (const tenantId of fullTenants) pages.set(tenantId, await this.pendingOf(tenantId, olderThan, longer));
    }
    return [...pages.values()].flat().slice(0, budget);
  }

  /**
   * Cross-tenant like `listPending`, and for the same reason tenant by tenant: request traffic's role cannot see two
   * tenants in one statement, and the owner connection is not this provider's to use (it would step over the
   * database wall for the one method that deletes). Each tenant's batch runs under its own setting, where the
   * expiry index's leading tenant_id makes it a range scan. The budget is spent in tenant order; the purger calls
   * again while a call fills it, so every tenant is reached in the same pass. Within a request, only the request's
   * tenant is purged.
   */
  async purgeExpired(before: Date, limit: number): Promise<number> {
    checkDate(before, 'before');
    if (typeof limit !== 'number' || Number.isNaN(limit)) throw MemoryException.validation('limit must be a number');
    if (limit < 1) return 0;
    const current = this.options.currentTenant();
    const tenants = current === null ? await this.options.tenantIds() : [current];
    let budget = Math.min(Math.floor(limit), MAX_LIMIT);
    let purged = 0;
    for (const tenantId of tenants) {
      if (budget === 0) break;
      const count = await this.tenancy.withTenant(tenantId, () => this.delegate.purgeExpired(before, budget));
      purged += count;
      budget -= count;
    }
    return purged;
  }

  health(): Promise<ProviderHealth> {
    return this.delegate.health();
  }

  close(): Promise<void> {
    return this.delegate.close();
  }

  /** One tenant's pending jobs, under its own tenant setting. */
  private async pendingOf(tenantId: TenantId, olderThan: Date, limit: number): Promise<EmbeddingJob[]> {
    const page = await this.tenancy.withTenant(tenantId, () => this.delegate.listPending(olderThan, limit));
    // Row-level security already narrows the page to the tenant; the check keeps the wall independent of it.
    return page.filter((job) => job.tenantId === tenantId);
  }

  /**
   * The frame of every scoped method: the scope check, then either the crossing's answer (`foreign`) or the
   * delegate under the scope's tenant. Async, so that every refusal is a rejected promise, never a synchronous throw.
   */
  private async run<T>(
    method: keyof MemoryProvider,
    guard: (scope: MemoryScope) => void,
    scope: MemoryScope,
    foreign: () => T,
    call: () => Promise<T>,
  ): Promise<T> {
    guard(scope);
    const current = this.options.currentTenant();
    if (current !== null && current !== scope.tenantId) {
      this.onCrossing({ method, requestTenant: current, scopeTenant: scope.tenantId });
      return foreign();
    }
    return this.tenancy.withTenant(scope.tenantId, call);
  }
}

/** A Postgres int: the largest LIMIT the delegate takes. */
const MAX_LIMIT = 2 ** 31 - 1;

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

const logger = new Logger(CloudMemoryProvider.name);

/** The default `onCrossing`: a warning in the log. */
export function logCrossing({ method, requestTenant, scopeTenant }: TenantCrossing): void {
  logger.warn(`${method} refused: a request of tenant ${requestTenant} used a scope of tenant ${scopeTenant}`);
}

function refuseWrite(): never {
  throw new MemoryException(MemoryExceptionCode.FORBIDDEN, "a request may only write into its own tenant's memories");
}
