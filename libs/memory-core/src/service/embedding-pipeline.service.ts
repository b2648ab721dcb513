import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { Embedder } from '../embedder.js';
import type { EmbeddingJob, EmbeddingJobProcessor } from '../embedding-queue.js';
import type { EmbeddingWrite, MemoryProvider } from '../memory-provider.js';
import type { MemoryScope } from '../memory-scope.js';
import type { TenantId } from '../tenant.js';
import { EMBEDDER, MEMORY_PROVIDER, MEMORY_TELEMETRY } from '../memory-core.tokens.js';
import { NOOP_MEMORY_TELEMETRY, Observed, type MemoryTelemetry } from '../telemetry/memory-telemetry.js';

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
    @Optional() @Inject(MEMORY_TELEMETRY) readonly telemetry: MemoryTelemetry = NOOP_MEMORY_TELEMETRY,
  ) {}

  async process(jobs: readonly EmbeddingJob[]): Promise<void> {
    await this.telemetry.continueTrace(
      'embedding.jobs',
      jobs.map((job) => job.trace),
      () => this.run(jobs),
    );
  }

  @Observed('embedding_batch', (jobs: readonly EmbeddingJob[]) => jobs.length)
  async run(jobs: readonly EmbeddingJob[]): Promise<PipelineBatchResult> {
    // One read per tenant for the whole batch (a read by ids needs only the tenant), not one per job.
    const byTenant = new Map<string, EmbeddingJob[]>();
    for (const job of jobs) appendTo(byTenant, job.tenantId, job);
    const live: Array<{ job: EmbeddingJob; content: string }> = [];
    for (const tenantJobs of byTenant.values()) {
      const { tenantId } = tenantJobs[0];
      const memories = await this.provider.getMany(
        { tenantId },
        tenantJobs.map((job) => job.memoryId),
      );
      const current = new Map(memories.map((memory) => [memory.id, memory]));
      for (const job of tenantJobs) {
        const memory = current.get(job.memoryId);
        if (memory && memory.contentHash === job.contentHash) live.push({ job, content: memory.content });
      }
    }
    let skipped = jobs.length - live.length;
    if (live.length === 0) return { written: 0, skipped };

    const vectors = await this.embedder.embed(live.map((entry) => entry.content));
    // One write per tenant for the whole batch; each vector is still checked against its memory's content hash.
    const writes = new Map<TenantId, EmbeddingWrite[]>();
    live.forEach(({ job }, i) => {
      const embedding = {
        vector: vectors[i],
        model: this.embedder.model,
        dimensions: this.embedder.dimensions,
        contentHash: job.contentHash,
      };
      appendTo(writes, job.tenantId, { id: job.memoryId, embedding });
    });
    let written = 0;
    for (const [tenantId, tenantWrites] of writes) {
      const results = await this.provider.setEmbeddings({ tenantId }, tenantWrites);
      written += results.filter((result) => result === 'written').length;
    }
    skipped += live.length - written;
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

function appendTo<K, V>(groups: Map<K, V[]>, key: K, value: V): void {
  const group = groups.get(key);
  if (group) group.push(value);
  else groups.set(key, [value]);
}
