import type { SearchMode } from '@engram/memory-core';

/** What the benchmark stores for one dialogue turn. `dia_id` maps a search result back to the turn. */
export interface BenchMemory {
  content: string;
  metadata: { dia_id: string; session: number; session_time: string };
}

/** The part of a memory the benchmark watches while it waits for the embeddings. */
export interface MemoryState {
  id: string;
  status: 'pending' | 'ready' | 'failed';
  failureReason?: string | null;
}

export interface SearchHit {
  /** metadata.dia_id of the result; null if the memory has none (not one the benchmark added). */
  diaId: string | null;
  score: number;
}

/** Printed with the results, so a table always says what produced it. */
export interface TargetDescription {
  /** Where the service ran: in-process or the server's URL. */
  service: string;
  /** The storage backend, e.g. `LocalMemoryProvider (MEMORY_PROVIDER=local)`. */
  provider: string;
  /** The embedder: provider name and model, e.g. `local (use-lite-512, 512-d)`. */
  embedder: string;
}

/**
 * The service under test, reached either in-process (MemoryService of a Nest application context) or over the
 * REST API of a running server. Both go through the real service: validation, the embedding pipeline, the provider.
 */
export interface RetrievalTarget {
  readonly description: TargetDescription;
  /** Deletes the user's memories, so that a run against a store that outlives it starts from a clean user. */
  clear(userId: string): Promise<void>;
  /** Adds at most BATCH_MAX memories for the user and waits (as `wait: true` does) until they are searchable. */
  addBatch(userId: string, memories: readonly BenchMemory[]): Promise<MemoryState[]>;
  /** Every memory of the user, for polling memories that `wait` gave up on. */
  states(userId: string): Promise<MemoryState[]>;
  search(userId: string, query: string, mode: SearchMode, limit: number): Promise<SearchHit[]>;
  close(): Promise<void>;
}

export function diaIdOf(metadata: unknown): string | null {
  if (typeof metadata !== 'object' || metadata === null) return null;
  const value = (metadata as Record<string, unknown>).dia_id;
  return typeof value === 'string' ? value : null;
}

/** A failure the user can act on (server unreachable, memories that never get embedded): printed as one line. */
export class BenchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchError';
  }
}
