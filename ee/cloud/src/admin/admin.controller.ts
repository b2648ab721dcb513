import { Controller, Delete, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { asTenantId, AUDIT_LOGGER, OperatorOnly, type AuditLogger, type TenantId } from '@engram/memory-core';
import { ApiError, ApiJsonBody, ValidBody, ValidParam } from '@engram/http';
import { TENANT_REPOSITORY, TENANTS_SERVICE } from '../cloud.tokens.js';
import { presentReceipt } from '../gdpr/gdpr.presenter.js';
import type { TenantRepository } from '../tenants/tenant.repository.js';
import type { TenantsService } from '../tenants/tenants.service.js';
import {
  apiKeyIdSchema,
  createApiKeySchema,
  createTenantSchema,
  tenantIdSchema,
  type CreateApiKeyBody,
  type CreateTenantBody,
} from './admin.dto.js';
import { presentApiKey, presentTenant } from './admin.presenter.js';

const tenantNotFound = (id: string) => new ApiError(404, 'TENANT_NOT_FOUND', `tenant ${id} not found`, { id });

/**
 * The platform operator's routes (API.md, "Cloud edition"): the admin token only. Each change is an event of the
 * tenant's audit log (a tenant's erase is logged by the erase itself, which its receipt names).
 */
@ApiTags('admin')
@OperatorOnly()
@Controller('v1/admin')
export class AdminController {
  constructor(
    @Inject(TENANTS_SERVICE) private readonly tenants: TenantsService,
    @Inject(TENANT_REPOSITORY) private readonly tenantRecords: TenantRepository,
    @Inject(AUDIT_LOGGER) private readonly audit: AuditLogger,
  ) {}

  @Post('tenants')
  @HttpCode(201)
  @ApiJsonBody(createTenantSchema)
  @ApiOperation({ summary: 'Create a tenant' })
  async createTenant(@ValidBody(createTenantSchema) body: CreateTenantBody) {
    const tenant = await this.tenants.create(body.name, {
      maxMemories: body.quotas?.max_memories,
      maxRequestsPerMonth: body.quotas?.max_requests_per_month,
      requestsPerMinute: body.quotas?.requests_per_minute,
      maxEmbeddingTokensPerMonth: body.quotas?.max_embedding_tokens_per_month,
    });
    await this.logged(tenant.id, 'tenant.create', [tenant.id]);
    return { tenant: presentTenant(tenant) };
  }

  @Get('tenants/:id')
  async getTenant(@ValidParam('id', tenantIdSchema) id: string) {
    const tenant = await this.tenants.get(asTenantId(id));
    if (!tenant) throw tenantNotFound(id);
    return { tenant: presentTenant(tenant) };
  }

  @Delete('tenants/:id')
  @ApiOperation({ summary: 'Erase a tenant: its keys, memories, history, jobs and cached embeddings; a receipt' })
  async deleteTenant(@ValidParam('id', tenantIdSchema) id: string) {
    const receipt = await this.tenants.erase(asTenantId(id));
    if (!receipt) throw tenantNotFound(id);
    return { receipt: presentReceipt(receipt) };
  }

  @Post('tenants/:id/api-keys')
  @HttpCode(201)
  @ApiJsonBody(createApiKeySchema)
  @ApiOperation({
    summary:
      'Issue an API key (its secret, and its signing secret when the deployment has ENGRAM_SECRETS_KEY, are shown only in this response)',
  })
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
    await this.logged(issued.record.tenantId, 'api_key.issue', [issued.record.id]);
    return {
      api_key: presentApiKey(issued.record),
      key: issued.key,
      ...(issued.signingSecret === null ? {} : { signing_secret: issued.signingSecret }),
    };
  }

  @Delete('api-keys/:id')
  @ApiOperation({ summary: 'Revoke an API key' })
  async revokeApiKey(@ValidParam('id', apiKeyIdSchema) id: string) {
    const key = await this.tenantRecords.findKey(id);
    if (!key || !(await this.tenants.revokeKey(id)))
      throw new ApiError(404, 'API_KEY_NOT_FOUND', `API key ${id} not found`, { id });
    await this.logged(key.tenantId, 'api_key.revoke', [id]);
    return { revoked: true };
  }

  /** The operator's change, on the tenant's audit log (the actor is the operator: the request's caller). */
  private logged(tenantId: TenantId, action: string, targetIds: string[]): Promise<void> {
    return this.audit.log({ tenantId, actor: 'operator', action, targetIds, outcome: 'success' });
  }
}
