import { Module } from '@nestjs/common';
import { Mem0EntitiesController } from './mem0-entities.controller.js';
import { Mem0EventsController } from './mem0-events.controller.js';
import { Mem0MemoriesController } from './mem0-memories.controller.js';
import { Mem0MemoriesService } from './mem0-memories.service.js';
import { InferringMessageIngestion, MESSAGE_INGESTION, VerbatimMessageIngestion } from './message-ingestion.js';

/**
 * The mem0-compatible API under `/mem0` (API.md): mem0's official clients work with `host: "http://HOST:PORT/mem0"`.
 * One adapter over MemoryService and the filter parser: no memory logic of its own.
 */
@Module({
  controllers: [Mem0MemoriesController, Mem0EntitiesController, Mem0EventsController],
  providers: [
    Mem0MemoriesService,
    VerbatimMessageIngestion,
    { provide: MESSAGE_INGESTION, useClass: InferringMessageIngestion },
  ],
})
export class Mem0Module {}
