import { Controller, Delete, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { asTenantId, OperatorOnly } from '@engram/memory-core';
import { ApiError, ApiJsonBody, ValidBody, ValidParam } from '@engram/http';
import { TENANTS_SERVICE } from '../cloud.tokens.js';
import type { TenantsService } from '../tenants/tenants.service.js';
import {
  apiKeyIdSchema,
  createApiKeySchema,
  createTenantSchema,
  tenantIdSchema,
  type CreateApiKeyBody,
  type CreateTenantBody,
} from './admin.dto.js';
import { presentApiKey, presentErasure, presentTenant } from './admin.presenter.js';

const tenantNotFound = (id: string) => new ApiError(404, 'TENANT_NOT_FOUND', `tenant ${id} not found`, { id });

/** The platform operator's routes (API.md, "Cloud edition"): the admin token only. */
@ApiTags('admin')
@OperatorOnly()
@Controller('v1/admin')
export class AdminController {
  constructor(@Inject(TENANTS_SERVICE) private readonly tenants: TenantsService) {}

  @Post('tenants')
  @HttpCode(201)
  @ApiJsonBody(createTenantSchema)
  @ApiOperation({ summary: 'Create a tenant' })
  async createTenant(@ValidBody(createTenantSchema) body: CreateTenantBody) {
    const tenant = await this.tenants.create(body.name, {
      maxMemories: body.quotas?.max_memories,
      maxRequestsPerMonth: body.quotas?.max_requests_per_month,
      requestsPerMinute: body.quotas?.requests_per_minute,
    });
    return { tenant: presentTenant(tenant) };
  }

  @Get('tenants/:id')
  async getTenant(@ValidParam('id', tenantIdSchema) id: string) {
    const tenant = await this.tenants.get(asTenantId(id));
    if (!tenant) throw tenantNotFound(id);
    return { tenant: presentTenant(tenant) };
  }

  @Delete('tenants/:id')
  @ApiOperation({ summary: 'Erase a tenant: its memories, their history and its keys' })
  async deleteTenant(@ValidParam('id', tenantIdSchema) id: string) {
    const erasure = await this.tenants.erase(asTenantId(id));
    if (!erasure) throw tenantNotFound(id);
    return { receipt: presentErasure(erasure) };
  }

  @Post('tenants/:id/api-keys')
  @HttpCode(201)
  @ApiJsonBody(createApiKeySchema)
  @ApiOperation({ summary: 'Issue an API key (its secret is shown only in this response)' })
  async createApiKey(
    @ValidParam('id', tenantIdSchema) id: string,
    @ValidBody(createApiKeySchema) body: CreateApiKeyBody,
  ) {
    const issued = await this.tenants.issueKey(asTenantId(id), {
      name: body.name,
      scopes: body.scopes,
      expiresAt: body.expires_at ? new Date(body.expires_at) : null,
    });
    if (!issued) throw tenantNotFound(id);
    return { api_key: presentApiKey(issued.record), key: issued.key };
  }

  @Delete('api-keys/:id')
  @ApiOperation({ summary: 'Revoke an API key' })
  async revokeApiKey(@ValidParam('id', apiKeyIdSchema) id: string) {
    if (!(await this.tenants.revokeKey(id)))
      throw new ApiError(404, 'API_KEY_NOT_FOUND', `API key ${id} not found`, { id });
    return { revoked: true };
  }
}
