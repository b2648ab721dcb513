import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { MemoryStatus } from '@engram/memory-core';

/**
 * The `memories` table, as TypeORM sees it: documentation of the schema and the model of the `typeorm` CLI.
 * The schema itself is made by the hand-written migrations (synchronize is off everywhere); the provider reads
 * and writes it with its own SQL (queries/), through a SqlExecutor, so that it also runs on PGlite.
 *
 * Indexes TypeORM cannot express (DESC key parts, partial, GIN over a generated column, HNSW per dimension)
 * are declared with `synchronize: false`: named here so the CLI neither drops nor recreates them.
 */
@Entity({ name: 'memories' })
@Index('memories_tenant_user_idx', { synchronize: false })
@Index('memories_tenant_agent_idx', { synchronize: false })
@Index('memories_tenant_run_idx', { synchronize: false })
@Index('memories_search_tsv_idx', { synchronize: false })
@Index('memories_pending_idx', { synchronize: false })
@Index('memories_expiry_idx', { synchronize: false })
@Check('memories_status_check', `status IN ('pending', 'ready', 'failed')`)
@Check('memories_importance_check', 'importance BETWEEN 1 AND 10')
@Check('memories_confidence_check', 'confidence >= 0 AND confidence <= 1')
@Check('memories_owner_check', 'user_id IS NOT NULL OR agent_id IS NOT NULL OR run_id IS NOT NULL')
@Check(
  'memories_embedding_check',
  '(embedding IS NULL AND embedding_model IS NULL AND embedding_dimensions IS NULL) OR ' +
    '(embedding IS NOT NULL AND embedding_model IS NOT NULL AND vector_dims(embedding) = embedding_dimensions)',
)
export class MemoryEntity {
  /** First in every key and index: the cloud edition's isolation and a later Citus distribution both need it. */
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid', primaryKeyConstraintName: 'memories_pkey' })
  tenantId!: string;

  /** uuid v7: time-ordered, so "newest first" is "highest id first". */
  @PrimaryColumn({ name: 'id', type: 'uuid', primaryKeyConstraintName: 'memories_pkey' })
  id!: string;

  @Column({ name: 'user_id', type: 'text', nullable: true })
  userId!: string | null;

  @Column({ name: 'agent_id', type: 'text', nullable: true })
  agentId!: string | null;

  @Column({ name: 'run_id', type: 'text', nullable: true })
  runId!: string | null;

  @Column({ name: 'namespace', type: 'text' })
  namespace!: string;

  @Column({ name: 'content', type: 'text' })
  content!: string;

  @Column({ name: 'memory_type', type: 'text' })
  memoryType!: string;

  @Column({ name: 'importance', type: 'smallint' })
  importance!: number;

  @Column({ name: 'confidence', type: 'real' })
  confidence!: number;

  @Column({ name: 'metadata', type: 'jsonb', default: () => `'{}'` })
  metadata!: Record<string, unknown>;

  @Column({ name: 'categories', type: 'text', array: true, default: () => `'{}'` })
  categories!: string[];

  @Column({ name: 'status', type: 'text' })
  status!: MemoryStatus;

  @Column({ name: 'failure_reason', type: 'text', nullable: true })
  failureReason!: string | null;

  /**
   * No fixed dimension: embedders differ (384, 512, 1536, …). Vector search goes through the per-dimension HNSW
   * expression indexes over `embedding::vector(D)` (see schema/vector-index.ts).
   */
  @Column({ name: 'embedding', type: 'vector', nullable: true })
  embedding!: string | null;

  @Column({ name: 'embedding_model', type: 'text', nullable: true })
  embeddingModel!: string | null;

  @Column({ name: 'embedding_dimensions', type: 'integer', nullable: true })
  embeddingDimensions!: number | null;

  @Column({ name: 'content_hash', type: 'text' })
  contentHash!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'accessed_at', type: 'timestamptz', nullable: true })
  accessedAt!: Date | null;

  @Column({ name: 'access_count', type: 'integer', default: 0 })
  accessCount!: number;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  /** The keyword leg's document: maintained by PostgreSQL from `content`, never written. */
  @Column({
    name: 'search_tsv',
    type: 'tsvector',
    generatedType: 'STORED',
    asExpression: `to_tsvector('english', content)`,
    nullable: true,
    insert: false,
    update: false,
    select: false,
  })
  searchTsv!: string;
}
