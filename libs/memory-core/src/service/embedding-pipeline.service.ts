import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Embedder } from '../embedder.js';
import type { EmbeddingJob, EmbeddingJobProcessor } from '../embedding-queue.js';
import type { MemoryProvider } from '../memory-provider.js';
import type { MemoryScope } from '../memory-scope.js';
import { EMBEDDER, MEMORY_PROVIDER } from '../memory-core.tokens.js';

export interface PipelineBatchResult {
  written: number;
  /** Memories deleted or changed since the job was queued: a newer job (or nothing) covers them. */
  skipped: number;
}

/** The scope a job reads its memory through: exactly the memory's owner. */
export function jobScope(job: EmbeddingJob): MemoryScope {
  return {
    tenantId: job.tenantId,
    userId: job.userId ?? undefined,
    agentId: job.agentId ?? undefined,
    runId: job.runId ?? undefined,
  };
}

/**
 * Turns pending memories into searchable ones: re-reads each memory (it may have been deleted or
 * edited since the job was queued), embeds the survivors in one batch, and writes each vector only if
 * the content it was computed from is still the memory's content.
 */
@Injectable()
export class EmbeddingPipeline implements EmbeddingJobProcessor {
  private readonly logger = new Logger(EmbeddingPipeline.name);

  constructor(
    @Inject(MEMORY_PROVIDER) private readonly provider: MemoryProvider,
    @Inject(EMBEDDER) private readonly embedder: Embedder,
  ) {}

  async process(jobs: readonly EmbeddingJob[]): Promise<void> {
    await this.run(jobs);
  }

  async run(jobs: readonly EmbeddingJob[]): Promise<PipelineBatchResult> {
    const live: Array<{ job: EmbeddingJob; content: string }> = [];
    let skipped = 0;
    for (const job of jobs) {
      const memory = await this.provider.get(jobScope(job), job.memoryId);
      if (!memory || memory.contentHash !== job.contentHash) skipped++;
      else live.push({ job, content: memory.content });
    }
    if (live.length === 0) return { written: 0, skipped };

    const vectors = await this.embedder.embed(live.map((entry) => entry.content));
    let written = 0;
    for (const [i, { job }] of live.entries()) {
      const result = await this.provider.setEmbedding(jobScope(job), job.memoryId, {
        vector: vectors[i],
        model: this.embedder.model,
        dimensions: this.embedder.dimensions,
        contentHash: job.contentHash,
      });
      if (result === 'written') written++;
      else skipped++;
    }
    return { written, skipped };
  }

  async fail(job: EmbeddingJob, reason: string): Promise<void> {
    this.logger.warn(`embedding of memory ${job.memoryId} failed for good: ${reason}`);
    const memory = await this.provider.get(jobScope(job), job.memoryId);
    if (memory && memory.contentHash === job.contentHash) {
      await this.provider.markFailed(jobScope(job), job.memoryId, reason);
    }
  }
}
