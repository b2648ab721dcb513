import type { EmbeddingJob } from './embedding-queue.js';
import type { Filter } from './filters/filter.js';
import type {
  Memory,
  MemoryAccess,
  MemoryEmbedding,
  MemoryHistoryEntry,
  MemoryPatch,
  NewMemory,
  OwnerPage,
  OwnersQuery,
  Page,
  SearchMode,
  SearchResult,
} from './memory.js';
import type { MemoryScope } from './memory-scope.js';

export interface SearchQuery {
  /** The text searched for; used by the keyword leg. */
  text: string;
  /** The query's embedding; required by the vector leg (modes `vector` and `hybrid`). */
  embedding?: { vector: number[]; model: string };
  mode: SearchMode;
  limit: number;
  filter?: Filter;
  /** Results scoring below it are dropped. Scores are in [0, 1] for every mode. */
  threshold?: number;
  /** Optional re-ranking weights; 0 (the default) leaves the relevance order alone. */
  recencyWeight?: number;
  importanceWeight?: number;
}

export interface ListQuery {
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
  filter?: Filter;
}

export interface ProviderHealth {
  ok: boolean;
  latencyMs: number;
  details?: Record<string, unknown>;
}

/** Outcome of writing a computed vector: `skipped` when the memory is gone or its content changed. */
export type EmbeddingWriteResult = 'written' | 'skipped';

/** One vector of a batch the embedding pipeline writes (`MemoryProvider.setEmbeddings`). */
export interface EmbeddingWrite {
  id: string;
  embedding: MemoryEmbedding;
}

/**
 * The memory protocol: the union of every seed API's operations (store/remember/aadd → add,
 * retrieve/recall → search, get_by_id → get, list_memories → list, store_many → addMany, …).
 * Every method takes a scope first. Methods over many memories (add, addMany, search, list, count,
 * speakerLabels, clear) refuse a scope without a user, agent or run (`assertScoped`); methods on given ids need only
 * the tenant (`assertTenantScope`) and narrow to the user, agent or run when the scope names one.
 *
 * Reads never return expired memories and never count as accesses by themselves: the service reports
 * what a caller was shown through `recordAccess`, so the pipeline's reads leave the statistics alone.
 * Mutations write a history row in the same unit of work.
 *
 * Implementations: LocalMemoryProvider (in process, the reference), PostgresMemoryProvider,
 * and in the cloud edition a tenant-isolating wrapper. All pass `memory-provider.contract.ts`.
 */
export interface MemoryProvider {
  /** Stores a memory as `pending`; the embedding pipeline makes it `ready`. */
  add(scope: MemoryScope, memory: NewMemory, actor?: string): Promise<Memory>;
  addMany(scope: MemoryScope, memories: readonly NewMemory[], actor?: string): Promise<Memory[]>;
  /** null when missing, expired, or outside the scope. */
  get(scope: MemoryScope, id: string): Promise<Memory | null>;
  /** The memories found, in the order of `ids`; missing ones are left out. */
  getMany(scope: MemoryScope, ids: readonly string[]): Promise<Memory[]>;
  /** Throws MEMORY_NOT_FOUND. A content change resets the memory to `pending` and drops its vector. */
  update(scope: MemoryScope, id: string, patch: MemoryPatch, actor?: string): Promise<Memory>;
  /** Throws MEMORY_NOT_FOUND. */
  delete(scope: MemoryScope, id: string, actor?: string): Promise<void>;
  /** Deletes those of `ids` inside the scope; returns how many were deleted. */
  deleteMany(scope: MemoryScope, ids: readonly string[], actor?: string): Promise<number>;
  /** Deletes every memory of the scope; returns how many. */
  clear(scope: MemoryScope, actor?: string): Promise<number>;
  search(scope: MemoryScope, query: SearchQuery): Promise<SearchResult[]>;
  /** Newest first. */
  list(scope: MemoryScope, query: ListQuery): Promise<Page<Memory>>;
  count(scope: MemoryScope, filter?: Filter): Promise<number>;
  /**
   * The distinct speaker labels (search/speaker-label.ts, `speakerLabel`: "Caroline" in "Caroline: hi"), as written,
   * of the scope's live memories, in no particular order. The service strips the ones a query names from the text
   * the vector leg embeds (`withoutNamedSpeakers`).
   */
  speakerLabels(scope: MemoryScope): Promise<string[]>;
  exists(scope: MemoryScope, id: string): Promise<boolean>;
  /**
   * The users, agents and runs that hold live memories in the scope, with how many each holds. A method on the
   * tenant (`assertTenantScope`): it is how a caller learns which scopes exist; a scope naming a user, agent or run
   * narrows it to the owners of that scope's memories.
   */
  owners(scope: MemoryScope, query: OwnersQuery): Promise<OwnerPage>;
  /** Oldest first. Kept after the memory is deleted; empty for an id never seen in the scope. */
  history(scope: MemoryScope, id: string): Promise<MemoryHistoryEntry[]>;

  /**
   * Adds each access's `count` to `accessCount` and moves `accessedAt` forward to its `at` (never back: flushes
   * may arrive out of order), for the memories of the scope among them; an id listed twice counts twice.
   */
  recordAccess(scope: MemoryScope, accesses: readonly MemoryAccess[]): Promise<void>;

  /** Pipeline: stores a vector unless the memory is gone or changed since `embedding.contentHash`. */
  setEmbedding(scope: MemoryScope, id: string, embedding: MemoryEmbedding): Promise<EmbeddingWriteResult>;
  /**
   * Pipeline: `setEmbedding` for many memories of the scope at once (one statement where the backend can: a batch
   * of vectors is one write, not one per memory). Each write is judged on its own; the results are in the writes'
   * order. Every embedding is validated before anything is written.
   */
  setEmbeddings(scope: MemoryScope, writes: readonly EmbeddingWrite[]): Promise<EmbeddingWriteResult[]>;
  /** Pipeline: the embedding gave up; the reason is visible on the memory. */
  markFailed(scope: MemoryScope, id: string, reason: string): Promise<void>;
  /**
   * Reconciler: memories of any tenant still `pending` whose last change is older than `olderThan`,
   * oldest first, as jobs to enqueue again (their job may have been lost with a Redis flush).
   * The one method that crosses tenants: it serves the system, never a request.
   */
  listPending(olderThan: Date, limit: number): Promise<EmbeddingJob[]>;
  /**
   * Purger: deletes up to `limit` memories of any tenant whose expiry is at or before `before`, and returns how
   * many. Reads hide expired memories already; this gives their space back. As for expired memories a `clear`
   * sweeps, nobody deleted them: no DELETE history row is written, and their history is kept as after a delete.
   * Crosses tenants like `listPending`, and serves the system, never a request.
   */
  purgeExpired(before: Date, limit: number): Promise<number>;

  health(): Promise<ProviderHealth>;
  close(): Promise<void>;
}
