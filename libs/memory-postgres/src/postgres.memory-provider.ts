import {
  assertScoped,
  assertTenantScope,
  checkDate,
  checkEmbeddingWrites,
  contentHash,
  encodeCursor,
  MemoryException,
  MemoryExceptionCode,
  mergeAccesses,
  newId,
  systemClock,
  validateEmbedding,
  validateListQuery,
  validateNewMemory,
  validateOwnersQuery,
  validatePatch,
  validateSearchQuery,
  type Clock,
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
  type ValidSearchQuery,
} from '@engram/memory-core';
import {
  countMemories,
  deleteMemories,
  deleteScope,
  insertHistory,
  insertMemories,
  listMemories,
  listPending,
  markFailed,
  purgeExpired,
  recordAccess,
  selectHistory,
  selectMemories,
  selectOwners,
  setEmbeddings,
  updateMemory,
  type DeletedRow,
  type HistoryInsert,
  type MemoryInsert,
  type OwnerRow,
  type SqlStatement,
} from './queries/memory.queries.js';
import {
  formatVector,
  toEmbeddingJob,
  toHistoryEntry,
  toMemory,
  type HistoryRow,
  type MemoryRow,
  type PendingRow,
} from './queries/memory-row.mapper.js';
import {
  countScopeUpTo,
  searchCandidates,
  searchMemories,
  selectSpeakerLabels,
  type VectorStrategy,
} from './queries/search.queries.js';
import { VECTOR_MAX_DIMENSIONS } from './schema/vector-index.js';
import { probeScopeVersion, selectScopeIndexRows } from './queries/scope-index.queries.js';
import {
  ScopeIndexCache,
  type ScopeIndexEntry,
  type ScopeIndexOptions,
  type ScopeIndexStats,
} from './search/scope-index.cache.js';
import { ScopeSearchIndex, type ScopeIndexRow } from './search/scope-search.index.js';
import { ScopeSizeCache, type ScopeSizeCacheOptions } from './search/scope-size.cache.js';
import { translateSqlError } from './sql/sql-errors.js';
import type { SqlExecutor } from './sql/sql-executor.js';

/**
 * The crossover between the two ways of finding the vector leg's candidates, in memories per scope.
 *
 * Up to this many, an exact scan: read the scope's rows through its btree index and compute every distance.
 * Perfect recall, and its cost grows with the scope (S). Above it, HNSW with pgvector's iterative scan, whose
 * cost grows with the share of the graph it must walk past to collect enough of the scope's rows: about
 * ef_search · N / S for a table of N rows. So HNSW wins for large scopes, and the crossover grows like √N.
 *
 * Measured on PostgreSQL 15 / pgvector 0.8.0 (this machine, 384 dimensions, 100,000 rows in 500 topic clusters,
 * 100 candidates, p50 of the vector leg alone):
 *
 *   scope      1,000   2,000   5,000   10,000   20,000
 *   exact     1.8 ms  2.9 ms  7.2 ms  13.7 ms  55.6 ms
 *   HNSW      101 ms   70 ms   30 ms   16.4 ms   9.2 ms   (recall@10 1.00)
 *
 * (uniformly random vectors, HNSW's worst case, cross over later, near 15,000, at a recall of 0.4-0.7). Hence
 * 10,000: a scope of 10,000 in a table of 200,000 still scans exactly. The benchmark (bench/) refines it.
 */
export const EXACT_SCAN_MAX_ROWS = 10_000;

/** hnsw.ef_search bounds: pgvector's default is 40 and its maximum 1000. */
const HNSW_EF_SEARCH_MIN = 40;
const HNSW_EF_SEARCH_MAX = 1000;

const DEFAULT_ACTOR = 'system';

/** Ids are compared as the canonical lowercase text the provider hands out, as the reference provider does. */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface PostgresMemoryProviderOptions {
  clock?: Clock;
  /** The embedding dimensions that have an HNSW index (`ensureVectorIndex`); others are always scanned exactly. */
  hnswDimensions?: Iterable<number>;
  /** Scopes larger than this use HNSW (default EXACT_SCAN_MAX_ROWS). */
  exactScanMaxRows?: number;
  scopeSizeCache?: ScopeSizeCacheOptions;
  /** In-memory copies of large scopes for unfiltered searches (search/scope-index.cache.ts); maxRows is exactScanMaxRows. */
  scopeIndex?: Omit<ScopeIndexOptions, 'maxRows'>;
}

