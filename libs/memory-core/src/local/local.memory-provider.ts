import { join } from 'node:path';
import { contentHash } from '../content-hash.js';
import { embeddingJobOf, type EmbeddingJob } from '../embedding-queue.js';
import { systemClock, type Clock } from '../extension-points.js';
import type { Filter } from '../filters/filter.js';
import { compareCodePoints, matchesFilter } from '../filters/filter.evaluator.js';
import { newId } from '../ids.js';
import type {
  HistoryOp,
  Memory,
  MemoryAccess,
  MemoryEmbedding,
  MemoryHistoryEntry,
  MemoryOwner,
  MemoryOwnerKind,
  MemoryPatch,
  NewMemory,
  OwnerPage,
  OwnersQuery,
  Page,
  SearchResult,
} from '../memory.js';
import type {
  EmbeddingWrite,
  EmbeddingWriteResult,
  ListQuery,
  MemoryProvider,
  ProviderHealth,
  SearchQuery,
} from '../memory-provider.js';
import { assertScoped, assertTenantScope, inScope, type MemoryScope } from '../memory-scope.js';
import { MemoryException, MemoryExceptionCode } from '../memory.exception.js';
import { speakerLabel } from '../search/speaker-label.js';
import { MemoryLog, type HistoryRow, type LogRecord } from './local-memory-log.js';
import { compareIdsNewestFirst, rankMemories, termStats, type SearchCandidate } from './local-search.js';
import {
  checkDate,
  checkEmbeddingWrites,
  mergeAccesses,
  encodeCursor,
  validateEmbedding,
  validateListQuery,
  validateNewMemory,
  validateOwnersQuery,
  validatePatch,
  validateSearchQuery,
} from '../validation/memory.validation.js';

export interface LocalMemoryProviderOptions {
  clock?: Clock;
}

export interface LocalMemoryProviderOpenOptions extends LocalMemoryProviderOptions {
  /** Where the log lives. Without it the provider is pure memory and forgets everything on close. */
  dataDir?: string;
}

export const LOCAL_MEMORY_LOG_FILE = 'local-memories.log';

const DEFAULT_ACTOR = 'system';

/**
 * The in-process MemoryProvider, and the reference the other providers are tested against: every rule of the
 * protocol is implemented here in plain code, without a database to lean on.
 *
 * Each method does its reads and writes synchronously (no `await` in between), so methods are atomic with
 * respect to each other without locks; only the wait for the log comes after. A mutation is therefore visible
 * to concurrent readers slightly before it is durable, but it is never acknowledged before.
 *
 * With a `dataDir` (see `open`) every mutation is appended to a JSON-lines log and fsync'd before its promise
 * resolves. One process per data directory: the log is not locked against a second writer.
 */
export class LocalMemoryProvider implements MemoryProvider {
  private readonly memories = new Map<string, SearchCandidate>();
  /** By memory id, oldest first; outlives the memory, as `history` promises. */
  private readonly histories = new Map<string, HistoryRow[]>();
  private readonly clock: Clock;
  private log: MemoryLog | null = null;
  /** A lower bound of every stored expiry, so reads only scan for expired memories when one may be due. */
  private nextExpiry = Number.POSITIVE_INFINITY;
  private closed = false;

