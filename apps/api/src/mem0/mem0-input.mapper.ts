import type { Filter, MemoryPatch, MemoryScope, TenantId } from '@engram/memory-core';
import type { FastifyRequest } from 'fastify';
import type { EntityFields, Mem0AddBody, Mem0UpdateBody } from './dto/mem0.dto.js';
import { entityConditions, translateMem0Filters } from './mem0-filter.translator.js';
import type { IngestOptions } from './message-ingestion.js';

/** The scope an add writes into: its entity ids (`app_id` is the namespace). */
export function addScopeOf(tenantId: TenantId, body: EntityFields): MemoryScope {
  return { tenantId, userId: body.user_id, agentId: body.agent_id, runId: body.run_id, namespace: body.app_id };
}

export function ingestOptionsOf(body: Mem0AddBody): Omit<IngestOptions, 'actor'> {
  return {
    infer: body.infer,
    metadata: body.metadata,
    expiresAt: expiryOf(body.expiration_date),
    wait: !body.async_mode,
  };
}

export function patchOf(body: Mem0UpdateBody): MemoryPatch {
  return { content: body.text, metadata: body.metadata, expiresAt: expiryOf(body.expiration_date) };
}

/** Everything a read narrows by, as one mem0 filter (their AND), translated: see mem0-filter.translator.ts. */
export function readFilterOf(read: {
  filters?: Record<string, unknown>;
  entities: EntityFields;
  categories?: string[];
  metadata?: Record<string, unknown>;
  start_date?: string;
  end_date?: string;
}): Filter | undefined {
  const parts: Record<string, unknown>[] = [...entityConditions(read.entities)];
  if (read.filters !== undefined) parts.push(read.filters);
  if (read.categories !== undefined) parts.push({ categories: { in: read.categories } });
  if (read.metadata !== undefined) parts.push({ metadata: read.metadata });
  if (read.start_date !== undefined) parts.push({ created_at: { gte: read.start_date } });
  if (read.end_date !== undefined) parts.push({ created_at: { lte: read.end_date } });
  return translateMem0Filters(parts.length === 0 ? undefined : { AND: parts });
}

export const DEFAULT_PAGE_SIZE = 100;

/** mem0's page number and size: the query's, else the body's, else the first page of 100. */
export function pageOf(...sources: { page?: number; page_size?: number }[]): { page: number; size: number } {
  return {
    page: sources.find((s) => s.page !== undefined)?.page ?? 1,
    size: sources.find((s) => s.page_size !== undefined)?.page_size ?? DEFAULT_PAGE_SIZE,
  };
}

export function isPaged(...sources: { page?: number; page_size?: number }[]): boolean {
  return sources.some((s) => s.page !== undefined || s.page_size !== undefined);
}

/** The request's own URL without its query: the base of the `next` / `previous` links. */
export function requestUrlOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}${request.url.split('?')[0]}`;
}

/** mem0 gives a day (`2025-12-31`): the memory lives through that day (UTC). */
function expiryOf(value: string | null | undefined): Date | null | undefined {
  if (value === undefined || value === null) return value;
  return new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T23:59:59.999Z` : value);
}
