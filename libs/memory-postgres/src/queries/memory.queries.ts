import type { Filter, HistoryOp, MemoryAccess, MemoryPatch, MemoryScope, ValidNewMemory } from '@engram/memory-core';
import { compileFilter } from '../filters/filter.sql-compiler.js';
import { SqlParams } from '../filters/sql-params.js';
import { memoryColumns } from './memory-row.mapper.js';
import { liveSql, scopeSql } from './scope.sql.js';

/** One parameterised statement: values only ever travel in `values`. */
export interface SqlStatement {
  text: string;
  values: unknown[];
  /**
   * Worth keeping prepared per connection (QueryOptions.prepare): on the request path, and its text one of a few
   * shapes (which scope fields are named; batches travel as arrays or JSON, never as more placeholders).
   */
  prepare?: boolean;
}

const M = memoryColumns('m');

/** A new memory with the ids the provider chose for it and its ADD history row. */
export interface MemoryInsert extends ValidNewMemory {
  id: string;
  historyId: string;
  contentHash: string;
}

/**
 * addMany: ONE multi-row INSERT of the whole batch and its ADD history rows (one statement, so atomic without an
 * explicit transaction). The batch travels as a single JSON parameter expanded by jsonb_to_recordset, so the
 * statement has a fixed number of parameters whatever the batch size (bind parameters are limited to 65,535).
 * RETURNING order is not guaranteed: the caller puts the rows back in input order.
 */
export function insertMemories(
  scope: MemoryScope,
  memories: readonly MemoryInsert[],
  actor: string,
  now: Date,
): SqlStatement {
  const p = new SqlParams();
  const batch = p.add(
    JSON.stringify(
      memories.map((memory) => ({
        id: memory.id,
        history_id: memory.historyId,
        namespace: memory.namespace,
        content: memory.content,
        memory_type: memory.memoryType,
        importance: memory.importance,
        confidence: memory.confidence,
        metadata: memory.metadata,
        categories: memory.categories,
        content_hash: memory.contentHash,
        expires_at: memory.expiresAt?.toISOString() ?? null,
      })),
    ),
  );
  const tenant = p.add(scope.tenantId);
  const user = p.add(scope.userId ?? null);
  const agent = p.add(scope.agentId ?? null);
  const run = p.add(scope.runId ?? null);
  const at = p.add(now);
  const by = p.add(actor);
  const text = `
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${batch}::text::jsonb) AS x(
        id uuid, history_id uuid, namespace text, content text, memory_type text, importance smallint,
        confidence real, metadata jsonb, categories text[], content_hash text, expires_at timestamptz)
    ),
    inserted AS (
      INSERT INTO memories AS m (tenant_id, id, user_id, agent_id, run_id, namespace, content, memory_type, importance,
        confidence, metadata, categories, status, content_hash, created_at, updated_at, expires_at)
      SELECT ${tenant}::uuid, id, ${user}::text, ${agent}::text, ${run}::text, namespace, content, memory_type,
        importance, confidence, metadata, categories, 'pending', content_hash, ${at}::timestamptz,
        ${at}::timestamptz, expires_at
      FROM input
      RETURNING ${M}
    ),
    history AS (
      INSERT INTO memory_history (tenant_id, id, memory_id, user_id, agent_id, run_id, namespace, op, old_content,
        new_content, actor, at)
      SELECT ${tenant}::uuid, history_id, id, ${user}::text, ${agent}::text, ${run}::text, namespace, 'ADD', NULL,
        content, ${by}::text, ${at}::timestamptz
      FROM input
    )
    SELECT * FROM inserted`;
  return { text, values: p.values, prepare: true };
}

/** The live memories of the scope among `ids` (valid uuids only). */
export function selectMemories(scope: MemoryScope, ids: readonly string[], now: Date): SqlStatement {
  const p = new SqlParams();
  const text = `SELECT ${M} FROM memories m
    WHERE ${scopeSql(scope, p)} AND m.id = ANY(${p.add([...ids])}::uuid[]) AND ${liveSql(now, p)}`;
  return { text, values: p.values, prepare: true };
}

/**
 * update: locks the row, changes it and writes its UPDATE history row (with the content before and after) in one
 * statement. A content change sends the memory back to `pending` and drops its vector, which described the old
 * content; the same content (even re-sent) keeps both. Returns no row when the memory is not there.
 */
