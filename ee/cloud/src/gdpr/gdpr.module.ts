/* @license Enterprise */
import {
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import type { EngramConfig } from '@engram/config';
import { InferenceService } from '@engram/inference';
import {
  AUDIT_LOGGER,
  CLOCK,
  EMBEDDER,
  EMBEDDING_QUEUE,
  GDPR_SERVICE,
  KEY_VALUE_PROVIDER,
  type AuditLogger,
  type Clock,
  type Embedder,
  type EmbeddingQueue,
  type KeyValueProvider,
} from '@engram/memory-core';
import {
  CLOUD_DATABASE,
  CLOUD_USAGE_TRACKER,
  EMBEDDING_CACHE_PURGER,
  ERASABLE_STORES,
  ERASURE_RESUMER,
  GDPR_ERASER,
  TENANT_REPOSITORY,
} from '../cloud.tokens.js';
import type { CloudDatabase } from '../database/cloud-database.js';
import type { TenantRepository } from '../tenants/tenant.repository.js';
import { EmbeddingCachePurger } from './embedding-cache.purger.js';
import { keyValueErasableStore, type ErasableStore } from './erasable-store.js';
import { erasureAuditTrail } from './erasure-audit.js';
import { ErasureRepository } from './erasure.repository.js';
import { ErasureResumer } from './erasure.resumer.js';
import { GdprController } from './gdpr.controller.js';
import { CloudGdprService, type MemoryCountRelease } from './gdpr.service.js';

/**
 * Every process listens for embedding-cache evictions (each has a cache); the processes that run workers also resume
 * unfinished erases, at boot and then every 30 s.
 */
@Injectable()
class GdprLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(EMBEDDING_CACHE_PURGER) private readonly purger: EmbeddingCachePurger,
    @Inject(ERASURE_RESUMER) private readonly resumer: ErasureResumer | null,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.purger.start();
    this.resumer?.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.resumer?.stop();
    await this.purger.stop();
  }
}

/** The GDPR erase, rebinding the core's GDPR_SERVICE (docs/architecture.md, "GDPR erase"). */
export function gdprProviders(config: EngramConfig): Provider[] {
  return [
    // The stores besides the memories that keep subject data: the key-value memory (step `kv:entries`).
    {
      provide: ERASABLE_STORES,
      useFactory: (kv: KeyValueProvider): ErasableStore[] => [keyValueErasableStore(kv)],
      inject: [KEY_VALUE_PROVIDER],
    },
    {
      provide: EMBEDDING_CACHE_PURGER,
      useFactory: (embedder: Embedder) => new EmbeddingCachePurger(embedder, { redisUrl: config.redisUrl?.reveal() }),
      inject: [EMBEDDER],
    },
    {
      provide: GDPR_ERASER,
      useFactory: (
        db: CloudDatabase,
        tenants: TenantRepository,
        queue: EmbeddingQueue,
        purger: EmbeddingCachePurger,
        stores: ErasableStore[],
        audit: AuditLogger,
        clock: Clock,
        usage: MemoryCountRelease,
        inference: InferenceService,
      ) =>
        new CloudGdprService(
          new ErasureRepository(db.controlSql, db.appSql),
          tenants,
          queue,
          purger,
          stores,
          erasureAuditTrail(audit),
          clock,
          { usage, inferenceJobs: inference },
        ),
      inject: [
        CLOUD_DATABASE,
        TENANT_REPOSITORY,
        EMBEDDING_QUEUE,
        EMBEDDING_CACHE_PURGER,
        ERASABLE_STORES,
        AUDIT_LOGGER,
        CLOCK,
        CLOUD_USAGE_TRACKER,
        InferenceService,
      ],
    },
    { provide: GDPR_SERVICE, useExisting: GDPR_ERASER },
    {
      provide: ERASURE_RESUMER,
      useFactory: (gdpr: CloudGdprService) => (config.runWorkers ? new ErasureResumer(gdpr) : null),
      inject: [GDPR_ERASER],
    },
    GdprLifecycle,
  ];
}

/** `POST /v1/admin/tenants/{id}/gdpr/erase` (the whole tenant's erase is the admin routes' `DELETE`). */
@Module({ controllers: [GdprController] })
export class GdprModule {}
