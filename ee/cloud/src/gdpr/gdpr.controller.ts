/* @license Enterprise */
import { Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { asTenantId, OperatorOnly } from '@engram/memory-core';
import { ApiError, ApiJsonBody, ValidBody, ValidParam } from '@engram/http';
import { tenantIdSchema } from '../admin/admin.dto.js';
import { GDPR_ERASER } from '../cloud.tokens.js';
import { eraseSubjectSchema, type EraseSubjectBody } from './gdpr.dto.js';
import type { CloudGdprService } from './gdpr.service.js';
import { presentReceipt } from './gdpr.presenter.js';

/** The operator's GDPR erase of a data subject (API.md, "Cloud edition"). */
@ApiTags('admin')
@OperatorOnly()
@Controller('v1/admin')
export class GdprController {
  constructor(@Inject(GDPR_ERASER) private readonly gdpr: CloudGdprService) {}

  @Post('tenants/:id/gdpr/erase')
  @HttpCode(200)
  @ApiJsonBody(eraseSubjectSchema)
  @ApiOperation({
    summary: 'Erase a data subject: memories, history, KV entries, cached embeddings and job records; a receipt',
  })
  async eraseSubject(
    @ValidParam('id', tenantIdSchema) id: string,
    @ValidBody(eraseSubjectSchema) body: EraseSubjectBody,
  ) {
    const receipt = await this.gdpr.erase({ kind: 'subject', tenantId: asTenantId(id), userId: body.user_id });
    if (!receipt) throw new ApiError(404, 'TENANT_NOT_FOUND', `tenant ${id} not found`, { id });
    return { receipt: presentReceipt(receipt) };
  }
}