  /** A pure in-memory provider; use `open` for one that survives restarts. */
  constructor(options: LocalMemoryProviderOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  /** Replays `<dataDir>/local-memories.log` when given, then compacts it. */
  static async open(options: LocalMemoryProviderOpenOptions = {}): Promise<LocalMemoryProvider> {
    const provider = new LocalMemoryProvider(options);
    if (options.dataDir === undefined) return provider;

    const path = join(options.dataDir, LOCAL_MEMORY_LOG_FILE);
    for (const record of await MemoryLog.replay(path)) provider.apply(record);
    // Expired memories are dropped here rather than carried into the compacted log.
    provider.dropExpired(provider.clock.now());
    provider.log = await MemoryLog.compact(path, provider.snapshot());
    return provider;
  }

  async add(scope: MemoryScope, memory: NewMemory, actor?: string): Promise<Memory> {
    const [created] = await this.addMany(scope, [memory], actor);
    return created;
  }

  addMany(scope: MemoryScope, memories: readonly NewMemory[], actor = DEFAULT_ACTOR): Promise<Memory[]> {
    return this.run(assertScoped, scope, (now, records) => {
      if (!Array.isArray(memories)) throw MemoryException.validation('memories must be an array');
      // Validate the whole batch before writing any of it: a batch is stored entirely or not at all.
      const inputs = memories.map((memory, index) => validateNewMemory(scope, memory, `memories[${index}]`));
      return inputs.map((input) => {
        const memory: Memory = {
          id: newId(),
          tenantId: scope.tenantId,
          userId: scope.userId ?? null,
          agentId: scope.agentId ?? null,
          runId: scope.runId ?? null,
          ...input,
          status: 'pending',
          failureReason: null,
          embeddingModel: null,
          embeddingDimensions: null,
          embedding: null,
          contentHash: contentHash(input.content),
          createdAt: now,
          updatedAt: now,
          accessedAt: null,
          accessCount: 0,
        };
        this.put(memory, records);
        this.recordHistory(memory, 'ADD', null, memory.content, actor, now, records);
        return copy(memory);
      });
    });
  }

  get(scope: MemoryScope, id: string): Promise<Memory | null> {
    return this.run(assertTenantScope, scope, () => {
      const memory = this.find(scope, id);
      return memory ? copy(memory) : null;
    });
  }

  getMany(scope: MemoryScope, ids: readonly string[]): Promise<Memory[]> {
    return this.run(assertTenantScope, scope, () => this.findAll(scope, ids).map(copy));
  }

  update(scope: MemoryScope, id: string, patch: MemoryPatch, actor = DEFAULT_ACTOR): Promise<Memory> {
    return this.run(assertTenantScope, scope, (now, records) => {
      const valid = validatePatch(patch);
      const before = this.find(scope, id);
      if (!before) throw MemoryException.notFound(id);

      const after: Memory = {
        ...before,
        memoryType: valid.memoryType ?? before.memoryType,
        importance: valid.importance ?? before.importance,
        confidence: valid.confidence ?? before.confidence,
        metadata: valid.metadata ?? before.metadata,
        categories: valid.categories ?? before.categories,
        expiresAt: valid.expiresAt !== undefined ? valid.expiresAt : before.expiresAt,
        updatedAt: now,
      };
      if (valid.content !== undefined && valid.content !== before.content) {
        // The vector described the old content: searching on it would find the memory for what it no longer says.
        Object.assign(after, {
          content: valid.content,
          contentHash: contentHash(valid.content),
          status: 'pending',
          failureReason: null,
          embedding: null,
          embeddingModel: null,
          embeddingDimensions: null,
        } satisfies Partial<Memory>);
      }
      this.put(after, records);
      this.recordHistory(after, 'UPDATE', before.content, after.content, actor, now, records);
      return copy(after);
    });
  }

  delete(scope: MemoryScope, id: string, actor = DEFAULT_ACTOR): Promise<void> {
    return this.run(assertTenantScope, scope, (now, records) => {
      const memory = this.find(scope, id);
      if (!memory) throw MemoryException.notFound(id);
      this.remove(memory, actor, now, records);
    });
  }

  deleteMany(scope: MemoryScope, ids: readonly string[], actor = DEFAULT_ACTOR): Promise<number> {
    return this.run(assertTenantScope, scope, (now, records) => {
      const found = this.findAll(scope, ids);
      for (const memory of found) this.remove(memory, actor, now, records);
      return found.length;
    });
  }

  clear(scope: MemoryScope, actor = DEFAULT_ACTOR): Promise<number> {
    return this.run(assertScoped, scope, (now, records) => {
      const found = this.scan(scope);
      for (const memory of found) this.remove(memory, actor, now, records);
      return found.length;
    });
  }

  search(scope: MemoryScope, query: SearchQuery): Promise<SearchResult[]> {
    return this.run(assertScoped, scope, (now) => {
      const valid = validateSearchQuery(query);
      // The filter narrows the candidates before ranking, as a WHERE clause would: ranks, IDF and limit are
      // then about the memories the caller can actually get back.
      const candidates = [...this.memories.values()].filter(
        ({ memory }) => inScope(scope, memory) && matches(memory, valid.filter),
      );
      return rankMemories(candidates, valid, now).map(({ memory, score }) => ({ memory: copy(memory), score }));
    });
  }

  list(scope: MemoryScope, query: ListQuery): Promise<Page<Memory>> {
    return this.run(assertScoped, scope, () => {
      const { limit, after, filter } = validateListQuery(query);
      const matching = this.scan(scope, filter)
        .filter((memory) => after === null || memory.id < after)
        .sort((a, b) => compareIdsNewestFirst(a.id, b.id));
      const items = matching.slice(0, limit);
      return {
        items: items.map(copy),
        nextCursor: matching.length > limit ? encodeCursor(items[items.length - 1].id) : null,
      };
    });
  }

  count(scope: MemoryScope, filter?: Filter): Promise<number> {
    return this.run(assertScoped, scope, () => this.scan(scope, filter).length);
  }

  speakerLabels(scope: MemoryScope): Promise<string[]> {
    return this.run(assertScoped, scope, () => {
      const labels = new Set<string>();
      for (const { memory, terms } of this.memories.values()) {
        if (terms.speaker.length === 0 || !inScope(scope, memory)) continue;
        const label = speakerLabel(memory.content);
        if (label !== null) labels.add(label);
      }
      return [...labels];
    });
  }

  exists(scope: MemoryScope, id: string): Promise<boolean> {
    return this.run(assertTenantScope, scope, () => this.find(scope, id) !== undefined);
  }

  owners(scope: MemoryScope, query: OwnersQuery): Promise<OwnerPage> {
    return this.run(assertTenantScope, scope, () => {
      const { limit, offset } = validateOwnersQuery(query);
      const byKey = new Map<string, MemoryOwner>();
      for (const memory of this.scan(scope)) {
        for (const [kind, id] of ownersOf(memory)) {
          const key = JSON.stringify([kind, id]);
          const owner = byKey.get(key);
          if (!owner) {
            byKey.set(key, { kind, id, memoryCount: 1, firstAt: memory.createdAt, lastAt: memory.updatedAt });
            continue;
          }
          owner.memoryCount += 1;
          if (memory.createdAt < owner.firstAt) owner.firstAt = memory.createdAt;
          if (memory.updatedAt > owner.lastAt) owner.lastAt = memory.updatedAt;
        }
      }
      const all = [...byKey.values()].sort(compareOwners);
      return {
        items: all
          .slice(offset, offset + limit)
          .map((owner) => ({ ...owner, firstAt: new Date(owner.firstAt), lastAt: new Date(owner.lastAt) })),
        total: all.length,
      };
    });
  }

  history(scope: MemoryScope, id: string): Promise<MemoryHistoryEntry[]> {
    return this.run(assertTenantScope, scope, () =>
      // Owner fields never change, so checking the rows' owner is checking the memory's, even once it is deleted.
      (this.histories.get(id) ?? [])
        .filter((row) => inScope(scope, row.owner))
        .map((row) => ({ ...row.entry, at: new Date(row.entry.at) })),
    );
  }

  recordAccess(scope: MemoryScope, accesses: readonly MemoryAccess[]): Promise<void> {
    return this.run(assertTenantScope, scope, (_now, records) => {
      for (const access of mergeAccesses(accesses)) {
        const memory = this.find(scope, access.id);
        if (!memory) continue;
        // Flushes may arrive out of order; the latest access wins.
        const accessedAt = memory.accessedAt && memory.accessedAt > access.at ? memory.accessedAt : new Date(access.at);
        this.put({ ...memory, accessCount: memory.accessCount + access.count, accessedAt }, records);
      }
    });
  }

  setEmbedding(scope: MemoryScope, id: string, embedding: MemoryEmbedding): Promise<EmbeddingWriteResult> {
    return this.run(assertTenantScope, scope, (_now, records) => {
      validateEmbedding(embedding);
      const memory = this.find(scope, id);
      // A hash mismatch means the content changed after the job was queued: its own job brings the right vector.
      if (!memory || memory.contentHash !== embedding.contentHash) return 'skipped';
      this.put(
        {
          ...memory,
          embedding: [...embedding.vector],
          embeddingModel: embedding.model,
          embeddingDimensions: embedding.dimensions,
          status: 'ready',
          failureReason: null,
        },
        records,
      );
      return 'written';
    });
  }

  async setEmbeddings(scope: MemoryScope, writes: readonly EmbeddingWrite[]): Promise<EmbeddingWriteResult[]> {
    assertTenantScope(scope);
    checkEmbeddingWrites(writes);
    const results: EmbeddingWriteResult[] = [];
    for (const { id, embedding } of writes) results.push(await this.setEmbedding(scope, id, embedding));
    return results;
  }

  /** A no-op when the memory is gone: the pipeline gave up on something nobody can see any more. */
  markFailed(scope: MemoryScope, id: string, reason: string): Promise<void> {
    return this.run(assertTenantScope, scope, (_now, records) => {
      const memory = this.find(scope, id);
      if (memory) this.put({ ...memory, status: 'failed', failureReason: String(reason) }, records);
    });
  }

  async listPending(olderThan: Date, limit: number): Promise<EmbeddingJob[]> {
    const now = this.clock.now().getTime();
    const pending: Memory[] = [];
    for (const { memory } of this.memories.values()) {
      if (memory.status === 'pending' && memory.updatedAt < olderThan && !isExpired(memory, now)) pending.push(memory);
    }
    pending.sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime());
    return pending.slice(0, limit).map(embeddingJobOf);
  }

