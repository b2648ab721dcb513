/* @license Enterprise */
import { asTenantId, MemoryException, MemoryExceptionCode, newId, type TenantId } from '@engram/memory-core';
import type { SqlExecutor } from '@engram/memory-postgres';
import type { TenantSqlExecutor } from '../database/tenant-sql.executor.js';
import { digestOf, type ErasureRecord, type ErasureStepName, type ErasureTarget } from './erasure.js';

interface ErasureRow {
  tenant_id: string;
  id: string;
  kind: ErasureRecord['kind'];
  subject_digest: string | null;
  user_id: string | null;
  state: ErasureRecord['state'];
  steps_done: string[];
  counts: Record<string, number>;
  attempts: number;
  requested_at: Date;
  completed_at: Date | null;
  audit_event_id: string | null;
}

const COLUMNS = `tenant_id, id, kind, subject_digest, user_id, state, steps_done, counts, attempts, requested_at,
  completed_at, audit_event_id`;

/** Postgres: "could not obtain lock" (lock_timeout). */
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * `gdpr_erasures` and `gdpr_erasure_keys` (control plane), and the one step that runs in Postgres: deleting the
 * memories and their history, under the tenant's row-level security, in the same transaction that records it.
 */
export class ErasureRepository {
  constructor(
    private readonly controlSql: SqlExecutor,
    private readonly tenantSql: TenantSqlExecutor,
  ) {}

  /** 'live', 'deleted' (a tombstone), or null when there never was such a tenant. */
  async tenantState(tenantId: TenantId): Promise<'live' | 'deleted' | null> {
    const [row] = await this.controlSql.query<{ deleted: boolean }>(
      `SELECT deleted_at IS NOT NULL AS deleted FROM tenants WHERE id = $1`,
      [tenantId],
    );
    if (!row) return null;
    return row.deleted ? 'deleted' : 'live';
  }

