import { Controller, Get, Inject, UseFilters } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScopes, TENANT_PROVIDER, type TenantProvider } from '@engram/memory-core';
import { ValidParam } from '@engram/http';
import { mem0EventIdSchema } from './dto/mem0.dto.js';
import { Mem0ExceptionFilter } from './mem0-exception.filter.js';
import { Mem0MemoriesService } from './mem0-memories.service.js';
import { presentMem0Event } from './mem0.presenter.js';

/** The status of an add that runs in the background, and the key check mem0's clients start with. */
@ApiTags('mem0')
@Controller('mem0')
@UseFilters(Mem0ExceptionFilter)
export class Mem0EventsController {
  constructor(
    private readonly mem0: Mem0MemoriesService,
    @Inject(TENANT_PROVIDER) private readonly tenants: TenantProvider,
  ) {}

  @Get('v1/event/:id')
  @RequireScopes('memories:read')
  @ApiOperation({ summary: 'mem0: the status of an add (SUCCEEDED once its memories are searchable)' })
  async event(@ValidParam('id', mem0EventIdSchema) id: string) {
    return presentMem0Event(await this.mem0.event(this.tenants.currentTenant(), id));
  }

  /** Any valid key of the tenant may check itself: no scope beyond being the tenant's. */
  @Get('v1/ping')
  @RequireScopes()
  @ApiOperation({ summary: 'mem0: check the API key' })
  ping() {
    return {
      status: 'ok',
      message: 'API key is valid',
      org_id: this.tenants.currentTenant(),
      project_id: null,
      user_email: null,
    };
  }
}