/**
 * MemoryProvider over PostgreSQL + pgvector, through a SqlExecutor: server Postgres (pg pool, as the restricted
 * app role) or PGlite in process. Behaves exactly as the reference LocalMemoryProvider (the contract kit runs on
 * both), with the database doing the work:
 *
 * - every mutation and its history rows are one statement, or one transaction;
 * - expired memories stay in the table but no read returns them (`purgeExpired` removes them);
 * - search is one SQL statement (see queries/search.queries.ts), the vector leg by exact scan or HNSW depending
 *   on the scope's size (EXACT_SCAN_MAX_ROWS); an unfiltered search of a large scope that names a user is ranked
 *   the same way from an in-memory copy of the scope while the copy is current (search/scope-search.index.ts).
 *
 * Timestamps come from the injected clock, not the database's, so that expiry, recency and the stored times agree.
 */
export class PostgresMemoryProvider implements MemoryProvider {
  private readonly clock: Clock;
  private readonly hnswDimensions: ReadonlySet<number>;
  private readonly exactScanMaxRows: number;
  private readonly scopeSizes: ScopeSizeCache;
  private readonly scopeIndexes: ScopeIndexCache;
  private closed = false;

  constructor(
    private readonly sql: SqlExecutor,
    options: PostgresMemoryProviderOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.hnswDimensions = new Set(options.hnswDimensions ?? []);
    this.exactScanMaxRows = options.exactScanMaxRows ?? EXACT_SCAN_MAX_ROWS;
    this.scopeSizes = new ScopeSizeCache(options.scopeSizeCache);
    this.scopeIndexes = new ScopeIndexCache({ ...options.scopeIndex, maxRows: this.exactScanMaxRows });
  }

  /**
   * The connection the provider runs on, for the stores that keep their rows in the same database (inference
   * events): they share its pool, and closing the provider closes it.
   */
  get sqlExecutor(): SqlExecutor {
    return this.sql;
  }

  async add(scope: MemoryScope, memory: NewMemory, actor?: string): Promise<Memory> {
    const [created] = await this.addMany(scope, [memory], actor);
    return created;
  }

  addMany(scope: MemoryScope, memories: readonly NewMemory[], actor = DEFAULT_ACTOR): Promise<Memory[]> {
    return this.run(assertScoped, scope, async (now) => {
      if (!Array.isArray(memories)) throw MemoryException.validation('memories must be an array');
      // The whole batch is validated before anything is written, and then written by one statement.
      const inserts: MemoryInsert[] = memories.map((memory, index) => {
        const input = validateNewMemory(scope, memory, `memories[${index}]`);
        return { ...input, id: newId(), historyId: newId(), contentHash: contentHash(input.content) };
      });
      if (inserts.length === 0) return [];
      const rows = await this.rows<MemoryRow>(insertMemories(scope, inserts, actor || DEFAULT_ACTOR, now));
      const byId = new Map(rows.map((row) => [row.id, row]));
      return inserts.map(({ id }) => {
        const row = byId.get(id);
        if (!row) throw new Error(`memory ${id} was inserted but not returned`);
        return toMemory(row);
      });
    });
  }

  get(scope: MemoryScope, id: string): Promise<Memory | null> {
    return this.run(assertTenantScope, scope, async (now) => {
      if (!isId(id)) return null;
      const [row] = await this.rows<MemoryRow>(selectMemories(scope, [id], now));
      return row ? toMemory(row) : null;
    });
  }

  getMany(scope: MemoryScope, ids: readonly string[]): Promise<Memory[]> {
    return this.run(assertTenantScope, scope, async (now) => {
      const wanted = validIds(ids);
      if (wanted.length === 0) return [];
      const rows = await this.rows<MemoryRow>(selectMemories(scope, wanted, now));
      const byId = new Map(rows.map((row) => [row.id, row]));
      return wanted.flatMap((id) => {
        const row = byId.get(id);
        return row ? [toMemory(row)] : [];
      });
    });
  }

  update(scope: MemoryScope, id: string, patch: MemoryPatch, actor = DEFAULT_ACTOR): Promise<Memory> {
    return this.run(assertTenantScope, scope, async (now) => {
      const valid = validatePatch(patch);
      if (!isId(id)) throw MemoryException.notFound(id);
      const hash = valid.content === undefined ? undefined : contentHash(valid.content);
      const [row] = await this.rows<MemoryRow>(
        updateMemory(scope, id, valid, newId(), actor || DEFAULT_ACTOR, now, hash),
      );
      if (!row) throw MemoryException.notFound(id);
      return toMemory(row);
    });
  }

