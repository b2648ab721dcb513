import type { TenantId } from './tenant.js';

export type MemoryStatus = 'pending' | 'ready' | 'failed';

export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_MEMORY_TYPE = 'fact';

/** A stored memory. The API shows it in snake_case; inside, it is camelCase. */
export interface Memory {
  id: string;
  tenantId: TenantId;
  userId: string | null;
  agentId: string | null;
  runId: string | null;
  namespace: string;
  content: string;
  memoryType: string;
  /** 1 (trivia) to 10 (essential). */
  importance: number;
  /** 0 to 1: how sure the source was. */
  confidence: number;
  metadata: Record<string, unknown>;
  categories: string[];
  status: MemoryStatus;
  /** Why embedding failed, when status is `failed`. */
  failureReason: string | null;
  /** Model that produced `embedding`; null while pending. */
  embeddingModel: string | null;
  embeddingDimensions: number | null;
  embedding: number[] | null;
  /** sha256 of the content: lets the worker detect that the content changed under a queued job. */
  contentHash: string;
  createdAt: Date;
  updatedAt: Date;
  accessedAt: Date | null;
  accessCount: number;
  expiresAt: Date | null;
}

/** What a caller gives to create a memory; the scope supplies the owner fields. */
export interface NewMemory {
  content: string;
  memoryType?: string;
  importance?: number;
  confidence?: number;
  metadata?: Record<string, unknown>;
  categories?: string[];
  expiresAt?: Date | null;
  /** Overrides the scope's namespace for this memory. */
  namespace?: string;
}

/** Fields a caller may change. Changing the content sends the memory back to `pending`. */
export interface MemoryPatch {
  content?: string;
  memoryType?: string;
  importance?: number;
  confidence?: number;
  metadata?: Record<string, unknown>;
  categories?: string[];
  expiresAt?: Date | null;
}

export type HistoryOp = 'ADD' | 'UPDATE' | 'DELETE';

export interface MemoryHistoryEntry {
  id: string;
  memoryId: string;
  op: HistoryOp;
  oldContent: string | null;
  newContent: string | null;
  actor: string;
  at: Date;
}

/** The vector the pipeline computed for a memory, with what it was computed from. */
export interface MemoryEmbedding {
  vector: number[];
  model: string;
  dimensions: number;
  /** Hash of the content that was embedded: a mismatch means the memory changed and the vector is stale. */
  contentHash: string;
}

/** What a caller was shown of one memory since the last flush: `count` times, the last at `at`. */
export interface MemoryAccess {
  id: string;
  count: number;
  at: Date;
}

export type SearchMode = 'hybrid' | 'vector' | 'keyword';

export interface SearchResult {
  memory: Memory;
  score: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type MemoryOwnerKind = 'user' | 'agent' | 'run';

/** A user, agent or run that holds live memories of a tenant (mem0's "entities"). */
export interface MemoryOwner {
  kind: MemoryOwnerKind;
  id: string;
  /** Its live memories. */
  memoryCount: number;
  /** When the oldest of them was created. */
  firstAt: Date;
  /** When one of them last changed. */
  lastAt: Date;
}

/** A page of owners, users first, then agents, then runs, each by id (code point order). */
export interface OwnersQuery {
  limit: number;
  offset?: number;
}

export interface OwnerPage {
  items: MemoryOwner[];
  /** Owners in the whole scope, not only on this page. */
  total: number;
}
