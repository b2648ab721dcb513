import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { EngramConfig } from '@engram/config';
import { EngramRuntimeModule } from '@engram/runtime';
import { ApiExceptionFilter } from './common/filters/api-exception.filter.js';
import { ApiKeyGuard } from './common/guards/api-key.guard.js';
import { editionModules } from './edition.js';
import { HealthController } from './health/health.controller.js';
import { MemoriesModule } from './memories/memories.module.js';

@Module({})
export class AppModule {
  static async forRoot(config: EngramConfig): Promise<DynamicModule> {
    return {
      module: AppModule,
      imports: [EngramRuntimeModule.forRoot(config), MemoriesModule, ...(await editionModules(config))],
      controllers: [HealthController],
      providers: [
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
      ],
    };
  }
}
