import type { SqlExecutor } from '../sql/sql-executor.js';
import { withSchemaLock } from './schema-lock.js';

/** pgvector's HNSW limit for the `vector` type; larger embeddings are searched by exact scan only. */
export const HNSW_MAX_DIMENSIONS = 2000;

/** The largest dimension the `vector` type stores. */
export const VECTOR_MAX_DIMENSIONS = 16000;

/**
 * `vector(D)`: the typed form of the embedding column for one dimension. The embedding column has no fixed
 * dimension (embedders differ), and a vector index needs one, so the HNSW index is an expression index over
 * `embedding::vector(D)` restricted to the rows of that dimension, and queries repeat that exact expression and
 * predicate to use it. A type modifier cannot be a bind parameter: D is spelled into the SQL, which is why it is
 * checked to be an integer in range here, the one place that spells it.
 */
export function vectorType(dimensions: number): string {
  return `vector(${checkDimensions(dimensions)})`;
}

export function vectorIndexName(dimensions: number): string {
  return `memories_embedding_hnsw_${checkDimensions(dimensions)}_idx`;
}

/**
 * Creates, when missing, the HNSW index (cosine distance) of one embedding dimension: run with the owner
 * connection at boot, for the configured embedder's dimension. Returns false when the dimension is beyond what
 * HNSW indexes (search then always scans exactly).
 *
 * Plain CREATE INDEX (not CONCURRENTLY, which cannot run under the schema lock's transaction): it blocks writes
 * while it builds, which is instant for a new dimension (no row has it yet) and only slow the first time an
 * existing deployment upgrades to a version that indexes a dimension it already stores. m and ef_construction
 * keep pgvector's defaults (16, 64).
 */
export async function ensureVectorIndex(executor: SqlExecutor, dimensions: number): Promise<boolean> {
  const d = checkDimensions(dimensions);
  if (d > HNSW_MAX_DIMENSIONS) return false;
  await withSchemaLock(executor, (tx) =>
    tx.query(
      `CREATE INDEX IF NOT EXISTS ${vectorIndexName(d)} ON memories ` +
        `USING hnsw ((embedding::${vectorType(d)}) vector_cosine_ops) WHERE embedding_dimensions = ${d}`,
    ),
  );
  return true;
}

/** The dimensions that have an HNSW index, read from the catalog (indexes made by `ensureVectorIndex`). */
export async function indexedVectorDimensions(executor: SqlExecutor): Promise<number[]> {
  const rows = await executor.query<{ indexname: string }>(
    `SELECT indexname FROM pg_indexes
      WHERE schemaname = current_schema() AND tablename = 'memories' AND indexname LIKE 'memories\\_embedding\\_hnsw\\_%'`,
  );
  return rows
    .map((row) => /^memories_embedding_hnsw_(\d+)_idx$/.exec(row.indexname)?.[1])
    .filter((d): d is string => d !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

function checkDimensions(dimensions: number): number {
  if (!Number.isSafeInteger(dimensions) || dimensions < 1 || dimensions > VECTOR_MAX_DIMENSIONS) {
    throw new RangeError(`embedding dimensions must be an integer from 1 to ${VECTOR_MAX_DIMENSIONS}: ${dimensions}`);
  }
  return dimensions;
}
