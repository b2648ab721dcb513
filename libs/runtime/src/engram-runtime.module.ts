import {
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type InjectionToken,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { ENGRAM_CONFIG, type EngramConfig } from '@engram/config';
import { createEmbedder } from '@engram/embeddings';
import {
  AccessRecorder,
  AUDIT_LOGGER,
  AUTHENTICATOR,
  CLOCK,
  EMBEDDER,
  EMBEDDING_QUEUE,
  EmbeddingPipeline,
  EmbeddingReconciler,
  ExpiredMemoryPurger,
  FixedTenantProvider,
  GDPR_SERVICE,
  KEY_VALUE_PROVIDER,
  loadMemorySources,
  MEMORY_PROVIDER,
  MEMORY_SOURCES,
  MemoryGdprService,
  MemoryService,
  NoopAuditLogger,
  StaticKeyAuthenticator,
  TENANT_PROVIDER,
  USAGE_TRACKER,
  UnlimitedUsageTracker,
  systemClock,
  type Clock,
  type Embedder,
  type EmbeddingQueue,
  type MemoryProvider,
} from '@engram/memory-core';
import {
  createInferenceEngine,
  INFERENCE_ENGINE,
  INFERENCE_EVENT_STORE,
  INFERENCE_QUEUE,
  InferenceService,
  InMemoryInferenceEventStore,
  PostgresInferenceEventStore,
  type InferenceEventStore,
  type InferenceJob,
} from '@engram/inference';
import { PostgresMemoryProvider, SQL_INSTRUMENTATION, type SqlInstrumentation } from '@engram/memory-postgres';
import {
  BullMqEmbeddingQueue,
  BullMqJobQueue,
  INFERENCE_QUEUE_NAME,
  InProcessEmbeddingQueue,
  InProcessJobQueue,
  type JobQueue,
} from '@engram/queue';
import { OSS_EDITION, type Edition } from './edition.js';
import { keyValueProviders } from './key-value.providers.js';
import { createMemoryProvider } from './memory-provider.factory.js';

/**
 * Starts the access-count flush, and the embedding pipeline when this process runs workers; closes what the
 * runtime opened (the last access counts are written before the provider closes).
 */
@Injectable()
class RuntimeLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(ENGRAM_CONFIG) private readonly config: EngramConfig,
    @Inject(EMBEDDING_QUEUE) private readonly queue: EmbeddingQueue,
    @Inject(MEMORY_PROVIDER) private readonly provider: MemoryProvider,
    @Inject(EMBEDDER) private readonly embedder: Embedder,
    private readonly pipeline: EmbeddingPipeline,
    private readonly reconciler: EmbeddingReconciler,
    private readonly purger: ExpiredMemoryPurger,
    private readonly accesses: AccessRecorder,
    private readonly inference: InferenceService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.accesses.start();
    if (!this.config.runWorkers) return;
    this.queue.start(this.pipeline);
    this.reconciler.start();
    this.purger.start();
    // The embedded database belongs to this process alone: whatever it left unfinished died with its previous run,
    // so it is resumed at once rather than after the delay that spares other live processes' work.
    this.inference.startWorker({ resumeAtBootAfterMs: this.config.databaseUrl ? undefined : 0 });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.inference.onApplicationShutdown();
    await this.reconciler.stop();
    await this.purger.stop();
    await this.accesses.stop();
    await this.queue.close();
    await this.provider.close();
    await this.embedder.close?.();
  }
}

/**
 * The composition root shared by the API and the worker: builds the provider, embedder and queue
 * that the configuration names, and binds every extension point to its OSS default, then to the
 * edition's replacements (each app's `src/edition.ts` chooses the edition).
 */
