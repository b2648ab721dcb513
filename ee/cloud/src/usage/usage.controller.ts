/* @license Enterprise */
import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { asTenantId, OperatorOnly, RequireScopes, TENANT_PROVIDER, type TenantProvider } from '@engram/memory-core';
import { ApiError, ValidParam, ValidQuery } from '@engram/http';
import { CLOUD_USAGE_TRACKER, TENANT_REPOSITORY } from '../cloud.tokens.js';
import type { TenantRepository } from '../tenants/tenant.repository.js';
import type { CloudUsageTracker } from './cloud.usage-tracker.js';
import { tenantIdSchema, usageQuerySchema, type UsageQuery } from './usage.dto.js';
import { presentUsage } from './usage.presenter.js';

const MONTH_QUERY = { name: 'month', required: false, description: 'YYYY-MM (UTC); default: the current month' };

/** A tenant's own usage, with any of its keys (API.md, "Cloud edition"). */
@ApiTags('usage')
@Controller('v1/usage')
export class UsageController {
  constructor(
    @Inject(CLOUD_USAGE_TRACKER) private readonly usage: CloudUsageTracker,
    @Inject(TENANT_PROVIDER) private readonly tenants: TenantProvider,
  ) {}

  @Get()
  @RequireScopes()
  @ApiQuery(MONTH_QUERY)
  @ApiOperation({ summary: "The calling tenant's usage and quotas for a month" })
  async get(@ValidQuery(usageQuerySchema) query: UsageQuery) {
    const usage = await this.usage.usageOf(this.tenants.currentTenant(), query.month);
    return { usage: presentUsage(usage) };
  }
}

/** Any tenant's usage, for the platform operator. */
@ApiTags('admin')
@OperatorOnly()
@Controller('v1/admin/tenants')
export class AdminUsageController {
  constructor(
    @Inject(CLOUD_USAGE_TRACKER) private readonly usage: CloudUsageTracker,
    @Inject(TENANT_REPOSITORY) private readonly tenants: TenantRepository,
  ) {}

  @Get(':id/usage')
  @ApiQuery(MONTH_QUERY)
  @ApiOperation({ summary: "A tenant's usage and quotas for a month" })
  async get(@ValidParam('id', tenantIdSchema) id: string, @ValidQuery(usageQuerySchema) query: UsageQuery) {
    const tenantId = asTenantId(id);
    if (!(await this.tenants.find(tenantId))) {
      throw new ApiError(404, 'TENANT_NOT_FOUND', `tenant ${id} not found`, { id });
    }
    const usage = await this.usage.usageOf(tenantId, query.month);
    return { usage: presentUsage(usage) };
  }
}