export function updateMemory(
  scope: MemoryScope,
  id: string,
  patch: MemoryPatch,
  historyId: string,
  actor: string,
  now: Date,
  newContentHash: string | undefined,
): SqlStatement {
  const p = new SqlParams();
  const set: string[] = [`updated_at = ${p.add(now)}::timestamptz`];
  if (patch.memoryType !== undefined) set.push(`memory_type = ${p.add(patch.memoryType)}::text`);
  if (patch.importance !== undefined) set.push(`importance = ${p.add(patch.importance)}::smallint`);
  if (patch.confidence !== undefined) set.push(`confidence = ${p.add(patch.confidence)}::real`);
  if (patch.metadata !== undefined) set.push(`metadata = ${p.add(JSON.stringify(patch.metadata))}::text::jsonb`);
  if (patch.categories !== undefined) set.push(`categories = ${p.add([...patch.categories])}::text[]`);
  if (patch.expiresAt !== undefined) set.push(`expires_at = ${p.add(patch.expiresAt)}::timestamptz`);
  if (patch.content !== undefined && newContentHash !== undefined) {
    const content = p.add(patch.content);
    const same = `m.content = ${content}::text`;
    set.push(
      `content = ${content}::text`,
      `content_hash = ${p.add(newContentHash)}::text`,
      `status = CASE WHEN ${same} THEN m.status ELSE 'pending' END`,
      `failure_reason = CASE WHEN ${same} THEN m.failure_reason ELSE NULL END`,
      `embedding = CASE WHEN ${same} THEN m.embedding ELSE NULL END`,
      `embedding_model = CASE WHEN ${same} THEN m.embedding_model ELSE NULL END`,
      `embedding_dimensions = CASE WHEN ${same} THEN m.embedding_dimensions ELSE NULL END`,
    );
  }
  const text = `
    WITH target AS (
      SELECT m.tenant_id, m.id, m.content AS old_content FROM memories m
      WHERE ${scopeSql(scope, p)} AND m.id = ${p.add(id)}::uuid AND ${liveSql(now, p)}
      FOR UPDATE
    ),
    updated AS (
      UPDATE memories m SET ${set.join(', ')}
      FROM target t WHERE m.tenant_id = t.tenant_id AND m.id = t.id
      RETURNING ${M}, t.old_content
    ),
    history AS (
      INSERT INTO memory_history (tenant_id, id, memory_id, user_id, agent_id, run_id, namespace, op, old_content,
        new_content, actor, at)
      SELECT u.tenant_id, ${p.add(historyId)}::uuid, u.id, u.user_id, u.agent_id, u.run_id, u.namespace, 'UPDATE',
        u.old_content, u.content, ${p.add(actor)}::text, ${p.add(now)}::timestamptz
      FROM updated u
    )
    SELECT * FROM updated`;
  return { text, values: p.values };
}

/** The owner and content of each deleted row: what its DELETE history row needs. */
export interface DeletedRow {
  tenant_id: string;
  id: string;
  user_id: string | null;
  agent_id: string | null;
  run_id: string | null;
  namespace: string;
  content: string;
}

const DELETED_COLUMNS = 'm.tenant_id, m.id, m.user_id, m.agent_id, m.run_id, m.namespace, m.content';

/** Deletes the live memories of the scope among `ids`, returning them for their history rows. */
export function deleteMemories(scope: MemoryScope, ids: readonly string[], now: Date): SqlStatement {
  const p = new SqlParams();
  const text = `DELETE FROM memories m
    WHERE ${scopeSql(scope, p)} AND m.id = ANY(${p.add([...ids])}::uuid[]) AND ${liveSql(now, p)}
    RETURNING ${DELETED_COLUMNS}`;
  return { text, values: p.values };
}

/**
 * clear: deletes every memory of the scope. Expired ones too (nobody can see them any more, and an erase must
 * not leave content behind), but only live ones are counted and get a DELETE history row, as the caller only
 * ever knew those.
 */
export function deleteScope(scope: MemoryScope, now: Date): SqlStatement {
  const p = new SqlParams();
  const text = `DELETE FROM memories m WHERE ${scopeSql(scope, p)}
    RETURNING ${DELETED_COLUMNS}, ${liveSql(now, p)} AS live`;
  return { text, values: p.values };
}

export interface HistoryInsert {
  id: string;
  tenantId: string;
  memoryId: string;
  userId: string | null;
  agentId: string | null;
  runId: string | null;
  namespace: string;
  op: HistoryOp;
  oldContent: string | null;
  newContent: string | null;
  actor: string;
  at: Date;
}

