import { Module } from '@nestjs/common';
import { SourcesController } from './sources.controller.js';

/** `GET /v1/sources`: the declared sources come from the runtime (MEMORY_SOURCES, read from MEMORY_SOURCES_FILE). */
@Module({ controllers: [SourcesController] })
export class SourcesModule {}