  delete(scope: MemoryScope, id: string, actor = DEFAULT_ACTOR): Promise<void> {
    return this.run(assertTenantScope, scope, async (now) => {
      if (!isId(id)) throw MemoryException.notFound(id);
      const deleted = await this.deleteWithHistory(deleteMemories(scope, [id], now), actor, now);
      if (deleted === 0) throw MemoryException.notFound(id);
    });
  }

  deleteMany(scope: MemoryScope, ids: readonly string[], actor = DEFAULT_ACTOR): Promise<number> {
    return this.run(assertTenantScope, scope, async (now) => {
      const wanted = validIds(ids);
      if (wanted.length === 0) return 0;
      return this.deleteWithHistory(deleteMemories(scope, wanted, now), actor, now);
    });
  }

  clear(scope: MemoryScope, actor = DEFAULT_ACTOR): Promise<number> {
    return this.run(assertScoped, scope, (now) => this.deleteWithHistory(deleteScope(scope, now), actor, now));
  }

  search(scope: MemoryScope, query: SearchQuery): Promise<SearchResult[]> {
    return this.run(assertScoped, scope, async (now) => {
      const valid = checkSearchQuery(query);
      const indexed = this.scopeIndexes.covers(scope, valid.filter !== undefined);
      if (indexed) {
        const results = await this.searchScopeIndex(scope, valid, now);
        if (results) return results;
      }
      const size = await this.scopeSize(scope);
      if (indexed && this.scopeIndexes.loadBeforeSearch) {
        this.scopeIndexes.loadInBackground(scope, size, () => this.loadScopeIndex(scope));
        await this.scopeIndexes.settled();
        const results = await this.searchScopeIndex(scope, valid, now);
        if (results) return results;
      }
      const strategy = this.vectorStrategy(size, valid);
      const rows = await this.searchRows(searchMemories({ scope, query: valid, now, strategy }), strategy, valid);
      if (indexed) this.scopeIndexes.loadInBackground(scope, size, () => this.loadScopeIndex(scope));
      return rows.map((row) => ({ memory: toMemory(row), score: Number(row.score) }));
    });
  }

  /**
   * The search from the scope's in-memory copy, or null when there is none or it is out of date (then the
   * statement answers). One round trip checks the version (and turns the query into lexemes), one reads the
   * results' rows; a result gone in between sends the search to the statement too.
   */
  private async searchScopeIndex(
    scope: MemoryScope,
    query: ValidSearchQuery,
    now: Date,
  ): Promise<SearchResult[] | null> {
    const entry = this.scopeIndexes.get(scope);
    if (!entry) return null;
    const [probe] = await this.rows<{ version: string | null; lexemes: string[] | null }>(
      probeScopeVersion(scope, query.mode === 'vector' ? null : query.text),
    );
    if (probe.version !== entry.version) {
      this.scopeIndexes.drop(scope);
      return null;
    }
    const hits = entry.index.search(query, probe.lexemes ?? [], now);
    this.scopeIndexes.hit();
    if (hits.length === 0) return [];
    const rows = await this.rows<MemoryRow>(
      selectMemories(
        scope,
        hits.map((hit) => hit.id),
        now,
      ),
    );
    if (rows.length !== hits.length) return null;
    const byId = new Map(rows.map((row) => [row.id, row]));
    return hits.map(({ id, score }) => ({ memory: toMemory(byId.get(id)!), score }));
  }

  /** Reads the version first: rows written after it make the copy newer than its version, never older. */
  private async loadScopeIndex(scope: MemoryScope): Promise<ScopeIndexEntry> {
    const [probe] = await this.rows<{ version: string | null }>(probeScopeVersion(scope, null));
    const rows = await this.rows<ScopeIndexRow>(selectScopeIndexRows(scope));
    return { version: probe.version, index: ScopeSearchIndex.build(rows) };
  }

  /** Waits for the in-memory copies being made (tests, benchmarks). */
  scopeIndexesSettled(): Promise<void> {
    return this.scopeIndexes.settled();
  }

  scopeIndexStats(): ScopeIndexStats {
    return this.scopeIndexes.stats();
  }

