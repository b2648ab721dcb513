import { Inject, Injectable } from '@nestjs/common';
import {
  compareIdsNewestFirst,
  LIST_LIMIT_MAX,
  MemoryException,
  MemoryExceptionCode,
  MemoryService,
  type Filter,
  type Memory,
  type MemoryHistoryEntry,
  type MemoryPatch,
  type MemoryScope,
  type OwnerPage,
  type SearchResult,
  type TenantId,
} from '@engram/memory-core';
import { scopedReads } from './mem0-filter.translator.js';
import {
  MESSAGE_INGESTION,
  type ConversationMessage,
  type IngestEvent,
  type IngestOptions,
  type MessageIngestion,
} from './message-ingestion.js';

/** Who the history and the audit log say made a change through the mem0 routes. */
export const MEM0_ACTOR = 'mem0-api';

export interface Mem0Page {
  items: Memory[];
  total: number;
}

/**
 * What mem0's operations need beyond a single MemoryService call, and nothing of memory logic itself: numbered pages
 * over Engram's cursors, reads that span several scopes (`scopedReads`), batches, entities. Every read and write is a
 * MemoryService call, so usage, audit, history and embedding are the same as through the native API.
 */
@Injectable()
export class Mem0MemoriesService {
  constructor(
    private readonly memories: MemoryService,
    @Inject(MESSAGE_INGESTION) private readonly ingestion: MessageIngestion,
  ) {}

  add(scope: MemoryScope, messages: readonly ConversationMessage[], options: Omit<IngestOptions, 'actor'>) {
    return this.ingestion.ingest(scope, messages, { ...options, actor: MEM0_ACTOR });
  }

  async event(tenantId: TenantId, eventId: string): Promise<IngestEvent> {
    const event = await this.ingestion.event(tenantId, eventId);
    if (!event) throw new MemoryException(MemoryExceptionCode.MEMORY_NOT_FOUND, `event ${eventId} not found`);
    return event;
  }

  /** Page `page` (from 1) of `size` memories, newest first, and how many match in all. */
  async page(tenantId: TenantId, filter: Filter | undefined, page: number, size: number): Promise<Mem0Page> {
    const reads = scopedReads(tenantId, filter);
    const offset = (page - 1) * size;
    if (reads.length === 1) {
      const [{ scope, filter: scoped }] = reads;
      const [items, total] = await Promise.all([
        this.slice(scope, scoped, offset, size),
        this.memories.count(scope, scoped),
      ]);
      return { items, total };
    }
    // The scopes are disjoint: the page is within the first offset + size of each, merged in the list's order.
    const [lists, counts] = await Promise.all([
      Promise.all(reads.map((read) => this.slice(read.scope, read.filter, 0, offset + size))),
      Promise.all(reads.map((read) => this.memories.count(read.scope, read.filter))),
    ]);
    const items = lists
      .flat()
      .sort((a, b) => compareIdsNewestFirst(a.id, b.id))
      .slice(offset, offset + size);
    return { items, total: counts.reduce((sum, count) => sum + count, 0) };
  }

  /** The best `limit` matches over every scope the filter names, best first. */
  async search(
    tenantId: TenantId,
    filter: Filter | undefined,
    request: { query: string; limit: number; threshold?: number },
  ): Promise<SearchResult[]> {
    const reads = scopedReads(tenantId, filter);
    const found = await Promise.all(
      reads.map((read) => this.memories.search(read.scope, { ...request, filter: read.filter })),
    );
    return found
      .flat()
      .sort((a, b) => b.score - a.score || compareIdsNewestFirst(a.memory.id, b.memory.id))
      .slice(0, request.limit);
  }

  get(tenantId: TenantId, id: string): Promise<Memory> {
    return this.memories.get({ tenantId }, id);
  }

  update(tenantId: TenantId, id: string, patch: MemoryPatch): Promise<Memory> {
    return this.memories.update({ tenantId }, id, patch, { actor: MEM0_ACTOR });
  }

  delete(tenantId: TenantId, id: string): Promise<void> {
    return this.memories.delete({ tenantId }, id, MEM0_ACTOR);
  }

  deleteAll(scope: MemoryScope): Promise<number> {
    return this.memories.deleteAll(scope, MEM0_ACTOR);
  }

  history(tenantId: TenantId, id: string): Promise<MemoryHistoryEntry[]> {
    return this.memories.history({ tenantId }, id);
  }

  /** In the order given; a missing id stops the batch there (404), with the earlier ones updated. */
  async batchUpdate(tenantId: TenantId, items: readonly { id: string; content: string }[]): Promise<number> {
    for (const item of items) await this.update(tenantId, item.id, { content: item.content });
    return items.length;
  }

  /** Deletes those of `ids` the tenant has; returns how many that was (missing ones are no error, as in mem0). */
  async batchDelete(tenantId: TenantId, ids: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const id of new Set(ids)) {
      try {
        await this.delete(tenantId, id);
        deleted += 1;
      } catch (error) {
        if (!(error instanceof MemoryException && error.code === MemoryExceptionCode.MEMORY_NOT_FOUND)) throw error;
      }
    }
    return deleted;
  }

  /** mem0's entities: the users, agents and runs that hold memories of the tenant. */
  owners(tenantId: TenantId, page: number, size: number): Promise<OwnerPage> {
    return this.memories.owners({ tenantId }, { limit: size, offset: (page - 1) * size });
  }

  /** Deletes an entity: every memory of that user, agent or run. */
  deleteOwner(tenantId: TenantId, kind: 'user' | 'agent' | 'run', id: string): Promise<number> {
    const scope: MemoryScope =
      kind === 'user'
        ? { tenantId, userId: id }
        : kind === 'agent'
          ? { tenantId, agentId: id }
          : { tenantId, runId: id };
    return this.deleteAll(scope);
  }

  /**
   * `size` memories of one scope after its first `offset`, newest first: mem0 pages by number, Engram by cursor, so
   * the pages before are walked (in the largest steps the list allows).
   */
  private async slice(scope: MemoryScope, filter: Filter, offset: number, size: number): Promise<Memory[]> {
    let cursor: string | undefined;
    for (let skip = offset; skip > 0;) {
      const page = await this.memories.list(scope, { limit: Math.min(skip, LIST_LIMIT_MAX), cursor, filter });
      if (page.nextCursor === null) return [];
      skip -= page.items.length;
      cursor = page.nextCursor;
    }
    const items: Memory[] = [];
    while (items.length < size) {
      const page = await this.memories.list(scope, {
        limit: Math.min(size - items.length, LIST_LIMIT_MAX),
        cursor,
        filter,
      });
      items.push(...page.items);
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    return items;
  }
}
