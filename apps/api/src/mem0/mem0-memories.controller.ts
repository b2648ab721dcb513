import { Controller, Delete, Get, HttpCode, Inject, Post, Put, Req, UseFilters } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScopes, TENANT_PROVIDER, type TenantProvider } from '@engram/memory-core';
import type { FastifyRequest } from 'fastify';
import { ValidBody, ValidParam, ValidQuery } from '@engram/http';
import {
  mem0AddSchema,
  mem0BatchDeleteSchema,
  mem0BatchUpdateSchema,
  mem0DeleteAllQuerySchema,
  mem0ListBodySchema,
  mem0ListQuerySchema,
  mem0MemoryIdSchema,
  mem0PageQuerySchema,
  mem0SearchSchema,
  mem0UpdateSchema,
  type EntityFields,
  type Mem0AddBody,
  type Mem0BatchDeleteBody,
  type Mem0BatchUpdateBody,
  type Mem0ListBody,
  type Mem0ListQuery,
  type Mem0PageQuery,
  type Mem0SearchBody,
  type Mem0UpdateBody,
} from './dto/mem0.dto.js';
import { Mem0ExceptionFilter } from './mem0-exception.filter.js';
import {
  addScopeOf,
  ingestOptionsOf,
  isPaged,
  pageOf,
  patchOf,
  readFilterOf,
  requestUrlOf,
} from './mem0-input.mapper.js';
import { Mem0MemoriesService } from './mem0-memories.service.js';
import {
  presentMem0History,
  presentMem0Memory,
  presentMem0Page,
  presentMem0Queued,
  presentMem0SearchResult,
  presentMem0Results,
} from './mem0.presenter.js';

const DEFAULT_TOP_K = 10;

/**
 * mem0's memory routes (API.md, "mem0-compatible API"), current (v3) and older (v1, v2), under `/mem0`. Each parses
 * mem0's request, makes one call of the adapter (which calls MemoryService) and answers in mem0's shape.
 */
@ApiTags('mem0')
@Controller('mem0')
@UseFilters(Mem0ExceptionFilter)
export class Mem0MemoriesController {
  constructor(
    private readonly mem0: Mem0MemoriesService,
    @Inject(TENANT_PROVIDER) private readonly tenants: TenantProvider,
  ) {}

  @Post('v3/memories/add')
  @HttpCode(200)
  @RequireScopes('memories:write')
  @ApiOperation({ summary: 'mem0: add messages (answers with the event to poll; async_mode false waits)' })
  async add(@ValidBody(mem0AddSchema) body: Mem0AddBody) {
    const event = await this.mem0.add(this.scopeOf(body), body.messages, ingestOptionsOf(body));
    return body.async_mode
      ? presentMem0Queued(event)
      : { ...presentMem0Queued(event), results: presentMem0Results(event) };
  }

  @Post('v1/memories')
  @HttpCode(200)
  @RequireScopes('memories:write')
  @ApiOperation({ summary: 'mem0 (older clients): add messages' })
  async addV1(@ValidBody(mem0AddSchema) body: Mem0AddBody) {
    const event = await this.mem0.add(this.scopeOf(body), body.messages, ingestOptionsOf(body));
    if (body.async_mode) return { results: [presentMem0Queued(event)] };
    const results = presentMem0Results(event);
    return body.output_format === 'v1.0' ? results : { results };
  }

  @Post('v3/memories')
  @HttpCode(200)
  @RequireScopes('memories:read')
  @ApiOperation({ summary: 'mem0: list memories matching filters, by page' })
  async list(
    @ValidBody(mem0ListBodySchema) body: Mem0ListBody,
    @ValidQuery(mem0PageQuerySchema) query: Mem0PageQuery,
    @Req() request: FastifyRequest,
  ) {
    const { page, size } = pageOf(query, body);
    const found = await this.mem0.page(this.tenant(), readFilterOf({ ...body, entities: body }), page, size);
    return presentMem0Page(
      found.items.map((m) => presentMem0Memory(m, body.fields)),
      { number: page, size, total: found.total, url: requestUrlOf(request) },
    );
  }

  @Post('v2/memories')
  @HttpCode(200)
  @RequireScopes('memories:read')
  @ApiOperation({ summary: 'mem0 (older clients): list memories matching filters' })
  async listV2(
    @ValidBody(mem0ListBodySchema) body: Mem0ListBody,
    @ValidQuery(mem0PageQuerySchema) query: Mem0PageQuery,
    @Req() request: FastifyRequest,
  ) {
    const { page, size } = pageOf(query, body);
    const found = await this.mem0.page(this.tenant(), readFilterOf({ ...body, entities: body }), page, size);
    const results = found.items.map((m) => presentMem0Memory(m, body.fields));
    if (isPaged(query, body)) {
      return presentMem0Page(results, { number: page, size, total: found.total, url: requestUrlOf(request) });
    }
    return body.output_format === 'v1.1' ? { results } : results;
  }

