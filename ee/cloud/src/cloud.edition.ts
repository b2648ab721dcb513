import {
  Inject,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { ConfigException, type EngramConfig } from '@engram/config';
import {
  AUTHENTICATOR,
  CLOCK,
  EMBEDDER,
  MEMORY_PROVIDER,
  TENANT_PROVIDER,
  type Clock,
  type Embedder,
} from '@engram/memory-core';
import { INFERENCE_EVENT_STORE, PostgresInferenceEventStore } from '@engram/inference';
import { PostgresMemoryProvider, SQL_INSTRUMENTATION, type SqlInstrumentation } from '@engram/memory-postgres';
import type { Edition } from '@engram/runtime';
import { AdminController } from './admin/admin.controller.js';
import { auditProviders, CloudAuditModule } from './audit/audit.module.js';
import type { CloudAuditLogger } from './audit/cloud.audit-logger.js';
import { auditCrossings } from './audit/crossing.audit.js';
import { CloudAuthenticator } from './auth/cloud.authenticator.js';
import { KeyUsageRecorder } from './auth/key-usage.recorder.js';
import { SigningSecretCipher } from './auth/signing-secret.cipher.js';
import {
  AUDIT_LOG,
  CLOUD_DATABASE,
  CLOUD_USAGE_TRACKER,
  GDPR_ERASER,
  KEY_USAGE_RECORDER,
  TENANT_REPOSITORY,
  TENANTS_SERVICE,
} from './cloud.tokens.js';
import { ContextTenantProvider, contextTenant } from './context/context-tenant.provider.js';
import { openCloudDatabase, type CloudDatabase } from './database/cloud-database.js';
import { GdprModule, gdprProviders } from './gdpr/gdpr.module.js';
import type { CloudGdprService } from './gdpr/gdpr.service.js';
import { CloudMemoryProvider } from './memory/cloud.memory-provider.js';
import { TenantRepository } from './tenants/tenant.repository.js';
import { TenantsService } from './tenants/tenants.service.js';
import type { CloudUsageTracker } from './usage/cloud.usage-tracker.js';
import { MeteredMemoryProvider } from './usage/metered.memory-provider.js';
import { UsageModule, usageProviders } from './usage/usage.module.js';

/** Writes the keys' last use on a timer, and what is left at shutdown. */
@Injectable()
class CloudLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(@Inject(KEY_USAGE_RECORDER) private readonly keyUsage: KeyUsageRecorder) {}

  onApplicationBootstrap(): void {
    this.keyUsage.start();
  }

  /** Before any shutdown hook: the last uses are written while the database is still open. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.keyUsage.stop();
  }
}

/** The operator's routes; only the API process has them. */
@Module({ controllers: [AdminController] })
class CloudAdminModule {}

/**
 * The cloud edition, as the apps' `edition.ts` loads it: the core's extension points rebound (memory provider and
 * inference events isolated per tenant by row-level security, tenant from the request's API key, API keys and the admin token as
 * the authenticator) plus the operator's routes when the process serves HTTP.
 */
export function cloudEdition(config: EngramConfig, options: { http: boolean }): Edition {
  const databaseUrl = config.databaseUrl?.reveal();
  const adminToken = config.adminToken?.reveal();
  // The configuration refuses these already; checked again so that no code path runs the cloud without them.
  if (!databaseUrl || !adminToken)
    throw new ConfigException('invalid configuration: EDITION=cloud needs DATABASE_URL and ENGRAM_ADMIN_TOKEN');
  // Per-key signing secrets exist only with ENGRAM_SECRETS_KEY: the one key that seals and opens them.
  const secretsKey = config.secretsKey?.reveal();
  const signingSecrets = secretsKey ? SigningSecretCipher.fromConfig(secretsKey) : null;
  return {
    extensions: [
      {
        provide: CLOUD_DATABASE,
        useFactory: (embedder: Embedder, instrumentation?: SqlInstrumentation) =>
          openCloudDatabase({
            databaseUrl,
            databaseAppUrl: config.databaseAppUrl?.reveal(),
            embedderDimensions: embedder.dimensions,
            vectorIndex: config.vectorIndex,
            instrumentation,
          }),
        inject: [EMBEDDER, { token: SQL_INSTRUMENTATION, optional: true }],
      },
      {
        provide: TENANT_REPOSITORY,
        useFactory: (db: CloudDatabase) => new TenantRepository(db.controlSql),
        inject: [CLOUD_DATABASE],
      },
      {
        provide: KEY_USAGE_RECORDER,
        useFactory: (tenants: TenantRepository) => new KeyUsageRecorder(tenants),
        inject: [TENANT_REPOSITORY],
      },
      {
        provide: TENANTS_SERVICE,
        useFactory: (tenants: TenantRepository, gdpr: CloudGdprService, clock: Clock) =>
          new TenantsService(tenants, gdpr, clock, signingSecrets),
        inject: [TENANT_REPOSITORY, GDPR_ERASER, CLOCK],
      },
      {
        provide: MEMORY_PROVIDER,
        useFactory: (
          db: CloudDatabase,
          tenants: TenantRepository,
          clock: Clock,
          usage: CloudUsageTracker,
          audit: CloudAuditLogger,
        ) =>
          new CloudMemoryProvider(
            new MeteredMemoryProvider(
              new PostgresMemoryProvider(db.appSql, {
                clock,
                hnswDimensions: db.hnswDimensions,
                scopeIndex: { maxBytes: config.scopeCache.maxBytes, minRows: config.scopeCache.minMemories },
              }),
              usage,
            ),
            db.appSql,
            {
              currentTenant: contextTenant,
              tenantIds: () => tenants.liveTenantIds(),
              onCrossing: auditCrossings(audit),
            },
          ),
        inject: [CLOUD_DATABASE, TENANT_REPOSITORY, CLOCK, CLOUD_USAGE_TRACKER, AUDIT_LOG],
      },
      {
        // Events in `inference_events` under row-level security: each call as the event's tenant, and the sweep of
        // interrupted events tenant by tenant (no statement outside a tenant sees a row).
        provide: INFERENCE_EVENT_STORE,
        useFactory: (db: CloudDatabase, tenants: TenantRepository) =>
          new PostgresInferenceEventStore(db.appSql, {
            forTenant: (tenantId, fn) => db.appSql.withTenant(tenantId, fn),
            tenantIds: () => tenants.liveTenantIds(),
          }),
        inject: [CLOUD_DATABASE, TENANT_REPOSITORY],
      },
      { provide: TENANT_PROVIDER, useClass: ContextTenantProvider },
      {
        provide: AUTHENTICATOR,
        useFactory: (tenants: TenantRepository, keyUsage: KeyUsageRecorder, clock: Clock, audit: CloudAuditLogger) =>
          new CloudAuthenticator(adminToken, tenants, keyUsage, clock, audit, signingSecrets),
        inject: [TENANT_REPOSITORY, KEY_USAGE_RECORDER, CLOCK, AUDIT_LOG],
      },
      CloudLifecycle,
      ...usageProviders(config),
      ...gdprProviders(config),
      ...auditProviders(),
    ],
    modules: options.http
      ? [{ module: CloudAdminModule }, { module: UsageModule }, { module: GdprModule }, { module: CloudAuditModule }]
      : [],
  };
}