/** History rows in one multi-row INSERT (as JSON, for the same reason as `insertMemories`). */
export function insertHistory(rows: readonly HistoryInsert[]): SqlStatement {
  const p = new SqlParams();
  const batch = p.add(
    JSON.stringify(
      rows.map((row) => ({
        tenant_id: row.tenantId,
        id: row.id,
        memory_id: row.memoryId,
        user_id: row.userId,
        agent_id: row.agentId,
        run_id: row.runId,
        namespace: row.namespace,
        op: row.op,
        old_content: row.oldContent,
        new_content: row.newContent,
        actor: row.actor,
        at: row.at.toISOString(),
      })),
    ),
  );
  const text = `INSERT INTO memory_history (tenant_id, id, memory_id, user_id, agent_id, run_id, namespace, op,
      old_content, new_content, actor, at)
    SELECT tenant_id, id, memory_id, user_id, agent_id, run_id, namespace, op, old_content, new_content, actor, at
    FROM jsonb_to_recordset(${batch}::text::jsonb) AS x(tenant_id uuid, id uuid, memory_id uuid, user_id text,
      agent_id text, run_id text, namespace text, op text, old_content text, new_content text, actor text,
      at timestamptz)`;
  return { text, values: p.values };
}

/** Newest first, after the cursor's id when given; one row more than the page, to know whether another follows. */
export function listMemories(
  scope: MemoryScope,
  filter: Filter | undefined,
  after: string | null,
  limit: number,
  now: Date,
): SqlStatement {
  const p = new SqlParams();
  const where = [scopeSql(scope, p), liveSql(now, p)];
  if (filter) where.push(`(${compileFilter(filter, p, 'm')})`);
  if (after !== null) where.push(`m.id < ${p.add(after)}::uuid`);
  const text = `SELECT ${M} FROM memories m WHERE ${where.join(' AND ')}
    ORDER BY m.id DESC LIMIT ${p.add(limit + 1)}::int`;
  return { text, values: p.values };
}

export function countMemories(scope: MemoryScope, filter: Filter | undefined, now: Date): SqlStatement {
  const p = new SqlParams();
  const where = [scopeSql(scope, p), liveSql(now, p)];
  if (filter) where.push(`(${compileFilter(filter, p, 'm')})`);
  return { text: `SELECT count(*)::int AS count FROM memories m WHERE ${where.join(' AND ')}`, values: p.values };
}

/** An owner (`MemoryProvider.owners`) as the query returns it; a page past the end is one row of nulls and the total. */
export interface OwnerRow {
  kind: 'user' | 'agent' | 'run' | null;
  id: string | null;
  memory_count: number | null;
  first_at: Date | null;
  last_at: Date | null;
  total: number;
}

/**
 * The users, agents and runs of the scope's live memories, one GROUP BY per owner column, users first, then agents,
 * then runs, each by id in code point order; with the total, so that a page past the end still reports it.
 */
export function selectOwners(scope: MemoryScope, limit: number, offset: number, now: Date): SqlStatement {
  const p = new SqlParams();
  const where = `${scopeSql(scope, p)} AND ${liveSql(now, p)}`;
  const leg = (kind: string, rank: number, column: string) => `
      SELECT '${kind}'::text AS kind, ${rank} AS rank, m.${column} AS id, count(*)::int AS memory_count,
        min(m.created_at) AS first_at, max(m.updated_at) AS last_at
      FROM memories m WHERE ${where} AND m.${column} IS NOT NULL GROUP BY m.${column}`;
  const text = `WITH owners AS (${leg('user', 1, 'user_id')} UNION ALL ${leg('agent', 2, 'agent_id')}
      UNION ALL ${leg('run', 3, 'run_id')})
    SELECT o.kind, o.id, o.memory_count, o.first_at, o.last_at, t.total
    FROM (SELECT count(*)::int AS total FROM owners) t
    LEFT JOIN LATERAL (SELECT * FROM owners ORDER BY rank, id COLLATE "C"
      LIMIT ${p.add(limit)}::int OFFSET ${p.add(offset)}::int) o ON true`;
  return { text, values: p.values };
}

/** Oldest first (uuid v7 ids are time-ordered). The owner columns of the rows keep it scoped after a delete. */
export function selectHistory(scope: MemoryScope, memoryId: string): SqlStatement {
  const p = new SqlParams();
  const text = `SELECT h.id, h.memory_id, h.op, h.old_content, h.new_content, h.actor, h.at FROM memory_history h
    WHERE ${scopeSql(scope, p, 'h')} AND h.memory_id = ${p.add(memoryId)}::uuid ORDER BY h.id`;
  return { text, values: p.values };
}