  @Get('v1/memories')
  @RequireScopes('memories:read')
  @ApiOperation({ summary: 'mem0 (older clients): list the memories of a user, agent or run' })
  async listV1(@ValidQuery(mem0ListQuerySchema) query: Mem0ListQuery, @Req() request: FastifyRequest) {
    const { page, size } = pageOf(query);
    const found = await this.mem0.page(this.tenant(), readFilterOf({ entities: query }), page, size);
    const results = found.items.map((m) => presentMem0Memory(m));
    if (isPaged(query)) {
      return presentMem0Page(results, { number: page, size, total: found.total, url: requestUrlOf(request) });
    }
    return query.output_format === 'v1.1' ? { results } : results;
  }

  @Post('v3/memories/search')
  @HttpCode(200)
  @RequireScopes('memories:read')
  @ApiOperation({ summary: 'mem0: search memories (filters, top_k, threshold)' })
  async search(@ValidBody(mem0SearchSchema) body: Mem0SearchBody) {
    return { results: await this.searchOf(body) };
  }

  @Post('v2/memories/search')
  @HttpCode(200)
  @RequireScopes('memories:read')
  @ApiOperation({ summary: 'mem0 (older clients): search memories with filters' })
  async searchV2(@ValidBody(mem0SearchSchema) body: Mem0SearchBody) {
    const results = await this.searchOf(body);
    return body.output_format === 'v1.1' ? { results } : results;
  }

  @Post('v1/memories/search')
  @HttpCode(200)
  @RequireScopes('memories:read')
  @ApiOperation({ summary: 'mem0 (older clients): search the memories of a user, agent or run' })
  async searchV1(@ValidBody(mem0SearchSchema) body: Mem0SearchBody) {
    const results = await this.searchOf(body);
    return body.output_format === 'v1.1' ? { results } : results;
  }

  @Get('v1/memories/:id')
  @RequireScopes('memories:read')
  @ApiOperation({ summary: 'mem0: one memory' })
  async get(@ValidParam('id', mem0MemoryIdSchema) id: string) {
    return presentMem0Memory(await this.mem0.get(this.tenant(), id));
  }

  @Put('v1/memories/:id')
  @RequireScopes('memories:write')
  @ApiOperation({ summary: 'mem0: change a memory’s text, metadata or expiry' })
  async update(@ValidParam('id', mem0MemoryIdSchema) id: string, @ValidBody(mem0UpdateSchema) body: Mem0UpdateBody) {
    const memory = await this.mem0.update(this.tenant(), id, patchOf(body));
    return { ...presentMem0Memory(memory), text: memory.content };
  }

  @Delete('v1/memories/:id')
  @RequireScopes('memories:write')
  @ApiOperation({ summary: 'mem0: delete a memory (Engram keeps no chains of superseded memories: no delete_linked)' })
  async delete(@ValidParam('id', mem0MemoryIdSchema) id: string) {
    await this.mem0.delete(this.tenant(), id);
    return { message: 'Memory deleted successfully!' };
  }

  @Delete('v1/memories')
  @RequireScopes('memories:write')
  @ApiOperation({ summary: 'mem0: delete every memory of a user, agent or run' })
  async deleteAll(@ValidQuery(mem0DeleteAllQuerySchema) query: EntityFields) {
    const deleted = await this.mem0.deleteAll(addScopeOf(this.tenant(), query));
    return { message: 'Memories deleted successfully!', deleted };
  }

  @Get('v1/memories/:id/history')
  @RequireScopes('memories:read')
  @ApiOperation({ summary: 'mem0: the history of a memory (ADD / UPDATE / DELETE)' })
  async history(@ValidParam('id', mem0MemoryIdSchema) id: string) {
    return (await this.mem0.history(this.tenant(), id)).map(presentMem0History);
  }

  @Put('v1/batch')
  @RequireScopes('memories:write')
  @ApiOperation({ summary: 'mem0: change the text of up to 1000 memories' })
  async batchUpdate(@ValidBody(mem0BatchUpdateSchema) body: Mem0BatchUpdateBody) {
    const updated = await this.mem0.batchUpdate(
      this.tenant(),
      body.memories.map((m) => ({ id: m.memory_id, content: m.text })),
    );
    return { message: `Successfully updated ${updated} memories` };
  }

  @Delete('v1/batch')
  @RequireScopes('memories:write')
  @ApiOperation({ summary: 'mem0: delete up to 1000 memories' })
  async batchDelete(@ValidBody(mem0BatchDeleteSchema) body: Mem0BatchDeleteBody) {
    const deleted = await this.mem0.batchDelete(
      this.tenant(),
      body.memories.map((m) => m.memory_id),
    );
    return { message: `Successfully deleted ${deleted} memories` };
  }

  private async searchOf(body: Mem0SearchBody) {
    const found = await this.mem0.search(this.tenant(), readFilterOf({ ...body, entities: body }), {
      query: body.query,
      limit: body.top_k ?? body.limit ?? DEFAULT_TOP_K,
      threshold: body.threshold,
    });
    return found.map((result) => presentMem0SearchResult(result, body.fields));
  }

  private scopeOf(body: EntityFields) {
    return addScopeOf(this.tenant(), body);
  }

  private tenant() {
    return this.tenants.currentTenant();
  }
}