  /**
   * The plan PostgreSQL chooses for `search`: for operators and for the test that the exact scan and the HNSW
   * index are each used where they should be. Not executed unless `analyze` (EXPLAIN ANALYZE runs the search).
   */
  explainSearch(
    scope: MemoryScope,
    query: SearchQuery,
    options: { analyze?: boolean } = {},
  ): Promise<{ strategy: VectorStrategy; plan: string }> {
    return this.run(assertScoped, scope, async (now) => {
      const valid = checkSearchQuery(query);
      const strategy = this.vectorStrategy(await this.scopeSize(scope), valid);
      const statement = searchMemories({ scope, query: valid, now, strategy });
      const rows = await this.searchRows<{ 'QUERY PLAN': string }>(
        {
          text: `${options.analyze ? 'EXPLAIN (ANALYZE, BUFFERS)' : 'EXPLAIN (COSTS OFF)'} ${statement.text}`,
          values: statement.values,
        },
        strategy,
        valid,
      );
      return { strategy, plan: rows.map((row) => row['QUERY PLAN']).join('\n') };
    });
  }

  list(scope: MemoryScope, query: ListQuery): Promise<Page<Memory>> {
    return this.run(assertScoped, scope, async (now) => {
      const { limit, after, filter } = validateListQuery(query);
      const rows = await this.rows<MemoryRow>(listMemories(scope, filter, after, limit, now));
      const items = rows.slice(0, limit).map(toMemory);
      return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1].id) : null };
    });
  }

  count(scope: MemoryScope, filter?: Filter): Promise<number> {
    return this.run(assertScoped, scope, async (now) => {
      const [row] = await this.rows<{ count: number }>(countMemories(scope, filter, now));
      return Number(row.count);
    });
  }

  speakerLabels(scope: MemoryScope): Promise<string[]> {
    return this.run(assertScoped, scope, async (now) => {
      const rows = await this.rows<{ label: string }>(selectSpeakerLabels(scope, now));
      return rows.map((row) => row.label);
    });
  }

  exists(scope: MemoryScope, id: string): Promise<boolean> {
    return this.run(assertTenantScope, scope, async (now) => {
      if (!isId(id)) return false;
      return (await this.rows<MemoryRow>(selectMemories(scope, [id], now))).length > 0;
    });
  }

  owners(scope: MemoryScope, query: OwnersQuery): Promise<OwnerPage> {
    return this.run(assertTenantScope, scope, async (now) => {
      const { limit, offset } = validateOwnersQuery(query);
      const rows = await this.rows<OwnerRow>(selectOwners(scope, limit, offset, now));
      return {
        items: rows.flatMap((row) =>
          row.kind === null || row.id === null
            ? []
            : [
                {
                  kind: row.kind,
                  id: row.id,
                  memoryCount: Number(row.memory_count),
                  firstAt: new Date(row.first_at!),
                  lastAt: new Date(row.last_at!),
                },
              ],
        ),
        total: Number(rows[0]?.total ?? 0),
      };
    });
  }

  history(scope: MemoryScope, id: string): Promise<MemoryHistoryEntry[]> {
    return this.run(assertTenantScope, scope, async () => {
      if (!isId(id)) return [];
      return (await this.rows<HistoryRow>(selectHistory(scope, id))).map(toHistoryEntry);
    });
  }

  recordAccess(scope: MemoryScope, accesses: readonly MemoryAccess[]): Promise<void> {
    return this.run(assertTenantScope, scope, async (now) => {
      const wanted = mergeAccesses(accesses).filter((access) => isId(access.id));
      if (wanted.length > 0) await this.rows(recordAccess(scope, wanted, now));
    });
  }

  async setEmbedding(scope: MemoryScope, id: string, embedding: MemoryEmbedding): Promise<EmbeddingWriteResult> {
    // Validated here first, so that a refusal names `embedding`, not `writes[0].embedding`.
    validateEmbedding(embedding);
    checkVectorSize(embedding.dimensions, 'embedding.dimensions');
    const [result] = await this.setEmbeddings(scope, [{ id, embedding }]);
    return result;
  }

  setEmbeddings(scope: MemoryScope, writes: readonly EmbeddingWrite[]): Promise<EmbeddingWriteResult[]> {
    return this.run(assertTenantScope, scope, async (now) => {
      checkEmbeddingWrites(writes);
      for (const [index, { embedding }] of writes.entries()) {
        checkVectorSize(embedding.dimensions, `writes[${index}].embedding.dimensions`);
      }
      const valid = writes.filter((write) => isId(write.id));
      if (valid.length === 0) return writes.map(() => 'skipped' as const);
      const rows = await this.rows<{ id: string }>(
        setEmbeddings(
          scope,
          valid.map(({ id, embedding }) => ({
            id,
            vector: formatVector(embedding.vector),
            model: embedding.model,
            dimensions: embedding.dimensions,
            contentHash: embedding.contentHash,
          })),
          now,
        ),
      );
      const written = new Set(rows.map((row) => row.id));
      return writes.map((write) => (written.has(write.id) ? 'written' : 'skipped'));
    });
  }

  /** A no-op when the memory is gone: the pipeline gave up on something nobody can see any more. */
  markFailed(scope: MemoryScope, id: string, reason: string): Promise<void> {
    return this.run(assertTenantScope, scope, async (now) => {
      if (isId(id)) await this.rows(markFailed(scope, id, String(reason), now));
    });
  }

  listPending(olderThan: Date, limit: number): Promise<EmbeddingJob[]> {
    return this.run(noScope, null, async (now) => {
      checkDate(olderThan, 'olderThan');
      if (typeof limit !== 'number' || Number.isNaN(limit)) throw MemoryException.validation('limit must be a number');
      if (limit < 1) return [];
      const rows = await this.rows<PendingRow>(listPending(olderThan, Math.min(Math.floor(limit), 2 ** 31 - 1), now));
      return rows.map(toEmbeddingJob);
    });
  }

  /** Without arguments (housekeeping by hand, tests): what has expired by the clock's now, 10,000 at most. */
  purgeExpired(before?: Date, limit = 10_000): Promise<number> {
    return this.run(noScope, null, async (now) => {
      const upTo = before === undefined ? now : checkDate(before, 'before');
      if (typeof limit !== 'number' || Number.isNaN(limit)) throw MemoryException.validation('limit must be a number');
      if (limit < 1) return 0;
      const rows = await this.rows(purgeExpired(upTo, Math.min(Math.floor(limit), 2 ** 31 - 1)));
      return rows.length;
    });
  }

  async health(): Promise<ProviderHealth> {
    const started = performance.now();
    if (this.closed) return { ok: false, latencyMs: 0, details: { backend: this.sql.kind, closed: true } };
    try {
      await this.sql.query('SELECT 1');
      return { ok: true, latencyMs: performance.now() - started, details: { backend: this.sql.kind } };
    } catch (error) {
      return {
        ok: false,
        latencyMs: performance.now() - started,
        details: { backend: this.sql.kind, error: error instanceof Error ? error.message : String(error) },
      };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.scopeIndexes.settled();
    this.scopeIndexes.clear();
    await this.sql.close();
  }

  /**
   * The frame of every method: the scope check (`assertScoped` for methods over many memories,
   * `assertTenantScope` for methods on ids), the closed check, then `work` with the clock's `now`; database
   * errors leave as typed MemoryExceptions where they have a meaning for the caller (see translateSqlError).
   */
  private async run<S extends MemoryScope | null, T>(
    guard: (scope: S) => void,
    scope: S,
    work: (now: Date) => Promise<T>,
  ): Promise<T> {
    guard(scope);
    if (scope !== null && !CANONICAL_UUID.test(scope.tenantId)) {
      throw MemoryException.validation('the tenant id must be a uuid', { tenantId: scope.tenantId });
    }
    if (this.closed) {
      throw new MemoryException(MemoryExceptionCode.DEPENDENCY_UNAVAILABLE, 'the memory provider is closed');
    }
    try {
      return await work(this.clock.now());
    } catch (error) {
      throw translateSqlError(error);
    }
  }

  private rows<T extends object>(statement: SqlStatement, sql: SqlExecutor = this.sql): Promise<T[]> {
    return sql.query<T>(statement.text, statement.values, statement.prepare ? { prepare: true } : undefined);
  }

  /** Deletes, then writes a DELETE history row for each live memory deleted, in one transaction. */
  private deleteWithHistory(statement: SqlStatement, actor: string, now: Date): Promise<number> {
    return this.sql.transaction(async (tx) => {
      const deleted = await this.rows<DeletedRow & { live?: boolean }>(statement, tx);
      const live = deleted.filter((row) => row.live !== false).sort((a, b) => (a.id < b.id ? -1 : 1));
      if (live.length > 0) {
        const history = live.map((row): HistoryInsert => ({
          id: newId(),
          tenantId: row.tenant_id,
          memoryId: row.id,
          userId: row.user_id,
          agentId: row.agent_id,
          runId: row.run_id,
          namespace: row.namespace,
          op: 'DELETE',
          oldContent: row.content,
          newContent: null,
          actor: actor || DEFAULT_ACTOR,
          at: now,
        }));
        await this.rows(insertHistory(history), tx);
      }
      return live.length;
    });
  }

  /**
   * Exact scan or HNSW for the vector leg (and with it, BM25 over the scope's rows or the GIN index's ts_rank_cd
   * for the keyword leg): HNSW only when the query's dimension has an index (or the query has no vector) and the
   * scope holds more than `exactScanMaxRows` memories (counted up to that bound, cached briefly per scope). The
   * scope is what the btree indexes can narrow; a filter is not counted, since an exact scan must read the whole
   * scope to apply it anyway.
   */
  private vectorStrategy(size: number, query: ValidSearchQuery): VectorStrategy {
    // A keyword search counts too: a small scope gets BM25 over its rows, a large one the GIN index's ts_rank_cd.
    if (query.embedding && !this.hnswDimensions.has(query.embedding.vector.length)) return 'exact';
    return size > this.exactScanMaxRows ? 'hnsw' : 'exact';
  }

  /** The scope's size, counted up to exactScanMaxRows + 1 (enough to choose) and cached briefly. */
  private scopeSize(scope: MemoryScope): Promise<number> {
    const cap = this.exactScanMaxRows + 1;
    return this.scopeSizes.get(scope, Date.now(), async () => {
      const [row] = await this.rows<{ count: number }>(countScopeUpTo(scope, cap));
      return Number(row.count);
    });
  }

  /**
   * An HNSW search runs in a transaction whose SET LOCALs (set_config(..., true)) shape it:
   * - hnsw.iterative_scan = relaxed_order: pgvector 0.8's iterative scan. Without it the index yields ef_search
   *   neighbours of the whole table, and the scope and filter then keep only the few that are theirs; with it the
   *   scan goes on until enough rows pass (up to hnsw.max_scan_tuples). The statement ranks the candidates
   *   itself, so their slightly relaxed order is harmless.
   * - hnsw.ef_search = the candidates wanted (within pgvector's 40..1000).
   * - enable_sort = off: the strategy is decided here, from the scope's size; the planner, estimating the scope
   *   from the btree index, would often pick "read the scope, sort by distance" instead. Disabling sorts only
   *   penalises plans that have an alternative without one, which in this statement is the vector leg; every
   *   other sort in it is still done.
   * - jit = off: the penalty puts the estimated cost far above jit_above_cost; JIT would compile for longer
   *   than the search runs.
   */
  private searchRows<T extends object = MemoryRow & { score: number }>(
    statement: SqlStatement,
    strategy: VectorStrategy,
    query: ValidSearchQuery,
  ): Promise<T[]> {
    if (strategy === 'exact' || !query.embedding) return this.rows<T>(statement);
    const efSearch = Math.min(HNSW_EF_SEARCH_MAX, Math.max(HNSW_EF_SEARCH_MIN, searchCandidates(query.limit)));
    return this.sql.transaction(async (tx) => {
      await tx.query(
        `SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.ef_search', $1, true),
          set_config('enable_sort', 'off', true), set_config('jit', 'off', true)`,
        [String(efSearch)],
      );
      return this.rows<T>(statement, tx);
    });
  }
}

function noScope(): void {}

function isId(id: unknown): id is string {
  return typeof id === 'string' && CANONICAL_UUID.test(id);
}

/** The distinct well-formed ids, in their first order; malformed ones cannot name a memory and are dropped. */
function validIds(ids: readonly string[]): string[] {
  if (!Array.isArray(ids)) throw MemoryException.validation('ids must be an array');
  return [...new Set(ids)].filter(isId);
}

function checkSearchQuery(query: SearchQuery): ValidSearchQuery {
  const valid = validateSearchQuery(query);
  if (valid.embedding) checkVectorSize(valid.embedding.vector.length, 'query.embedding.vector');
  return valid;
}

function checkVectorSize(dimensions: number, path: string): void {
  if (dimensions > VECTOR_MAX_DIMENSIONS) {
    throw MemoryException.validation(`${path} must have at most ${VECTOR_MAX_DIMENSIONS} dimensions`);
  }
}