/**
 * One UPDATE for every memory of `accesses` (merged per id by the caller): the counts added, and `accessed_at`
 * moved forward only (flushes may arrive out of order; GREATEST ignores the NULL of a never-accessed memory).
 * Touches no indexed column, so on pages with room (the table's fillfactor) the update is HOT.
 */
export function recordAccess(scope: MemoryScope, accesses: readonly MemoryAccess[], now: Date): SqlStatement {
  const p = new SqlParams();
  const ids = p.add(accesses.map((a) => a.id));
  const counts = p.add(accesses.map((a) => a.count));
  const ats = p.add(accesses.map((a) => a.at));
  const text = `UPDATE memories m
    SET access_count = m.access_count + a.count, accessed_at = GREATEST(m.accessed_at, a.at)
    FROM unnest(${ids}::uuid[], ${counts}::int[], ${ats}::timestamptz[]) AS a(id, count, at)
    WHERE ${scopeSql(scope, p)} AND m.id = a.id AND ${liveSql(now, p)}`;
  return { text, values: p.values, prepare: true };
}

/**
 * Stores vectors, each only if its memory's content is still the one that was embedded: the hash comparison is
 * part of the UPDATE's WHERE, so a concurrent content change either happens before (no row matches: skipped) or
 * waits for this statement and then resets the memory to pending itself. No read-then-write window. One UPDATE
 * joined to the writes: a pipeline batch is one statement (one round trip, one trigger run), not one per memory.
 * Returns the ids written.
 */
export function setEmbeddings(
  scope: MemoryScope,
  writes: ReadonlyArray<{ id: string; vector: string; model: string; dimensions: number; contentHash: string }>,
  now: Date,
): SqlStatement {
  const p = new SqlParams();
  const ids = p.add(writes.map((w) => w.id));
  const vectors = p.add(writes.map((w) => w.vector));
  const models = p.add(writes.map((w) => w.model));
  const dimensions = p.add(writes.map((w) => w.dimensions));
  const hashes = p.add(writes.map((w) => w.contentHash));
  const text = `UPDATE memories m
    SET embedding = w.vector::vector, embedding_model = w.model, embedding_dimensions = w.dimensions,
      status = 'ready', failure_reason = NULL
    FROM unnest(${ids}::uuid[], ${vectors}::text[], ${models}::text[], ${dimensions}::int[], ${hashes}::text[])
      AS w(id, vector, model, dimensions, content_hash)
    WHERE ${scopeSql(scope, p)} AND m.id = w.id AND ${liveSql(now, p)} AND m.content_hash = w.content_hash
    RETURNING m.id`;
  return { text, values: p.values, prepare: true };
}

export function markFailed(scope: MemoryScope, id: string, reason: string, now: Date): SqlStatement {
  const p = new SqlParams();
  const text = `UPDATE memories m SET status = 'failed', failure_reason = ${p.add(reason)}::text
    WHERE ${scopeSql(scope, p)} AND m.id = ${p.add(id)}::uuid AND ${liveSql(now, p)}`;
  return { text, values: p.values };
}

/** The reconciler's scan, across tenants; served by the partial index of pending rows. */
export function listPending(olderThan: Date, limit: number, now: Date): SqlStatement {
  const p = new SqlParams();
  const text = `SELECT m.tenant_id, m.id, m.user_id, m.agent_id, m.run_id, m.content_hash FROM memories m
    WHERE m.status = 'pending' AND m.updated_at < ${p.add(olderThan)}::timestamptz AND ${liveSql(now, p)}
    ORDER BY m.updated_at, m.id LIMIT ${p.add(limit)}::int`;
  return { text, values: p.values };
}

/**
 * The purger's batch: deletes up to `limit` memories of any tenant whose expiry is at or before `before`. The rows
 * are found through the partial index `memories_expiry_idx` (only rows with an expiry; under row-level security its
 * leading tenant_id narrows it to the tenant), locked, and deleted by their ctid (a TID scan): joining back on the
 * key instead lets the planner hash-join a scan of the whole table. A locked row's ctid cannot change under the
 * statement. SKIP LOCKED: a row that a request is updating, or another process's purger is deleting, is left to the
 * next batch rather than waited for. History is kept and none is written (see `MemoryProvider.purgeExpired`).
 */
export function purgeExpired(before: Date, limit: number): SqlStatement {
  const p = new SqlParams();
  const text = `DELETE FROM memories m WHERE m.ctid = ANY(ARRAY(
      SELECT e.ctid FROM memories e WHERE e.expires_at <= ${p.add(before)}::timestamptz
      LIMIT ${p.add(limit)}::int FOR UPDATE SKIP LOCKED))
    RETURNING m.id`;
  return { text, values: p.values };
}
