/* @license Enterprise */
import type { Readable } from 'node:stream';
import { Controller, Get, Inject, StreamableFile } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import { asTenantId, OperatorOnly, RequireScopes, TENANT_PROVIDER, type TenantProvider } from '@engram/memory-core';
import { ApiError, ValidParam, ValidQuery } from '@engram/http';
import { tenantIdSchema } from '../admin/admin.dto.js';
import { AUDIT_SERVICE } from '../cloud.tokens.js';
import { AUDIT_EXPORT_CONTENT_TYPES, AUDIT_EXPORT_FORMATS } from './audit-export.js';
import { auditExportQuerySchema, type AuditExportQuery } from './audit.dto.js';
import { presentVerification } from './audit.presenter.js';
import type { AuditService } from './audit.service.js';

const EXPORT_QUERIES = [
  { name: 'from', required: false, description: 'ISO-8601 date or date-time, inclusive; default: the first event' },
  { name: 'to', required: false, description: 'ISO-8601 date or date-time, exclusive; default: now' },
  { name: 'format', required: false, enum: AUDIT_EXPORT_FORMATS, description: 'default: jsonl' },
];

/** A tenant's own audit log, with a key that has the scope `audit:read` (API.md, "Cloud edition"). */
@ApiTags('audit')
@Controller('v1/audit')
export class AuditController {
  constructor(
    @Inject(AUDIT_SERVICE) private readonly audit: AuditService,
    @Inject(TENANT_PROVIDER) private readonly tenants: TenantProvider,
  ) {}

  @Get('export')
  @RequireScopes('audit:read')
  @ApiQuery(EXPORT_QUERIES[0])
  @ApiQuery(EXPORT_QUERIES[1])
  @ApiQuery(EXPORT_QUERIES[2])
  @ApiProduces(...Object.values(AUDIT_EXPORT_CONTENT_TYPES))
  @ApiOperation({ summary: "Export the calling tenant's audit log (streamed JSONL or CSV)" })
  async export(@ValidQuery(auditExportQuerySchema) query: AuditExportQuery) {
    const tenantId = this.tenants.currentTenant();
    return streamed(await this.audit.export(tenantId, query, query.format), query);
  }
}

/** Any tenant's audit log, for the platform operator: export and verification. */
@ApiTags('admin')
@OperatorOnly()
@Controller('v1/admin/tenants')
export class AdminAuditController {
  constructor(@Inject(AUDIT_SERVICE) private readonly audit: AuditService) {}

  @Get(':id/audit/export')
  @ApiQuery(EXPORT_QUERIES[0])
  @ApiQuery(EXPORT_QUERIES[1])
  @ApiQuery(EXPORT_QUERIES[2])
  @ApiProduces(...Object.values(AUDIT_EXPORT_CONTENT_TYPES))
  @ApiOperation({ summary: "Export a tenant's audit log (streamed JSONL or CSV; a deleted tenant's too)" })
  async export(
    @ValidParam('id', tenantIdSchema) id: string,
    @ValidQuery(auditExportQuerySchema) query: AuditExportQuery,
  ) {
    const tenantId = asTenantId(id);
    if (!(await this.audit.tenantKnown(tenantId))) throw tenantNotFound(id);
    return streamed(await this.audit.export(tenantId, query, query.format), query);
  }

  @Get(':id/audit/verify')
  @ApiOperation({ summary: "Verify a tenant's audit hash chain; names the first event that does not verify" })
  async verify(@ValidParam('id', tenantIdSchema) id: string) {
    const tenantId = asTenantId(id);
    if (!(await this.audit.tenantKnown(tenantId))) throw tenantNotFound(id);
    return presentVerification(await this.audit.verify(tenantId));
  }
}

function tenantNotFound(id: string): ApiError {
  return new ApiError(404, 'TENANT_NOT_FOUND', `tenant ${id} not found`, { id });
}

function streamed(stream: Readable, query: AuditExportQuery): StreamableFile {
  return new StreamableFile(stream, {
    type: AUDIT_EXPORT_CONTENT_TYPES[query.format],
    disposition: `attachment; filename="audit.${query.format}"`,
  });
}
