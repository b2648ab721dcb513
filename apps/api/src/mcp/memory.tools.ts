import { Inject, Injectable } from '@nestjs/common';
import { MemoryService, TENANT_PROVIDER, parseFilter, type TenantProvider } from '@engram/memory-core';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { newMemoryOf, patchOf, scopeOf, searchRequestOf } from '../memories/memory-input.mapper.js';
import { presentMemory } from '../memories/memory.presenter.js';
import { presentMemorySource } from '../sources/memory-source.presenter.js';
import {
  addMemoryInput,
  deleteMemoryInput,
  deletedOutput,
  getMemoryInput,
  listMemoriesInput,
  listMemorySourcesInput,
  listOutput,
  oneMemoryOutput,
  searchMemoriesInput,
  searchOutput,
  sourcesOutput,
  updateMemoryInput,
  type AddMemoryInput,
  type ListMemoriesInput,
  type SearchMemoriesInput,
  type UpdateMemoryInput,
} from './memory-tool.schemas.js';
import { runTool } from './tool-call.js';

/** The actor recorded in a memory's history and the audit log for writes made through MCP. */
const ACTOR = 'mcp';

/**
 * The memory tools of the MCP server: an adapter over `MemoryService`, as the REST controller is (same input
 * rules, same presentation), with the tenant of the request's key and the scope each tool needs.
 */
@Injectable()
export class MemoryTools {
  constructor(
    private readonly memories: MemoryService,
    @Inject(TENANT_PROVIDER) private readonly tenants: TenantProvider,
  ) {}

  register(server: McpServer): void {
    server.registerTool(
      'add_memory',
      {
        title: 'Remember a fact',
        description:
          'Store a memory: a fact, preference or event worth recalling in later conversations. Give it a scope ' +
          "(user_id for facts about a person, agent_id for the agent's own knowledge, run_id for this session only). " +
          'Store one self-contained statement per call; to correct a memory you already have, use update_memory. ' +
          'Returns the stored memory with its id.',
        inputSchema: addMemoryInput,
        outputSchema: oneMemoryOutput,
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      },
      (input) => runTool('add_memory', 'memories:write', () => this.add(input)),
    );

    server.registerTool(
      'search_memories',
      {
        title: 'Recall memories',
        description:
          'Find the memories most relevant to a question, within a scope (user_id, agent_id and/or run_id), best ' +
          'first with a relevance score. Use it before answering anything that depends on what you were told ' +
          'earlier (preferences, plans, facts about the user). Narrow with filters on metadata, type or dates.',
        inputSchema: searchMemoriesInput,
        outputSchema: searchOutput,
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      (input) => runTool('search_memories', 'memories:read', () => this.search(input)),
    );

    server.registerTool(
      'get_memory',
      {
        title: 'Read a memory',
        description: 'Read one memory by its id.',
        inputSchema: getMemoryInput,
        outputSchema: oneMemoryOutput,
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      ({ id }) => runTool('get_memory', 'memories:read', () => this.get(id)),
    );

    server.registerTool(
      'list_memories',
      {
        title: 'List memories',
        description:
          'List the memories of a scope (user_id, agent_id and/or run_id), newest first, a page at a time: pass ' +
          'next_cursor back as cursor for the next page. Use search_memories to find memories about something.',
        inputSchema: listMemoriesInput,
        outputSchema: listOutput,
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      (input) => runTool('list_memories', 'memories:read', () => this.list(input)),
    );

    server.registerTool(
      'update_memory',
      {
        title: 'Correct a memory',
        description:
          'Change a memory by id: its content (when a fact changed or was wrong; the old content stays in its ' +
          'history) or its metadata, type, importance, confidence, categories or expiry. Returns the memory.',
        inputSchema: updateMemoryInput,
        outputSchema: oneMemoryOutput,
        annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      },
      (input) => runTool('update_memory', 'memories:write', () => this.update(input)),
    );

    server.registerTool(
      'delete_memory',
      {
        title: 'Forget a memory',
        description: 'Delete a memory by id, for good (when it is wrong, obsolete, or the user asks to forget it).',
        inputSchema: deleteMemoryInput,
        outputSchema: deletedOutput,
        annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
      },
      ({ id }) => runTool('delete_memory', 'memories:write', () => this.delete(id)),
    );

    server.registerTool(
      'list_memory_sources',
      {
        title: 'List memory sources',
        description:
          'List the named memory sources (namespaces) this deployment declares: what each holds, how long its ' +
          'memories live by default and its default search mode. Pass a source name as namespace to add_memory, ' +
          'search_memories or list_memories to use it; other namespaces work too, with no expiry and hybrid search.',
        inputSchema: listMemorySourcesInput,
        outputSchema: sourcesOutput,
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      () =>
        runTool('list_memory_sources', 'memories:read', async () => ({
          sources: this.memories.listSources().map(presentMemorySource),
        })),
    );
  }

  private async add(input: AddMemoryInput) {
    const memory = await this.memories.add(scopeOf(this.tenants.currentTenant(), input), newMemoryOf(input), {
      wait: input.wait,
      actor: ACTOR,
    });
    return { memory: presentMemory(memory) };
  }

  private async search(input: SearchMemoriesInput) {
    const results = await this.memories.search(scopeOf(this.tenants.currentTenant(), input), searchRequestOf(input));
    return { results: results.map((r) => ({ memory: presentMemory(r.memory), score: r.score })) };
  }

  private async get(id: string) {
    const memory = await this.memories.get({ tenantId: this.tenants.currentTenant() }, id);
    return { memory: presentMemory(memory) };
  }

  private async list(input: ListMemoriesInput) {
    const page = await this.memories.list(scopeOf(this.tenants.currentTenant(), input), {
      limit: input.limit,
      cursor: input.cursor,
      filter: input.filters === undefined ? undefined : parseFilter(input.filters),
    });
    return { memories: page.items.map(presentMemory), next_cursor: page.nextCursor };
  }

  private async update(input: UpdateMemoryInput) {
    const memory = await this.memories.update({ tenantId: this.tenants.currentTenant() }, input.id, patchOf(input), {
      wait: input.wait,
      actor: ACTOR,
    });
    return { memory: presentMemory(memory) };
  }

  private async delete(id: string) {
    await this.memories.delete({ tenantId: this.tenants.currentTenant() }, id, ACTOR);
    return { deleted: true as const };
  }
}