  /**
   * Not through `run`: its lazy purge would remove what expired by now, so the count would no longer say what this
   * call removed up to `before`. Kept history, no history row, as for the lazy purge.
   */
  async purgeExpired(before: Date, limit: number): Promise<number> {
    checkDate(before, 'before');
    if (typeof limit !== 'number' || Number.isNaN(limit)) throw MemoryException.validation('limit must be a number');
    if (this.closed) {
      throw new MemoryException(MemoryExceptionCode.DEPENDENCY_UNAVAILABLE, 'the memory provider is closed');
    }
    const max = Math.floor(limit);
    const records: LogRecord[] = [];
    for (const [id, { memory }] of this.memories) {
      if (records.length >= max) break;
      if (isExpired(memory, before.getTime())) {
        this.memories.delete(id);
        records.push({ op: 'delete', id });
      }
    }
    // `nextExpiry` stays a lower bound of the remaining expiries, which is all `dropExpired` needs of it.
    if (this.log) await this.log.append(records);
    return records.length;
  }

  async health(): Promise<ProviderHealth> {
    const started = performance.now();
    const memories = this.memories.size;
    return {
      ok: !this.closed,
      latencyMs: performance.now() - started,
      details: { memories, durable: this.log !== null },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.log?.close();
  }

  /**
   * The frame of every method: the scope check first (`assertScoped` for methods over many memories,
   * `assertTenantScope` for methods on given ids, as the protocol says), then expired memories out of the way,
   * then `work`, synchronously, so that no other call interleaves with it; then the wait for the log. The log is
   * written even when `work` throws: its records then hold only the purge, since every method validates before
   * it changes anything.
   */
  private async run<T>(
    guard: (scope: MemoryScope) => void,
    scope: MemoryScope,
    work: (now: Date, records: LogRecord[]) => T,
  ): Promise<T> {
    guard(scope);
    if (this.closed) {
      throw new MemoryException(MemoryExceptionCode.DEPENDENCY_UNAVAILABLE, 'the memory provider is closed');
    }
    const now = this.clock.now();
    const records = this.dropExpired(now);
    try {
      return work(now, records);
    } finally {
      if (this.log) await this.log.append(records);
    }
  }

  /** A live memory inside the scope (expired ones were purged by `run`). */
  private find(scope: MemoryScope, id: string): Memory | undefined {
    const memory = typeof id === 'string' ? this.memories.get(id)?.memory : undefined;
    return memory && inScope(scope, memory) ? memory : undefined;
  }

  private findAll(scope: MemoryScope, ids: readonly string[]): Memory[] {
    if (!Array.isArray(ids)) throw MemoryException.validation('ids must be an array');
    return [...new Set(ids)].flatMap((id) => this.find(scope, id) ?? []);
  }

  private scan(scope: MemoryScope, filter?: Filter): Memory[] {
    const found: Memory[] = [];
    for (const { memory } of this.memories.values()) {
      if (inScope(scope, memory) && matches(memory, filter)) found.push(memory);
    }
    return found;
  }

  /** The only way memories enter the map, so the expiry bound and the term statistics are never stale. */
  private put(memory: Memory, records: LogRecord[] | null): void {
    const previous = this.memories.get(memory.id);
    const terms = previous && previous.memory.content === memory.content ? previous.terms : termStats(memory.content);
    this.memories.set(memory.id, { memory, terms });
    if (memory.expiresAt) this.nextExpiry = Math.min(this.nextExpiry, memory.expiresAt.getTime());
    records?.push({ op: 'put', memory });
  }

  private remove(memory: Memory, actor: string, now: Date, records: LogRecord[]): void {
    this.memories.delete(memory.id);
    records.push({ op: 'delete', id: memory.id });
    this.recordHistory(memory, 'DELETE', memory.content, null, actor, now, records);
  }

  private recordHistory(
    memory: Memory,
    op: HistoryOp,
    oldContent: string | null,
    newContent: string | null,
    actor: string,
    at: Date,
    records: LogRecord[] | null,
  ): void {
    const row: HistoryRow = {
      entry: { id: newId(), memoryId: memory.id, op, oldContent, newContent, actor: actor || DEFAULT_ACTOR, at },
      owner: {
        tenantId: memory.tenantId,
        userId: memory.userId,
        agentId: memory.agentId,
        runId: memory.runId,
        namespace: memory.namespace,
      },
    };
    this.appendHistory(row);
    records?.push({ op: 'history', row });
  }

  private appendHistory(row: HistoryRow): void {
    const rows = this.histories.get(row.entry.memoryId);
    if (rows) rows.push(row);
    else this.histories.set(row.entry.memoryId, [row]);
  }

  /**
   * Expired memories are removed lazily, on the first call that could see them. No history row: nobody
   * deleted them. Their removal is logged all the same, so a restart with an earlier clock cannot revive them.
   */
  private dropExpired(now: Date): LogRecord[] {
    const records: LogRecord[] = [];
    if (now.getTime() < this.nextExpiry) return records;
    let nextExpiry = Number.POSITIVE_INFINITY;
    for (const [id, { memory }] of this.memories) {
      const expiry = memory.expiresAt?.getTime();
      if (expiry === undefined) continue;
      if (expiry <= now.getTime()) {
        this.memories.delete(id);
        records.push({ op: 'delete', id });
      } else {
        nextExpiry = Math.min(nextExpiry, expiry);
      }
    }
    this.nextExpiry = nextExpiry;
    return records;
  }

  private apply(record: LogRecord): void {
    switch (record.op) {
      case 'put':
        this.put(record.memory, null);
        return;
      case 'delete':
        this.memories.delete(record.id);
        return;
      case 'history':
        this.appendHistory(record.row);
        return;
    }
  }

  /** The current state as log records: what compaction writes. */
  private *snapshot(): Generator<LogRecord> {
    for (const { memory } of this.memories.values()) yield { op: 'put', memory };
    for (const rows of this.histories.values()) {
      for (const row of rows) yield { op: 'history', row };
    }
  }
}

const OWNER_KIND_ORDER: readonly MemoryOwnerKind[] = ['user', 'agent', 'run'];

function ownersOf(memory: Memory): [MemoryOwnerKind, string][] {
  const owners: [MemoryOwnerKind, string][] = [];
  if (memory.userId !== null) owners.push(['user', memory.userId]);
  if (memory.agentId !== null) owners.push(['agent', memory.agentId]);
  if (memory.runId !== null) owners.push(['run', memory.runId]);
  return owners;
}

/** Users, then agents, then runs; each by id in code point order (Postgres: `COLLATE "C"`). */
function compareOwners(a: MemoryOwner, b: MemoryOwner): number {
  const byKind = OWNER_KIND_ORDER.indexOf(a.kind) - OWNER_KIND_ORDER.indexOf(b.kind);
  return byKind !== 0 ? byKind : compareCodePoints(a.id, b.id);
}

/** Expired at `at` (ms): an expiry at that very instant counts, as `expires_at <= $1` does in SQL. */
function isExpired(memory: Memory, at: number): boolean {
  return memory.expiresAt !== null && memory.expiresAt.getTime() <= at;
}

function matches(memory: Memory, filter: Filter | undefined): boolean {
  return filter === undefined || matchesFilter(memory, filter);
}

/**
 * Callers get their own object: mutating a result must never change the store. Spelled out rather than
 * `structuredClone`, which creates its Dates in the realm that owns it (not the caller's, under a test VM).
 */
function copy(memory: Memory): Memory {
  return {
    ...memory,
    metadata: JSON.parse(JSON.stringify(memory.metadata)) as Record<string, unknown>,
    categories: [...memory.categories],
    embedding: memory.embedding && [...memory.embedding],
    createdAt: new Date(memory.createdAt),
    updatedAt: new Date(memory.updatedAt),
    accessedAt: memory.accessedAt && new Date(memory.accessedAt),
    expiresAt: memory.expiresAt && new Date(memory.expiresAt),
  };
}
