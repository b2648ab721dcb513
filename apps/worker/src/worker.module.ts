import { Module, type DynamicModule } from '@nestjs/common';
import type { EngramConfig } from '@engram/config';
import { EngramRuntimeModule } from '@engram/runtime';
import { TelemetryModule } from '@engram/telemetry';
import { loadEdition } from './edition.js';
import { WORKER_METRICS_OPTIONS, WorkerMetricsServer } from './metrics.server.js';

/**
 * A worker process: the runtime with its workers on (embedding pipeline and reconciler), no API; /metrics and
 * /health on METRICS_PORT when set.
 * Any number of them share the queue in Redis.
 */
@Module({})
export class WorkerModule {
  static async forRoot(config: EngramConfig): Promise<DynamicModule> {
    const edition = await loadEdition(config);
    return {
      module: WorkerModule,
      imports: [
        EngramRuntimeModule.forRoot({ ...config, runWorkers: true }, edition),
        // Embedding batches traced to the collector; their metrics served on METRICS_PORT when it is set.
        TelemetryModule.forRoot({ otlpEndpoint: config.otlpEndpoint, serviceName: 'engram-worker' }),
        ...edition.modules,
      ],
      providers: [
        { provide: WORKER_METRICS_OPTIONS, useValue: { port: config.metricsPort, host: config.host } },
        WorkerMetricsServer,
      ],
    };
  }
}
