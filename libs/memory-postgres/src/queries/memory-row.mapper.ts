import {
  asTenantId,
  type EmbeddingJob,
  type HistoryOp,
  type Memory,
  type MemoryHistoryEntry,
  type MemoryStatus,
} from '@engram/memory-core';

/**
 * A `memories` row as both drivers return it: timestamptz as Date, jsonb parsed, text[] as an array, and the
 * `vector` column as its text form ('[1,2,3]'), since neither driver knows pgvector's type.
 */
export interface MemoryRow {
  tenant_id: string;
  id: string;
  user_id: string | null;
  agent_id: string | null;
  run_id: string | null;
  namespace: string;
  content: string;
  memory_type: string;
  importance: number;
  confidence: number;
  metadata: Record<string, unknown>;
  categories: string[];
  status: MemoryStatus;
  failure_reason: string | null;
  embedding: string | null;
  embedding_model: string | null;
  embedding_dimensions: number | null;
  content_hash: string;
  created_at: Date;
  updated_at: Date;
  accessed_at: Date | null;
  access_count: number;
  expires_at: Date | null;
}

/** The columns a Memory is read from, qualified by the table alias `m` (search_tsv stays in the database). */
export const MEMORY_COLUMNS = [
  'tenant_id',
  'id',
  'user_id',
  'agent_id',
  'run_id',
  'namespace',
  'content',
  'memory_type',
  'importance',
  'confidence',
  'metadata',
  'categories',
  'status',
  'failure_reason',
  'embedding',
  'embedding_model',
  'embedding_dimensions',
  'content_hash',
  'created_at',
  'updated_at',
  'accessed_at',
  'access_count',
  'expires_at',
] as const satisfies readonly (keyof MemoryRow)[];

export function memoryColumns(alias: string): string {
  return MEMORY_COLUMNS.map((column) => `${alias}.${column}`).join(', ');
}

/** Every call builds new objects from the row: callers can never alias what another caller got. */
export function toMemory(row: MemoryRow): Memory {
  return {
    id: row.id,
    tenantId: asTenantId(row.tenant_id),
    userId: row.user_id,
    agentId: row.agent_id,
    runId: row.run_id,
    namespace: row.namespace,
    content: row.content,
    memoryType: row.memory_type,
    importance: Number(row.importance),
    confidence: Number(row.confidence),
    metadata: row.metadata,
    categories: row.categories,
    status: row.status,
    failureReason: row.failure_reason,
    embeddingModel: row.embedding_model,
    embeddingDimensions: row.embedding_dimensions,
    embedding: row.embedding === null ? null : parseVector(row.embedding),
    contentHash: row.content_hash,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    accessedAt: row.accessed_at,
    accessCount: Number(row.access_count),
    expiresAt: row.expires_at,
  };
}

/** pgvector's text form is a JSON array of numbers. */
export function parseVector(text: string): number[] {
  return JSON.parse(text) as number[];
}

/** pgvector's input form; numbers as JavaScript prints them (pgvector reads exponents too). */
export function formatVector(vector: readonly number[]): string {
  return `[${vector.join(',')}]`;
}

export interface HistoryRow {
  id: string;
  memory_id: string;
  op: HistoryOp;
  old_content: string | null;
  new_content: string | null;
  actor: string;
  at: Date;
}

export function toHistoryEntry(row: HistoryRow): MemoryHistoryEntry {
  return {
    id: row.id,
    memoryId: row.memory_id,
    op: row.op,
    oldContent: row.old_content,
    newContent: row.new_content,
    actor: row.actor,
    at: row.at,
  };
}

export interface PendingRow {
  tenant_id: string;
  id: string;
  user_id: string | null;
  agent_id: string | null;
  run_id: string | null;
  content_hash: string;
}

export function toEmbeddingJob(row: PendingRow): EmbeddingJob {
  return {
    tenantId: asTenantId(row.tenant_id),
    memoryId: row.id,
    userId: row.user_id,
    agentId: row.agent_id,
    runId: row.run_id,
    contentHash: row.content_hash,
  };
}
