import { Module, type DynamicModule } from '@nestjs/common';
import type { EngramConfig } from '@engram/config';
import { EngramRuntimeModule } from '@engram/runtime';
import { TelemetryModule } from '@engram/telemetry';
import { loadEdition } from './edition.js';

/**
 * A worker process: the runtime with its workers on (embedding pipeline and reconciler), no HTTP.
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
        // Embedding batches traced to the collector; their metrics are recorded but not served yet (no HTTP here).
        TelemetryModule.forRoot({ otlpEndpoint: config.otlpEndpoint, serviceName: 'engram-worker' }),
        ...edition.modules,
      ],
    };
  }
}
