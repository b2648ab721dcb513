import { Controller, Delete, Get, Inject, Req, UseFilters } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { MemoryException, RequireScopes, TENANT_PROVIDER, type TenantProvider } from '@engram/memory-core';
import type { FastifyRequest } from 'fastify';
import { ValidParam, ValidQuery } from '@engram/http';
import {
  mem0EntitiesQuerySchema,
  mem0EntityNameSchema,
  mem0EntityTypeSchema,
  type Mem0EntitiesQuery,
  type Mem0EntityType,
} from './dto/mem0.dto.js';
import { Mem0ExceptionFilter } from './mem0-exception.filter.js';
import { pageOf, requestUrlOf } from './mem0-input.mapper.js';
import { Mem0MemoriesService } from './mem0-memories.service.js';
import { presentMem0Entity, presentMem0Page } from './mem0.presenter.js';

/** mem0's entities: the users, agents and runs that hold memories (`users()`, `deleteUsers()`). */
@ApiTags('mem0')
@Controller('mem0')
@UseFilters(Mem0ExceptionFilter)
export class Mem0EntitiesController {
  constructor(
    private readonly mem0: Mem0MemoriesService,
    @Inject(TENANT_PROVIDER) private readonly tenants: TenantProvider,
  ) {}

  @Get('v1/entities')
  @RequireScopes('memories:read')
  @ApiOperation({ summary: 'mem0: the users, agents and runs that hold memories' })
  async list(@ValidQuery(mem0EntitiesQuerySchema) query: Mem0EntitiesQuery, @Req() request: FastifyRequest) {
    const tenantId = this.tenants.currentTenant();
    const { page, size } = pageOf(query);
    const owners = await this.mem0.owners(tenantId, page, size);
    return presentMem0Page(
      owners.items.map((owner) => presentMem0Entity(owner, tenantId)),
      { number: page, size, total: owners.total, url: requestUrlOf(request) },
    );
  }

  @Delete('v2/entities/:type/:name')
  @RequireScopes('memories:write')
  @ApiOperation({ summary: 'mem0: delete a user, agent or run with all its memories' })
  async delete(
    @ValidParam('type', mem0EntityTypeSchema) type: Mem0EntityType,
    @ValidParam('name', mem0EntityNameSchema) name: string,
  ) {
    if (type === 'app') {
      // An app is a namespace here, and Engram deletes only whole users, agents or runs.
      throw MemoryException.validation('an app cannot be deleted on its own; delete its users, agents or runs');
    }
    const deleted = await this.mem0.deleteOwner(this.tenants.currentTenant(), type, name);
    return { message: 'Entity deleted successfully.', deleted };
  }
}
