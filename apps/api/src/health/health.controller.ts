import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  EMBEDDER,
  EMBEDDING_QUEUE,
  KEY_VALUE_PROVIDER,
  MEMORY_PROVIDER,
  Public,
  type Embedder,
  type EmbeddingQueue,
  type KeyValueProvider,
  type MemoryProvider,
} from '@engram/memory-core';
import type { FastifyReply } from 'fastify';
import { DEPENDENCY_RETRY_AFTER_SECONDS } from '../common/filters/api-exception.filter.js';

interface DependencyStatus {
  status: 'up' | 'down';
  latency_ms: number;
  error?: string;
  [key: string]: unknown;
}

/**
 * A dependency that does not answer within this time is down: some clients (BullMQ's connection) wait for Redis to
 * come back rather than fail, and a readiness probe must answer either way.
 */
export const READY_PROBE_TIMEOUT_MS = 2000;

async function probe(check: () => Promise<Record<string, unknown> | void>): Promise<DependencyStatus> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${READY_PROBE_TIMEOUT_MS} ms`)),
      READY_PROBE_TIMEOUT_MS,
    );
  });
  try {
    const details = (await Promise.race([check(), timeout])) ?? {};
    return { status: 'up', latency_ms: round(performance.now() - started), ...details };
  } catch (error) {
    return { status: 'down', latency_ms: round(performance.now() - started), error: (error as Error).message };
  } finally {
    clearTimeout(timer);
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
    @Inject(KEY_VALUE_PROVIDER) private readonly kv: KeyValueProvider,
  ) {}

  /** Liveness: the process answers. */
  @Get('health')
  health() {
    return { status: 'ok' };
  }

  /** Readiness: every dependency answers; 503 when one does not. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    // In parallel, so that one slow dependency costs the probe its own time only.
    const [storage, queue, kv, embedder] = await Promise.all([
      probe(async () => {
        const health = await this.provider.health();
        if (!health.ok) throw new Error('storage reports unhealthy');
        return health.details;
      }),
      probe(async () => ({ depth: await this.queue.depth() })),
      probe(async () => {
        const health = await this.kv.health();
        if (!health.ok) throw new Error(`key-value store reports unhealthy: ${String(health.details?.error ?? '')}`);
        return health.details;
      }),
      probe(async () => ({ model: this.embedder.model, dimensions: this.embedder.dimensions })),
    ]);
    const dependencies = { storage, queue, kv, embedder };
    const ok = Object.values(dependencies).every((d) => d.status === 'up');
    void reply.status(ok ? 200 : 503);
    // Like every other 503 of a dependency that is down: a load balancer or client may come back after this.
    if (!ok) void reply.header('retry-after', String(DEPENDENCY_RETRY_AFTER_SECONDS));
    return { status: ok ? 'ready' : 'not_ready', dependencies };
  }
}