  async get(tenantId: TenantId, id: string): Promise<ErasureRecord | null> {
    const [row] = await this.controlSql.query<ErasureRow>(
      `SELECT ${COLUMNS} FROM gdpr_erasures WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id],
    );
    return row ? toRecord(row) : null;
  }

  /** The target's unfinished erase, created if there is none (concurrent requests get the same one). */
  async running(target: ErasureTarget, at: Date): Promise<ErasureRecord> {
    const digest = digestOf(target);
    const userId = target.kind === 'subject' ? target.userId : null;
    for (let attempt = 1; ; attempt++) {
      const [inserted] = await this.controlSql.query<ErasureRow>(
        `INSERT INTO gdpr_erasures (tenant_id, id, kind, subject_digest, user_id, state, requested_at)
         VALUES ($1, $2, $3, $4, $5, 'running', $6)
         ON CONFLICT (tenant_id, (coalesce(subject_digest, ''))) WHERE state = 'running' DO NOTHING
         RETURNING ${COLUMNS}`,
        [target.tenantId, newId(), target.kind, digest, userId, at],
      );
      if (inserted) return toRecord(inserted);
      const [existing] = await this.controlSql.query<ErasureRow>(
        `SELECT ${COLUMNS} FROM gdpr_erasures
          WHERE tenant_id = $1 AND coalesce(subject_digest, '') = coalesce($2, '') AND state = 'running'`,
        [target.tenantId, digest],
      );
      if (existing) return toRecord(existing);
      // It finished between the two statements: try again.
      if (attempt >= 5) throw new Error(`no erase of ${target.kind} could be started in tenant ${target.tenantId}`);
    }
  }

  /** The target's last finished erase: its receipt stands when a repeat finds nothing more. */
  async lastCompleted(tenantId: TenantId, digest: string | null): Promise<ErasureRecord | null> {
    const [row] = await this.controlSql.query<ErasureRow>(
      `SELECT ${COLUMNS} FROM gdpr_erasures
        WHERE tenant_id = $1 AND coalesce(subject_digest, '') = coalesce($2, '') AND state = 'completed'
          AND kind = $3
        ORDER BY completed_at DESC, id DESC LIMIT 1`,
      [tenantId, digest, digest === null ? 'tenant' : 'subject'],
    );
    return row ? toRecord(row) : null;
  }

  /** Unfinished erases, oldest first: what the resumer picks up. */
  async listRunning(limit: number): Promise<ErasureRecord[]> {
    const rows = await this.controlSql.query<ErasureRow>(
      `SELECT ${COLUMNS} FROM gdpr_erasures WHERE state = 'running' ORDER BY requested_at, id LIMIT $1`,
      [limit],
    );
    return rows.map(toRecord);
  }

  /**
   * Runs `fn` holding the erase's lock, so that one process at a time works on it. A transaction-level advisory
   * lock: it ends with the transaction, and with the connection if the process dies, so a crashed erase is free
   * to resume at once. The lock's transaction does nothing else: each step commits on its own connection.
   * `wait`: up to this long for a holder to finish (then CONFLICT); 0: null at once if it is held.
   */
  async withLock<T>(erasureId: string, waitMs: number, fn: () => Promise<T>): Promise<T | null> {
    try {
      return await this.controlSql.transaction(async (tx) => {
        if (waitMs <= 0) {
          const [row] = await tx.query<{ locked: boolean }>(
            `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked`,
            [`gdpr_erasure:${erasureId}`],
          );
          if (!row?.locked) return null;
        } else {
          await tx.query(`SELECT set_config('lock_timeout', $1, true)`, [`${Math.ceil(waitMs)}ms`]);
          await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`gdpr_erasure:${erasureId}`]);
        }
        return fn();
      });
    } catch (error) {
      if ((error as { code?: unknown }).code === LOCK_NOT_AVAILABLE)
        throw new MemoryException(MemoryExceptionCode.CONFLICT, 'this erase is running elsewhere; repeat later', {
          erasure_id: erasureId,
        });
      throw error;
    }
  }

  async countAttempt(erasure: ErasureRecord): Promise<void> {
    await this.controlSql.query(`UPDATE gdpr_erasures SET attempts = attempts + 1 WHERE tenant_id = $1 AND id = $2`, [
      erasure.tenantId,
      erasure.id,
    ]);
  }

  /** Records a step as done with what it removed; `sql` is the step's own transaction when it has one. */
  async stepDone(
    erasure: ErasureRecord,
    step: ErasureStepName,
    counts: Record<string, number>,
    sql: SqlExecutor = this.controlSql,
  ): Promise<void> {
    await sql.query(
      `UPDATE gdpr_erasures SET steps_done = array_append(steps_done, $3), counts = counts || $4::jsonb
        WHERE tenant_id = $1 AND id = $2 AND NOT ($3 = ANY (steps_done))`,
      [erasure.tenantId, erasure.id, step, JSON.stringify(counts)],
    );
    erasure.stepsDone.push(step);
    Object.assign(erasure.counts, counts);
  }

  /**
   * The memories step, in one transaction under the tenant's row-level security: first the memory ids and the
   * content hashes (of every version in the history too: any of them may be in the embedding cache) that the later
   * steps purge by, then the history, the memories and the inference events (counted as `inference_events` in the
   * record; the receipt's counts are API.md's and do not show them), then the step's record. All or nothing.
   */
  async eraseMemories(
    erasure: ErasureRecord,
  ): Promise<{ memories: number; history: number; inference_events: number }> {
    if (erasure.kind === 'subject' && !erasure.userId) throw new Error(`erase ${erasure.id} has lost its subject`);
    // The subject's rows (the user id is the last parameter), or all of the tenant's. Fixed text, never input.
    const subject = erasure.kind === 'subject';
    const owner = (column: string, n: number) => (subject ? `AND ${column} = $${n}` : '');
    const withUser = (params: unknown[]) => (subject ? [...params, erasure.userId] : params);
    return this.tenantSql.withTenant(erasure.tenantId, () =>
      this.tenantSql.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO gdpr_erasure_keys (tenant_id, erasure_id, kind, key)
           SELECT $1::uuid, $2::uuid, 'memory', id::text FROM memories WHERE tenant_id = $1 ${owner('user_id', 3)}
           UNION SELECT $1::uuid, $2::uuid, 'memory', memory_id::text FROM memory_history WHERE tenant_id = $1 ${owner('user_id', 3)}
           UNION SELECT $1::uuid, $2::uuid, 'content', content_hash FROM memories WHERE tenant_id = $1 ${owner('user_id', 3)}
           UNION SELECT $1::uuid, $2::uuid, 'content', encode(sha256(convert_to(v.content, 'UTF8')), 'hex')
                   FROM memory_history h CROSS JOIN LATERAL (VALUES (h.old_content), (h.new_content)) AS v(content)
                  WHERE h.tenant_id = $1 ${owner('h.user_id', 3)} AND v.content IS NOT NULL
           ON CONFLICT DO NOTHING`,
          withUser([erasure.tenantId, erasure.id]),
        );
        const [history] = await tx.query<{ n: number }>(
          `WITH gone AS (DELETE FROM memory_history WHERE tenant_id = $1 ${owner('user_id', 2)} RETURNING 1)
           SELECT count(*)::int AS n FROM gone`,
          withUser([erasure.tenantId]),
        );
        const [memories] = await tx.query<{ n: number }>(
          `WITH gone AS (DELETE FROM memories WHERE tenant_id = $1 ${owner('user_id', 2)} RETURNING 1)
           SELECT count(*)::int AS n FROM gone`,
          withUser([erasure.tenantId]),
        );
        // The subject's inference events: they hold no message text, but their outcomes name what was written.
        const [events] = await tx.query<{ n: number }>(
          `WITH gone AS (DELETE FROM inference_events WHERE tenant_id = $1 ${owner('user_id', 2)} RETURNING 1)
           SELECT count(*)::int AS n FROM gone`,
          withUser([erasure.tenantId]),
        );
        // A whole tenant leaves no trace: not even the search versions its deletes just moved (they hold no
        // personal data, only counters per bucket of users; a subject's bucket is shared and stays).
        if (!subject) await tx.query(`DELETE FROM memory_scope_versions WHERE tenant_id = $1`, [erasure.tenantId]);
        const counts = { memories: memories?.n ?? 0, history: history?.n ?? 0, inference_events: events?.n ?? 0 };
        await this.stepDone(erasure, 'memories', counts, tx);
        return counts;
      }),
    );
  }

  /** What the memories step collected: 'memory' ids or 'content' hashes. */
  async keys(erasure: ErasureRecord, kind: 'memory' | 'content'): Promise<string[]> {
    const rows = await this.controlSql.query<{ key: string }>(
      `SELECT key FROM gdpr_erasure_keys WHERE tenant_id = $1 AND erasure_id = $2 AND kind = $3`,
      [erasure.tenantId, erasure.id, kind],
    );
    return rows.map((row) => row.key);
  }

  /**
   * Finishes the erase: from here on its record is its receipt, and names the subject only by digest (the user id
   * and the collected keys go in the same transaction).
   */
  async complete(erasure: ErasureRecord, auditEventId: string | null, at: Date): Promise<ErasureRecord> {
    return this.controlSql.transaction(async (tx) => {
      await tx.query(`DELETE FROM gdpr_erasure_keys WHERE tenant_id = $1 AND erasure_id = $2`, [
        erasure.tenantId,
        erasure.id,
      ]);
      const [row] = await tx.query<ErasureRow>(
        `UPDATE gdpr_erasures SET state = 'completed', user_id = NULL, completed_at = $3, audit_event_id = $4
          WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
        [erasure.tenantId, erasure.id, at, auditEventId],
      );
      if (!row) throw new Error(`erase ${erasure.id} vanished`);
      return toRecord(row);
    });
  }

  /** Drops a repeat that found nothing left to erase: the earlier receipt stands for both. */
  async discard(erasure: ErasureRecord): Promise<void> {
    await this.controlSql.query(`DELETE FROM gdpr_erasures WHERE tenant_id = $1 AND id = $2`, [
      erasure.tenantId,
      erasure.id,
    ]);
  }
}

function toRecord(row: ErasureRow): ErasureRecord {
  return {
    id: row.id,
    tenantId: asTenantId(row.tenant_id),
    kind: row.kind,
    subjectDigest: row.subject_digest,
    userId: row.user_id,
    state: row.state,
    stepsDone: [...row.steps_done],
    counts: { ...row.counts },
    attempts: row.attempts,
    requestedAt: row.requested_at,
    completedAt: row.completed_at,
    auditEventId: row.audit_event_id,
  };
}
