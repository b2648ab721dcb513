import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  EMBEDDER,
  EMBEDDING_QUEUE,
  MEMORY_PROVIDER,
  Public,
  type Embedder,
  type EmbeddingQueue,
  type MemoryProvider,
} from '@engram/memory-core';
import type { FastifyReply } from 'fastify';

interface DependencyStatus {
  status: 'up' | 'down';
  latency_ms: number;
  error?: string;
  [key: string]: unknown;
}

async function probe(check: () => Promise<Record<string, unknown> | void>): Promise<DependencyStatus> {
  const started = performance.now();
  try {
    const details = (await check()) ?? {};
    return { status: 'up', latency_ms: round(performance.now() - started), ...details };
  } catch (error) {
    return { status: 'down', latency_ms: round(performance.now() - started), error: (error as Error).message };
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;

@ApiTags('operations')
@Public()
@Controller()
export class HealthController {
  constructor(
    @Inject(MEMORY_PROVIDER) private readonly provider: MemoryProvider,
    @Inject(EMBEDDER) private readonly embedder: Embedder,
    @Inject(EMBEDDING_QUEUE) private readonly queue: EmbeddingQueue,
  ) {}

  /** Liveness: the process answers. */
  @Get('health')
  health() {
    return { status: 'ok' };
  }

  /** Readiness: every dependency answers; 503 when one does not. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const dependencies = {
      storage: await probe(async () => {
        const health = await this.provider.health();
        if (!health.ok) throw new Error('storage reports unhealthy');
        return health.details;
      }),
      queue: await probe(async () => ({ depth: await this.queue.depth() })),
      embedder: await probe(async () => ({ model: this.embedder.model, dimensions: this.embedder.dimensions })),
    };
    const ok = Object.values(dependencies).every((d) => d.status === 'up');
    void reply.status(ok ? 200 : 503);
    return { status: ok ? 'ready' : 'not_ready', dependencies };
  }
}
