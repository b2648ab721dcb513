import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  MemoryException,
  MemoryExceptionCode,
  RequireScopes,
  TENANT_PROVIDER,
  type TenantProvider,
} from '@engram/memory-core';
import { ValidParam } from '@engram/http';
import { InferenceService } from '@engram/inference';
import { eventIdSchema } from './dto/memory.dto.js';
import { presentInferenceEvent } from './inference-event.presenter.js';

/** The status and outcome of an `infer: true` add. */
@ApiTags('memories')
@Controller('v1/events')
export class InferenceEventsController {
  constructor(
    private readonly inference: InferenceService,
    @Inject(TENANT_PROVIDER) private readonly tenants: TenantProvider,
  ) {}

  @Get(':id')
  @RequireScopes('memories:read')
  @ApiOperation({ summary: 'The status of an inference (pending, running, succeeded, failed) and what it did' })
  async get(@ValidParam('id', eventIdSchema) id: string) {
    const event = await this.inference.event(this.tenants.currentTenant(), id);
    if (!event) throw new MemoryException(MemoryExceptionCode.MEMORY_NOT_FOUND, `event ${id} not found`);
    return { event: presentInferenceEvent(event) };
  }
}
