import { Module } from '@nestjs/common';
import { InferenceEventsController } from './inference-events.controller.js';
import { MemoriesController } from './memories.controller.js';

@Module({ controllers: [MemoriesController, InferenceEventsController] })
export class MemoriesModule {}
