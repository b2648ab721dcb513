import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import type { EngramConfig } from '@engram/config';
import { EngramRuntimeModule } from '@engram/runtime';
import { TelemetryModule } from '@engram/telemetry';
import { ApiExceptionFilter } from './common/filters/api-exception.filter.js';
import { AuthGuard, signatureReplayGuardProviders } from './common/guards/auth.guard.js';
import { UsageGuard } from './common/guards/usage.guard.js';
import { RequestContextInterceptor } from './common/interceptors/request-context.interceptor.js';
import { loadEdition } from './edition.js';
import { HealthController } from './health/health.controller.js';
import { KvModule } from './kv/kv.module.js';
import { McpModule } from './mcp/mcp.module.js';
import { Mem0Module } from './mem0/mem0.module.js';
import { MemoriesModule } from './memories/memories.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { SourcesModule } from './sources/sources.module.js';

@Module({})
export class AppModule {
  static async forRoot(config: EngramConfig): Promise<DynamicModule> {
    const edition = await loadEdition(config);
    return {
      module: AppModule,
      imports: [
        EngramRuntimeModule.forRoot(config, edition),
        TelemetryModule.forRoot({ otlpEndpoint: config.otlpEndpoint, serviceName: 'engram-api' }),
        MetricsModule.forEdition(config.edition),
        MemoriesModule,
        KvModule,
        McpModule,
        Mem0Module,
        SourcesModule,
        ...edition.modules,
      ],
      controllers: [HealthController],
      providers: [
        // In this order: the usage guard admits the caller the auth guard authenticated.
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: UsageGuard },
        { provide: APP_INTERCEPTOR, useClass: RequestContextInterceptor },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        ...signatureReplayGuardProviders(config),
      ],
    };
  }
}
