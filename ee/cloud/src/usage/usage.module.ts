/* @license Enterprise */
import {
  Inject,
  Injectable,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import type { EngramConfig } from '@engram/config';
import { CLOCK, MEMORY_TELEMETRY, USAGE_TRACKER, type Clock, type MemoryTelemetry } from '@engram/memory-core';
import { CLOUD_DATABASE, CLOUD_USAGE_TRACKER, TENANT_REPOSITORY, USAGE_STORE } from '../cloud.tokens.js';
import type { CloudDatabase } from '../database/cloud-database.js';
import type { TenantRepository } from '../tenants/tenant.repository.js';
import { CloudUsageTracker } from './cloud.usage-tracker.js';
import { InProcessUsageStore } from './in-process.usage-store.js';
import { RedisUsageStore } from './redis.usage-store.js';
import { TenantUsageRepository } from './tenant-usage.repository.js';
import { AdminUsageController, UsageController } from './usage.controller.js';
import type { StoredQuotas } from './usage-quotas.js';
import type { UsageStore } from './usage.store.js';

/** Snapshots the counters on a timer, and once more at shutdown while the database is still open. */
@Injectable()
class UsageLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(@Inject(CLOUD_USAGE_TRACKER) private readonly usage: CloudUsageTracker) {}

  onApplicationBootstrap(): void {
    this.usage.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.usage.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.usage.close();
  }
}

/**
 * The usage tracker, rebinding the core's USAGE_TRACKER. Its store is Redis when REDIS_URL is set, which is what makes
 * the limits hold across API processes. Without it the cloud still starts, counting in-process, which is right for a
 * single API process (and the tests) and says so at boot: a deployment of several API processes needs REDIS_URL
 * (it has it anyway for its queue, as WORKER=false requires it).
 */
export function usageProviders(config: EngramConfig): Provider[] {
  const redisUrl = config.redisUrl?.reveal();
  return [
    {
      provide: USAGE_STORE,
      useFactory: (): UsageStore => {
        if (redisUrl) return new RedisUsageStore({ redisUrl });
        new Logger('Usage').warn(
          'REDIS_URL is not set: quotas and rate limits are counted in this process only; several API processes need REDIS_URL',
        );
        return new InProcessUsageStore();
      },
    },
    {
      provide: CLOUD_USAGE_TRACKER,
      useFactory: (
        store: UsageStore,
        db: CloudDatabase,
        tenants: TenantRepository,
        clock: Clock,
        telemetry: MemoryTelemetry | undefined,
      ) =>
        new CloudUsageTracker(
          store,
          new TenantUsageRepository(db.appSql),
          async (tenantId) => ((await tenants.find(tenantId))?.quotas as StoredQuotas | undefined) ?? null,
          clock,
          { onCounted: telemetry && ((tenantId, counter, amount) => telemetry.tenantUsage(tenantId, counter, amount)) },
        ),
      // The app's telemetry (/metrics) when it has some: the per-tenant usage counters.
      inject: [USAGE_STORE, CLOUD_DATABASE, TENANT_REPOSITORY, CLOCK, { token: MEMORY_TELEMETRY, optional: true }],
    },
    { provide: USAGE_TRACKER, useExisting: CLOUD_USAGE_TRACKER },
    UsageLifecycle,
  ];
}

/** `GET /v1/usage` (the tenant's own) and `GET /v1/admin/tenants/{id}/usage` (the operator's). */
@Module({ controllers: [UsageController, AdminUsageController] })
export class UsageModule {}
