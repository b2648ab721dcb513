import type { EmbeddingJob, EmbeddingJobProcessor } from '@engram/memory-core';
import { asTenantId } from '@engram/memory-core';

/** A job for memory `memoryId` of one fixed tenant and user. */
export const testJob = (memoryId: string, contentHash = 'a'.repeat(64)): EmbeddingJob => ({
  tenantId: asTenantId('00000000-0000-0000-0000-000000000000'),
  memoryId,
  userId: 'u',
  agentId: null,
  runId: null,
  contentHash,
});

/** Records the batches a queue hands over; fails the next `failuresLeft` batches on purpose. */
export class RecordingProcessor implements EmbeddingJobProcessor {
  batches: EmbeddingJob[][] = [];
  failed: Array<{ id: string; reason: string }> = [];
  failuresLeft = 0;

  async process(jobs: readonly EmbeddingJob[]): Promise<void> {
    this.batches.push([...jobs]);
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new Error('embedder down');
    }
  }

  async fail(job: EmbeddingJob, reason: string): Promise<void> {
    this.failed.push({ id: job.memoryId, reason });
  }

  /** The batches as memory ids. */
  batchIds(): string[][] {
    return this.batches.map((batch) => batch.map((job) => job.memoryId));
  }

  /** The batches as `memoryId:contentHash`, to tell versions of one memory apart. */
  batchKeys(): string[][] {
    return this.batches.map((batch) => batch.map((job) => `${job.memoryId}:${job.contentHash}`));
  }
}
