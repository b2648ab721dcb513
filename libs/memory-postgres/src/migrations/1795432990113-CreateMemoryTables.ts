import type { MigrationInterface } from 'typeorm';
import type { MigrationQueryRunner } from '../schema/memory-migrations.js';

/**
 * The memory tables. Hand-written: TypeORM cannot express the generated tsvector column's index, DESC key parts
 * or partial indexes the way search needs them (the entities document the same schema for readers and the CLI).
 *
 * Every primary key and index starts with tenant_id, so the cloud edition and a later Citus distribution by
 * tenant_id need no schema change. The GIN index over search_tsv is the one exception: GIN cannot lead with a
 * uuid without the btree_gin extension, and Citus does not require it (it is not unique).
 *
 * The HNSW indexes are not here: there is one per embedding dimension (384, 512, 1536, …) and the dimension is
 * the deployment's choice, so `ensureVectorIndex` creates the configured one at boot.
 */
export class CreateMemoryTables1795432990113 implements MigrationInterface {
  readonly name = 'CreateMemoryTables1795432990113';

  async up(queryRunner: MigrationQueryRunner): Promise<void> {
    for (const statement of UP) await queryRunner.query(statement);
  }

  async down(queryRunner: MigrationQueryRunner): Promise<void> {
    for (const statement of DOWN) await queryRunner.query(statement);
  }
}

const UP = [
  `CREATE EXTENSION IF NOT EXISTS vector`,

  `CREATE TABLE memories (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id text,
    agent_id text,
    run_id text,
    namespace text NOT NULL,
    content text NOT NULL,
    memory_type text NOT NULL,
    importance smallint NOT NULL,
    confidence real NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}',
    categories text[] NOT NULL DEFAULT '{}',
    status text NOT NULL,
    failure_reason text,
    embedding vector,
    embedding_model text,
    embedding_dimensions integer,
    content_hash text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    accessed_at timestamptz,
    access_count integer NOT NULL DEFAULT 0,
    expires_at timestamptz,
    search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
    CONSTRAINT memories_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT memories_status_check CHECK (status IN ('pending', 'ready', 'failed')),
    CONSTRAINT memories_importance_check CHECK (importance BETWEEN 1 AND 10),
    CONSTRAINT memories_confidence_check CHECK (confidence >= 0 AND confidence <= 1),
    CONSTRAINT memories_owner_check CHECK (user_id IS NOT NULL OR agent_id IS NOT NULL OR run_id IS NOT NULL),
    -- The HNSW indexes cast embedding to vector(embedding_dimensions): a row whose vector had another length
    -- would make that cast, and so the write, fail. The dimension column is kept exactly in step.
    CONSTRAINT memories_embedding_check CHECK (
      (embedding IS NULL AND embedding_model IS NULL AND embedding_dimensions IS NULL)
      OR (embedding IS NOT NULL AND embedding_model IS NOT NULL AND vector_dims(embedding) = embedding_dimensions)
    )
  )`,
  // Lists (newest first: uuid v7 ids are time-ordered) and scope lookups for each kind of owner.
  `CREATE INDEX memories_tenant_user_idx ON memories (tenant_id, user_id, id DESC)`,
  `CREATE INDEX memories_tenant_agent_idx ON memories (tenant_id, agent_id, id DESC)`,
  `CREATE INDEX memories_tenant_run_idx ON memories (tenant_id, run_id, id DESC)`,
  // The keyword leg of search.
  `CREATE INDEX memories_search_tsv_idx ON memories USING gin (search_tsv)`,
  // The reconciler's scan for memories whose embedding job may have been lost; tiny, as it holds pending rows only.
  `CREATE INDEX memories_pending_idx ON memories (tenant_id, updated_at) WHERE status = 'pending'`,

  `CREATE TABLE memory_history (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    memory_id uuid NOT NULL,
    -- The memory's owner, copied: history outlives the memory and must stay scoped after a delete.
    user_id text,
    agent_id text,
    run_id text,
    namespace text NOT NULL,
    op text NOT NULL,
    old_content text,
    new_content text,
    actor text NOT NULL,
    at timestamptz NOT NULL,
    CONSTRAINT memory_history_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT memory_history_op_check CHECK (op IN ('ADD', 'UPDATE', 'DELETE'))
  )`,
  `CREATE INDEX memory_history_memory_idx ON memory_history (tenant_id, memory_id, id)`,

  // TypeORM's record of generated columns' expressions (its schema diff cannot read them back from the catalog):
  // kept as TypeORM keeps it, so that `typeorm migration:generate` sees no phantom change to search_tsv.
  `CREATE TABLE IF NOT EXISTS typeorm_metadata (
    type varchar NOT NULL, database varchar, schema varchar, "table" varchar, name varchar, value text
  )`,
  `INSERT INTO typeorm_metadata (type, database, schema, "table", name, value)
    VALUES ('GENERATED_COLUMN', current_database(), current_schema(), 'memories', 'search_tsv',
      'to_tsvector(''english'', content)')`,
];

const DOWN = [
  `DELETE FROM typeorm_metadata WHERE type = 'GENERATED_COLUMN' AND "table" = 'memories' AND name = 'search_tsv'
    AND database = current_database() AND schema = current_schema()`,
  `DROP TABLE memory_history`,
  `DROP TABLE memories`,
];
