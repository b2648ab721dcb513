import { Global, Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { EMBEDDING_QUEUE, MEMORY_TELEMETRY, type EmbeddingQueue } from '@engram/memory-core';
import { SQL_INSTRUMENTATION } from '@engram/memory-postgres';
import { ObservedSqlInstrumentation } from './database/observed.sql-instrumentation.js';
import { EngramMetrics } from './metrics/engram-metrics.js';
import { ObservedMemoryTelemetry } from './metrics/observed.memory-telemetry.js';
import { Tracing } from './tracing/tracing.js';

export interface TelemetryModuleOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT; tracing is off without it. */
  otlpEndpoint?: string;
  /** `service.name` on the spans. */
  serviceName: string;
}

/** Sends the spans still buffered when the app closes. */
@Injectable()
class TracingShutdown implements OnApplicationShutdown {
  constructor(@Inject(Tracing) private readonly tracing: Tracing) {}

  async onApplicationShutdown(): Promise<void> {
    await this.tracing.shutdown();
  }
}

/**
 * Metrics and tracing for an app (API or worker). Global, so that the core's services, built in the runtime module,
 * find `MEMORY_TELEMETRY` here, and the Postgres backend `SQL_INSTRUMENTATION`; they fall back to the no-op observer,
 * and to uninstrumented SQL, where this module is not imported.
 */
@Global()
@Module({})
export class TelemetryModule {
  static forRoot(options: TelemetryModuleOptions): DynamicModule {
    return {
      module: TelemetryModule,
      global: true,
      providers: [
        {
          provide: Tracing,
          useFactory: () => Tracing.start({ endpoint: options.otlpEndpoint, serviceName: options.serviceName }),
        },
        {
          provide: EngramMetrics,
          useFactory: (queue: EmbeddingQueue) => {
            const metrics = new EngramMetrics();
            metrics.watchQueueDepth(queue);
            return metrics;
          },
          inject: [EMBEDDING_QUEUE],
        },
        {
          provide: MEMORY_TELEMETRY,
          useFactory: (metrics: EngramMetrics, tracing: Tracing) => new ObservedMemoryTelemetry(metrics, tracing),
          inject: [EngramMetrics, Tracing],
        },
        {
          provide: SQL_INSTRUMENTATION,
          useFactory: (metrics: EngramMetrics, tracing: Tracing) => new ObservedSqlInstrumentation(metrics, tracing),
          inject: [EngramMetrics, Tracing],
        },
        TracingShutdown,
      ],
      exports: [Tracing, EngramMetrics, MEMORY_TELEMETRY, SQL_INSTRUMENTATION],
    };
  }
}
