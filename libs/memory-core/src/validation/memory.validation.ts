import type { Filter } from '../filters/filter.js';
import { isUuid } from '../ids.js';
import {
  DEFAULT_MEMORY_TYPE,
  DEFAULT_NAMESPACE,
  type MemoryAccess,
  type MemoryEmbedding,
  type MemoryPatch,
  type NewMemory,
  type OwnersQuery,
} from '../memory.js';
import type { EmbeddingWrite, ListQuery, SearchQuery } from '../memory-provider.js';
import type { MemoryScope } from '../memory-scope.js';
import { MemoryException, MemoryExceptionCode } from '../memory.exception.js';

/**
 * The protocol's input rules, shared by every provider so that each refuses exactly what the reference
 * (LocalMemoryProvider) refuses, with the same codes and messages.
 *
 * Defensive checks of the domain ranges. The API validates requests at the edge already; the provider checks
 * again because the worker, the benchmarks and other libraries call it directly, and a memory with importance
 * 42 would poison every later re-weighted search.
 */

export interface ValidNewMemory {
  content: string;
  namespace: string;
  memoryType: string;
  importance: number;
  confidence: number;
  metadata: Record<string, unknown>;
  categories: string[];
  expiresAt: Date | null;
}

const SEARCH_MODES = new Set(['hybrid', 'vector', 'keyword']);

export function validateNewMemory(scope: MemoryScope, input: NewMemory, path = 'memory'): ValidNewMemory {
  if (!isRecord(input)) throw MemoryException.validation(`${path} must be an object`);
  return {
    content: checkText(input.content, `${path}.content`),
    namespace: checkText(input.namespace ?? scope.namespace ?? DEFAULT_NAMESPACE, `${path}.namespace`),
    memoryType: checkText(input.memoryType ?? DEFAULT_MEMORY_TYPE, `${path}.memoryType`),
    importance: checkImportance(input.importance ?? 5, `${path}.importance`),
    confidence: checkUnit(input.confidence ?? 1, `${path}.confidence`),
    metadata: checkMetadata(input.metadata ?? {}, `${path}.metadata`),
    categories: checkCategories(input.categories ?? [], `${path}.categories`),
    expiresAt: checkExpiry(input.expiresAt ?? null, `${path}.expiresAt`),
  };
}

/** The patch with every given field checked; absent fields stay absent. */
export function validatePatch(patch: MemoryPatch): MemoryPatch {
  if (!isRecord(patch)) throw MemoryException.validation('patch must be an object');
  const valid: MemoryPatch = {};
  if (patch.content !== undefined) valid.content = checkText(patch.content, 'patch.content');
  if (patch.memoryType !== undefined) valid.memoryType = checkText(patch.memoryType, 'patch.memoryType');
  if (patch.importance !== undefined) valid.importance = checkImportance(patch.importance, 'patch.importance');
  if (patch.confidence !== undefined) valid.confidence = checkUnit(patch.confidence, 'patch.confidence');
  if (patch.metadata !== undefined) valid.metadata = checkMetadata(patch.metadata, 'patch.metadata');
  if (patch.categories !== undefined) valid.categories = checkCategories(patch.categories, 'patch.categories');
  if (patch.expiresAt !== undefined) valid.expiresAt = checkExpiry(patch.expiresAt, 'patch.expiresAt');
  return valid;
}

export interface ValidSearchQuery {
  text: string;
  embedding?: { vector: number[]; model: string };
  mode: SearchQuery['mode'];
  limit: number;
  filter?: Filter;
  threshold?: number;
  recencyWeight: number;
  importanceWeight: number;
}

export function validateSearchQuery(query: SearchQuery): ValidSearchQuery {
  if (!isRecord(query)) throw MemoryException.validation('query must be an object');
  if (typeof query.text !== 'string') throw MemoryException.validation('query.text must be a string');
  if (!SEARCH_MODES.has(query.mode)) {
    throw MemoryException.validation('query.mode must be one of hybrid, vector, keyword', { mode: query.mode });
  }
  const limit = checkLimit(query.limit, 'query.limit');
  if (query.mode !== 'keyword') {
    if (!query.embedding) {
      throw MemoryException.validation(`search mode ${query.mode} needs the query's embedding`);
    }
    checkVector(query.embedding.vector, 'query.embedding.vector');
    checkText(query.embedding.model, 'query.embedding.model');
  }
  const threshold = query.threshold === undefined ? undefined : checkUnit(query.threshold, 'query.threshold');
  const recencyWeight = checkUnit(query.recencyWeight ?? 0, 'query.recencyWeight');
  const importanceWeight = checkUnit(query.importanceWeight ?? 0, 'query.importanceWeight');
  if (recencyWeight + importanceWeight > 1) {
    throw MemoryException.validation('query.recencyWeight + query.importanceWeight must not exceed 1');
  }
  return {
    text: query.text,
    embedding: query.embedding,
    mode: query.mode,
    limit,
    filter: query.filter,
    threshold,
    recencyWeight,
    importanceWeight,
  };
}