@Module({})
export class EngramRuntimeModule {
  static forRoot(config: EngramConfig, edition: Edition = OSS_EDITION): DynamicModule {
    return {
      module: EngramRuntimeModule,
      global: true,
      providers: [
        { provide: ENGRAM_CONFIG, useValue: config },
        { provide: CLOCK, useValue: systemClock },
        { provide: EMBEDDER, useFactory: () => createEmbedder(config.embeddings) },
        {
          provide: MEMORY_PROVIDER,
          useFactory: (clock: Clock, embedder: Embedder, sqlInstrumentation?: SqlInstrumentation) =>
            createMemoryProvider(config, { clock, embedderDimensions: embedder.dimensions, sqlInstrumentation }),
          inject: [CLOCK, EMBEDDER, { token: SQL_INSTRUMENTATION, optional: true }],
        },
        {
          provide: EMBEDDING_QUEUE,
          useFactory: (): EmbeddingQueue =>
            config.redisUrl
              ? new BullMqEmbeddingQueue({ redisUrl: config.redisUrl.reveal() })
              : new InProcessEmbeddingQueue(),
        },
        { provide: TENANT_PROVIDER, useValue: new FixedTenantProvider() },
        { provide: USAGE_TRACKER, useClass: UnlimitedUsageTracker },
        { provide: AUDIT_LOGGER, useClass: NoopAuditLogger },
        { provide: AUTHENTICATOR, useValue: new StaticKeyAuthenticator(config.apiKey?.reveal() ?? null) },
        {
          provide: GDPR_SERVICE,
          useFactory: (provider: MemoryProvider) => new MemoryGdprService(provider),
          inject: [MEMORY_PROVIDER],
        },
        {
          provide: INFERENCE_ENGINE,
          useFactory: () => createInferenceEngine(config.llm && { ...config.llm, apiKey: config.llm.apiKey?.reveal() }),
        },
        {
          provide: INFERENCE_EVENT_STORE,
          useFactory: (provider: MemoryProvider) => inferenceEventStoreOf(provider),
          inject: [MEMORY_PROVIDER],
        },
        {
          provide: INFERENCE_QUEUE,
          useFactory: (): JobQueue<InferenceJob> =>
            config.redisUrl
              ? new BullMqJobQueue<InferenceJob>({
                  redisUrl: config.redisUrl.reveal(),
                  queueName: INFERENCE_QUEUE_NAME,
                })
              : new InProcessJobQueue<InferenceJob>(),
        },
        MemoryService,
        InferenceService,
        AccessRecorder,
        EmbeddingPipeline,
        EmbeddingReconciler,
        ExpiredMemoryPurger,
        { provide: MEMORY_SOURCES, useValue: loadMemorySources(config.sourcesFile) },
        RuntimeLifecycle,
        ...keyValueProviders(config),
        ...edition.extensions,
      ],
      exports: [
        ENGRAM_CONFIG,
        CLOCK,
        EMBEDDER,
        MEMORY_PROVIDER,
        KEY_VALUE_PROVIDER,
        EMBEDDING_QUEUE,
        TENANT_PROVIDER,
        USAGE_TRACKER,
        AUDIT_LOGGER,
        AUTHENTICATOR,
        GDPR_SERVICE,
        INFERENCE_ENGINE,
        INFERENCE_EVENT_STORE,
        INFERENCE_QUEUE,
        MemoryService,
        InferenceService,
        AccessRecorder,
        EmbeddingPipeline,
        EmbeddingReconciler,
        ExpiredMemoryPurger,
        MEMORY_SOURCES,
        ...edition.extensions.map(tokenOf),
      ],
    };
  }
}

/**
 * Events go where the memories go: in the Postgres backend's database (server or PGlite), on its own executor, so
 * that they outlive a restart and every API process sees them; in the process's memory with the local provider.
 */
function inferenceEventStoreOf(provider: MemoryProvider): InferenceEventStore {
  return provider instanceof PostgresMemoryProvider
    ? new PostgresInferenceEventStore(provider.sqlExecutor)
    : new InMemoryInferenceEventStore();
}

/** The token a provider registers: the class itself, or the `provide` of a custom provider. */
function tokenOf(provider: Provider): InjectionToken {
  return typeof provider === 'function' ? provider : provider.provide;
}
