import type { TenantId } from './tenant.js';

/** One memory to embed. The job id is the memory id, so a retry or a re-enqueue never duplicates work. */
export interface EmbeddingJob {
  tenantId: TenantId;
  memoryId: string;
  /** The owner fields of the memory, so the worker reads it through a proper scope. */
  userId: string | null;
  agentId: string | null;
  runId: string | null;
  contentHash: string;
}

export type JobOutcome = 'completed' | 'failed';

/**
 * Where `add` hands memories to the embedding pipeline. In process without Redis, BullMQ with it;
 * both behave the same: at-least-once delivery, one job per memory id.
 */
export interface EmbeddingQueue {
  enqueue(jobs: readonly EmbeddingJob[]): Promise<void>;
  /** Resolves when every job has finished (or `timeoutMs` passed: then rejects with TIMEOUT). */
  waitFor(memoryIds: readonly string[], timeoutMs: number): Promise<Map<string, JobOutcome>>;
  close(): Promise<void>;
}