export function validateListQuery(query: ListQuery): { limit: number; after: string | null; filter?: Filter } {
  if (!isRecord(query)) throw MemoryException.validation('query must be an object');
  const limit = checkLimit(query.limit, 'query.limit');
  return { limit, after: query.cursor === undefined ? null : decodeCursor(query.cursor), filter: query.filter };
}

export function validateOwnersQuery(query: OwnersQuery): { limit: number; offset: number } {
  if (!isRecord(query)) throw MemoryException.validation('query must be an object');
  const limit = checkLimit(query.limit, 'query.limit');
  const offset = query.offset ?? 0;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw MemoryException.validation('query.offset must be a non-negative integer', { value: offset });
  }
  return { limit, offset };
}

export function validateEmbedding(embedding: MemoryEmbedding): void {
  if (!isRecord(embedding)) throw MemoryException.validation('embedding must be an object');
  checkVector(embedding.vector, 'embedding.vector');
  checkText(embedding.model, 'embedding.model');
  if (embedding.vector.length !== embedding.dimensions) {
    throw MemoryException.validation('embedding.dimensions must equal the vector length', {
      dimensions: embedding.dimensions,
      length: embedding.vector.length,
    });
  }
  if (typeof embedding.contentHash !== 'string')
    throw MemoryException.validation('embedding.contentHash must be a string');
}

/** A batch of embedding writes: an array of `{id, embedding}`, every embedding valid (nothing is written otherwise). */
export function checkEmbeddingWrites(writes: readonly EmbeddingWrite[]): void {
  if (!Array.isArray(writes)) throw MemoryException.validation('writes must be an array');
  writes.forEach((write, index) => {
    if (!isRecord(write) || typeof write.id !== 'string') {
      throw MemoryException.validation(`writes[${index}] must be an object with a string id`);
    }
    validateEmbedding(write.embedding as MemoryEmbedding);
  });
}

/**
 * The accesses merged per id (counts summed, the latest `at` kept), in first-seen order: what one UPDATE per
 * memory applies. Every entry is checked; a malformed id is kept (it matches no memory), as elsewhere.
 */
export function mergeAccesses(accesses: readonly MemoryAccess[]): MemoryAccess[] {
  if (!Array.isArray(accesses)) throw MemoryException.validation('accesses must be an array');
  const merged = new Map<string, MemoryAccess>();
  accesses.forEach((access, i) => {
    if (typeof access?.id !== 'string') throw MemoryException.validation(`accesses[${i}].id must be a string`);
    if (!Number.isSafeInteger(access.count) || access.count < 1)
      throw MemoryException.validation(`accesses[${i}].count must be a positive integer`);
    checkDate(access.at, `accesses[${i}].at`);
    const seen = merged.get(access.id);
    merged.set(access.id, {
      id: access.id,
      count: (seen?.count ?? 0) + access.count,
      at: seen && seen.at > access.at ? seen.at : access.at,
    });
  });
  return [...merged.values()];
}

export function checkDate(value: Date, path: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw MemoryException.validation(`${path} must be a valid date`);
  return value;
}

/** The cursor is the last id of the previous page; base64url keeps callers from building their own. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const invalid = () => new MemoryException(MemoryExceptionCode.INVALID_CURSOR, 'the cursor is not valid');
  if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isUuid(id)) throw invalid();
  return id;
}

function checkText(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw MemoryException.validation(`${path} must be a non-empty string`);
  return value;
}

function checkImportance(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 10) {
    throw MemoryException.validation(`${path} must be an integer from 1 to 10`, { value });
  }
  return value;
}

function checkUnit(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw MemoryException.validation(`${path} must be a number from 0 to 1`, { value });
  }
  return value;
}

function checkLimit(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw MemoryException.validation(`${path} must be a positive integer`, { value });
  }
  return value;
}

/**
 * Metadata is stored as JSON (the log here, jsonb in Postgres). A JSON round trip both copies it, so the
 * caller's object is never aliased by the store, and makes it exactly what a reload would give back.
 */
function checkMetadata(value: unknown, path: string): Record<string, unknown> {
  if (!isRecord(value) || Array.isArray(value)) throw MemoryException.validation(`${path} must be a JSON object`);
  try {
    return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  } catch {
    throw MemoryException.validation(`${path} must be serialisable as JSON`);
  }
}

function checkCategories(value: unknown, path: string): string[] {
  if (!Array.isArray(value) || !value.every((category) => typeof category === 'string')) {
    throw MemoryException.validation(`${path} must be an array of strings`);
  }
  return [...(value as string[])];
}

function checkExpiry(value: unknown, path: string): Date | null {
  if (value === null) return null;
  return new Date(checkDate(value as Date, path));
}

function checkVector(value: unknown, path: string): void {
  if (!Array.isArray(value) || value.length === 0 || !value.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw MemoryException.validation(`${path} must be a non-empty array of finite numbers`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
