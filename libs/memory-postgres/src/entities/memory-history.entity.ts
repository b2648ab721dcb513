import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { HistoryOp } from '@engram/memory-core';

/**
 * The `memory_history` table: every ADD, UPDATE and DELETE of a memory, written in the same statement or
 * transaction as the change. Documentation and CLI model only, like MemoryEntity; the migrations make the table.
 *
 * No foreign key to `memories`: history outlives the memory. The memory's owner columns are copied onto each
 * row for the same reason, so that `history` stays scoped after a delete.
 */
@Entity({ name: 'memory_history' })
@Index('memory_history_memory_idx', ['tenantId', 'memoryId', 'id'])
@Check('memory_history_op_check', `op IN ('ADD', 'UPDATE', 'DELETE')`)
export class MemoryHistoryEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid', primaryKeyConstraintName: 'memory_history_pkey' })
  tenantId!: string;

  /** uuid v7: history reads oldest first by id. */
  @PrimaryColumn({ name: 'id', type: 'uuid', primaryKeyConstraintName: 'memory_history_pkey' })
  id!: string;

  @Column({ name: 'memory_id', type: 'uuid' })
  memoryId!: string;

  @Column({ name: 'user_id', type: 'text', nullable: true })
  userId!: string | null;

  @Column({ name: 'agent_id', type: 'text', nullable: true })
  agentId!: string | null;

  @Column({ name: 'run_id', type: 'text', nullable: true })
  runId!: string | null;

  @Column({ name: 'namespace', type: 'text' })
  namespace!: string;

  @Column({ name: 'op', type: 'text' })
  op!: HistoryOp;

  @Column({ name: 'old_content', type: 'text', nullable: true })
  oldContent!: string | null;

  @Column({ name: 'new_content', type: 'text', nullable: true })
  newContent!: string | null;

  @Column({ name: 'actor', type: 'text' })
  actor!: string;

  @Column({ name: 'at', type: 'timestamptz' })
  at!: Date;
}
