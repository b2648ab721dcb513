import { Controller, Delete, Get, HttpCode, Inject, Patch, Post, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { MemoryService, RequireScopes, TENANT_PROVIDER, parseFilter, type TenantProvider } from '@engram/memory-core';
import type { FastifyReply } from 'fastify';
import { ApiJsonBody, ValidBody, ValidParam, ValidQuery } from '@engram/http';
import { InferenceService } from '@engram/inference';
import {
  addMemorySchema,
  batchAddSchema,
  deleteByScopeQuerySchema,
  historyQuerySchema,
  listQuerySchema,
  memoryIdSchema,
  searchSchema,
  updateMemorySchema,
  waitQuerySchema,
  type AddMemoryBody,
  type ListQuery,
  type SearchBody,
  type UpdateMemoryBody,
} from './dto/memory.dto.js';
import { presentInferenceEvent } from './inference-event.presenter.js';
import {
  inferenceDefaultsOf,
  messagesOf,
  newMemoryOf,
  patchOf,
  scopeOf,
  searchRequestOf,
} from './memory-input.mapper.js';
import { presentHistory, presentMemory } from './memory.presenter.js';

const ACTOR = 'api';

@ApiTags('memories')
@Controller('v1/memories')
export class MemoriesController {
  constructor(
    private readonly memories: MemoryService,
    private readonly inference: InferenceService,
    @Inject(TENANT_PROVIDER) private readonly tenants: TenantProvider,
  ) {}

  @Post()
  @RequireScopes('memories:write')
  @ApiJsonBody(addMemorySchema)
  @ApiOperation({
    summary:
      'Add a memory (202 pending; 201 once searchable with ?wait=true). With infer: true, 202 {event} to poll at ' +
      'GET /v1/events/{id} (200 {event} once done with ?wait=true)',
  })
  async add(
    @ValidBody(addMemorySchema) body: AddMemoryBody,
    @ValidQuery(waitQuerySchema) query: { wait: boolean },
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const scope = scopeOf(this.tenants.currentTenant(), body);
    if (body.infer === true) {
      const event = await this.inference.submit(scope, messagesOf(body), {
        actor: ACTOR,
        defaults: inferenceDefaultsOf(body),
        wait: query.wait,
      });
      void reply.status(event.status === 'pending' || event.status === 'running' ? 202 : 200);
      return { event: presentInferenceEvent(event) };
    }
    const memory = await this.memories.add(scope, newMemoryOf(body), { wait: query.wait, actor: ACTOR });
    void reply.status(memory.status === 'ready' ? 201 : 202);
    return { memory: presentMemory(memory) };
  }

  @Post('batch')
  @RequireScopes('memories:write')
  @ApiJsonBody(batchAddSchema)
  @ApiOperation({ summary: 'Add up to 1000 memories' })
  async addBatch(
    @ValidBody(batchAddSchema) body: { memories: AddMemoryBody[] },
    @ValidQuery(waitQuerySchema) query: { wait: boolean },
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const tenantId = this.tenants.currentTenant();
    const memories = await this.memories.addMany(
      body.memories.map((item) => ({ scope: scopeOf(tenantId, item), memory: newMemoryOf(item) })),
      { wait: query.wait, actor: ACTOR },
    );
    void reply.status(memories.every((m) => m.status === 'ready') ? 201 : 202);
    return { memories: memories.map(presentMemory) };
  }

  @Post('search')
  @RequireScopes('memories:read')
  @ApiJsonBody(searchSchema)
  @HttpCode(200)
  @ApiOperation({ summary: 'Search memories (hybrid, vector or keyword)' })
  async search(@ValidBody(searchSchema) body: SearchBody) {
    const results = await this.memories.search(scopeOf(this.tenants.currentTenant(), body), searchRequestOf(body));
    return { results: results.map((r) => ({ memory: presentMemory(r.memory), score: r.score })) };
  }

  @Get()
  @RequireScopes('memories:read')
  @ApiOperation({ summary: 'List memories of a scope, newest first, with a cursor' })
  async list(@ValidQuery(listQuerySchema) query: ListQuery) {
    const page = await this.memories.list(scopeOf(this.tenants.currentTenant(), query), {
      limit: query.limit,
      cursor: query.cursor,
      filter: query.filters === undefined ? undefined : parseFilter(query.filters),
    });
    return { memories: page.items.map(presentMemory), next_cursor: page.nextCursor };
  }

  @Delete()
  @RequireScopes('memories:write')
  @ApiOperation({ summary: 'Delete every memory of a scope' })
  async deleteAll(@ValidQuery(deleteByScopeQuerySchema) query: Record<string, string | undefined>) {
    const deleted = await this.memories.deleteAll(scopeOf(this.tenants.currentTenant(), query), ACTOR);
    return { deleted };
  }

  @Get(':id')
  @RequireScopes('memories:read')
  async get(@ValidParam('id', memoryIdSchema) id: string) {
    const memory = await this.memories.get({ tenantId: this.tenants.currentTenant() }, id);
    return { memory: presentMemory(memory) };
  }

  @Patch(':id')
  @RequireScopes('memories:write')
  @ApiJsonBody(updateMemorySchema)
  async update(
    @ValidParam('id', memoryIdSchema) id: string,
    @ValidBody(updateMemorySchema) body: UpdateMemoryBody,
    @ValidQuery(waitQuerySchema) query: { wait: boolean },
  ) {
    const memory = await this.memories.update({ tenantId: this.tenants.currentTenant() }, id, patchOf(body), {
      wait: query.wait,
      actor: ACTOR,
    });
    return { memory: presentMemory(memory) };
  }

  @Delete(':id')
  @RequireScopes('memories:write')
  async delete(@ValidParam('id', memoryIdSchema) id: string) {
    await this.memories.delete({ tenantId: this.tenants.currentTenant() }, id, ACTOR);
    return { deleted: true };
  }

  @Get(':id/history')
  @RequireScopes('memories:read')
  @ApiOperation({ summary: "A memory's history; with user_id, agent_id, run_id or namespace, only if it is theirs" })
  async history(
    @ValidParam('id', memoryIdSchema) id: string,
    @ValidQuery(historyQuerySchema) query: Record<string, string | undefined>,
  ) {
    const history = await this.memories.history(scopeOf(this.tenants.currentTenant(), query), id);
    return { history: history.map(presentHistory) };
  }
}
