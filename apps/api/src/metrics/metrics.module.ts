import { Module, type DynamicModule } from '@nestjs/common';
import type { EngramConfig } from '@engram/config';
import { MetricsController, OperatorMetricsController } from './metrics.controller.js';

/** `/metrics`, guarded as the edition's operators expect (see the controllers). */
@Module({})
export class MetricsModule {
  static forEdition(edition: EngramConfig['edition']): DynamicModule {
    return {
      module: MetricsModule,
      controllers: [edition === 'cloud' ? OperatorMetricsController : MetricsController],
    };
  }
}
