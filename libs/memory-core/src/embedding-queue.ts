import type { Memory } from './memory.js';
import type { TraceCarrier } from './telemetry/memory-telemetry.js';
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
  /** The trace of the write that queued it (when tracing is on): the worker's spans join it. */
  trace?: TraceCarrier;
}

export type JobOutcome = 'completed' | 'failed';

/** The job records `removeJobs` removes: every job of a tenant, or those of one data subject. */
export interface EmbeddingJobSelector {
  tenantId: TenantId;
  /** Only the jobs carrying this user id (and those of `memoryIds`); absent: every job of the tenant. */
  userId?: string;
  /** The memories of the subject: their jobs go whatever user they carry, and so do event entries naming them. */
  memoryIds?: ReadonlySet<string>;
}

export interface RemovedJobs {
  /** Job records removed: waiting, delayed, completed or failed ones. */
  removed: number;
  /** Matching jobs that could not be removed now (running, or moving between states): ask again once they finish. */
  remaining: number;
}

/** What the queue runs its jobs with: the embedding pipeline. */
export interface EmbeddingJobProcessor {
  /** Embeds a batch. Throwing makes the queue retry the whole batch with backoff. */
  process(jobs: readonly EmbeddingJob[]): Promise<void>;
  /** Called once a job has used up its attempts. */
  fail(job: EmbeddingJob, reason: string): Promise<void>;
}

/**
 * Where `add` hands memories to the embedding pipeline. In process without Redis, BullMQ with it;
 * both behave the same: at-least-once delivery, one job per memory id, bounded retries, then `fail`.
 */
export interface EmbeddingQueue {
  enqueue(jobs: readonly EmbeddingJob[]): Promise<void>;
  /** Starts running jobs in this process. */
  start(processor: EmbeddingJobProcessor): void;
  /**
   * Resolves once every named job has finished, or after `timeoutMs` with the ones finished by then
   * (the others are still queued: an acknowledged write is never dropped by a timeout).
   */
  waitFor(memoryIds: readonly string[], timeoutMs: number): Promise<Map<string, JobOutcome>>;
  /** Jobs waiting or running. */
  depth(): Promise<number>;
  /**
   * Removes the matching job records, whatever their state, running ones excepted; also what else the queue keeps
   * that names those jobs (event entries). What a GDPR erase uses: a job carries its memory's owner ids.
   * Both queues have it; optional for the queues of tests.
   */
  removeJobs?(selector: EmbeddingJobSelector): Promise<RemovedJobs>;
  close(): Promise<void>;
}

/** The job that makes a memory's current content searchable. */
export function embeddingJobOf(memory: Memory): EmbeddingJob {
  return {
    tenantId: memory.tenantId,
    memoryId: memory.id,
    userId: memory.userId,
    agentId: memory.agentId,
    runId: memory.runId,
    contentHash: memory.contentHash,
  };
}

/** Whether `removeJobs(selector)` takes this job. */
export function jobMatches(job: EmbeddingJob, selector: EmbeddingJobSelector): boolean {
  if (job.tenantId !== selector.tenantId) return false;
  if (selector.userId === undefined) return true;
  return job.userId === selector.userId || (selector.memoryIds?.has(job.memoryId) ?? false);
}
