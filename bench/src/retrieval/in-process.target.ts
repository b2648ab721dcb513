import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import type { EngramConfig } from '@engram/config';
import {
  EMBEDDER,
  LIST_LIMIT_MAX,
  MEMORY_PROVIDER,
  MemoryService,
  TENANT_PROVIDER,
  type Embedder,
  type Memory,
  type MemoryProvider,
  type MemoryScope,
  type SearchMode,
  type TenantId,
  type TenantProvider,
} from '@engram/memory-core';
import { EngramRuntimeModule } from '@engram/runtime';
import {
  diaIdOf,
  type BenchMemory,
  type MemoryState,
  type RetrievalTarget,
  type SearchHit,
  type TargetDescription,
} from './retrieval-target.js';

/**
 * The real service in this process: a Nest application context of the same composition root the API and the
 * worker use, so the configured provider, embedder and embedding queue (with its in-process workers) are the
 * ones a server would run. Calls go through MemoryService, the facade every entry point uses.
 */
export class InProcessTarget implements RetrievalTarget {
  private constructor(
    private readonly app: INestApplicationContext,
    private readonly memories: MemoryService,
    private readonly tenantId: TenantId,
    readonly description: TargetDescription,
  ) {}

  static async start(config: EngramConfig): Promise<InProcessTarget> {
    const app = await NestFactory.createApplicationContext(EngramRuntimeModule.forRoot(config), {
      // Nest's bootstrap chatter would interleave with the progress lines; warnings and errors still show.
      logger: config.logLevel === 'silent' ? false : ['error', 'warn'],
    });
    try {
      const provider = app.get<MemoryProvider>(MEMORY_PROVIDER);
      const embedder = app.get<Embedder>(EMBEDDER);
      return new InProcessTarget(
        app,
        app.get(MemoryService),
        app.get<TenantProvider>(TENANT_PROVIDER).currentTenant(),
        {
          service: 'in-process',
          // The class, not just the setting: MEMORY_PROVIDER=postgres falls back to another backend in some builds.
          provider: `${provider.constructor.name} (MEMORY_PROVIDER=${config.memoryProvider})`,
          embedder: `${config.embeddings.provider} (${embedder.model}, ${embedder.dimensions}-d)`,
        },
      );
    } catch (error) {
      await app.close();
      throw error;
    }
  }

  async clear(userId: string): Promise<void> {
    await this.memories.deleteAll(this.scope(userId), 'bench');
  }

  async addBatch(userId: string, memories: readonly BenchMemory[]): Promise<MemoryState[]> {
    const scope = this.scope(userId);
    const added = await this.memories.addMany(
      memories.map((memory) => ({ scope, memory: { content: memory.content, metadata: { ...memory.metadata } } })),
      { wait: true, actor: 'bench' },
    );
    return added.map(stateOf);
  }

  async states(userId: string): Promise<MemoryState[]> {
    const states: MemoryState[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.memories.list(this.scope(userId), { limit: LIST_LIMIT_MAX, cursor });
      states.push(...page.items.map(stateOf));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return states;
  }

  async search(userId: string, query: string, mode: SearchMode, limit: number): Promise<SearchHit[]> {
    const results = await this.memories.search(this.scope(userId), { query, mode, limit });
    return results.map(({ memory, score }) => ({ diaId: diaIdOf(memory.metadata), score }));
  }

  async close(): Promise<void> {
    // Runs the runtime's shutdown hooks: stops the queue, closes the provider and frees the model.
    await this.app.close();
  }

  private scope(userId: string): MemoryScope {
    return { tenantId: this.tenantId, userId };
  }
}

function stateOf(memory: Memory): MemoryState {
  return { id: memory.id, status: memory.status, failureReason: memory.failureReason };
}
