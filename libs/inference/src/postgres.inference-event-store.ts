import { isUuid, type TenantId } from '@engram/memory-core';
import type { SqlExecutor } from '@engram/memory-postgres';
import {
  requestFromJson,
  type InferenceEvent,
  type InferenceRequest,
  type UnfinishedInferenceEvent,
  type InferenceEventStatus,
  type InferenceEventStore,
  type InferenceEventUpdate,
  type InferenceOutcome,
} from './inference-event.js';

/**
 * How the store reaches a tenant's rows when the database isolates tenants (the cloud's row-level security): each
 * call runs inside `forTenant`, and the sweep of unfinished events, which has no tenant of its own, goes tenant by
 * tenant.
 */
export interface TenantScopedSql {
  forTenant<T>(tenantId: TenantId, fn: () => Promise<T>): Promise<T>;
  tenantIds(): Promise<readonly TenantId[]>;
}

interface InferenceEventRow {
  tenant_id: string;
  id: string;
  user_id: string | null;
  agent_id: string | null;
  run_id: string | null;
  namespace: string | null;
  status: InferenceEventStatus;
  engine: string;
  results: InferenceOutcome[];
  error: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const COLUMNS =
  'tenant_id, id, user_id, agent_id, run_id, namespace, status, engine, results, error, created_at, updated_at';

/**
 * Inference events in `inference_events` (the CreateInferenceEvents migration), on the memory provider's own
 * SqlExecutor: server PostgreSQL or PGlite. An event outlives the process that answered it and is visible to every
 * process on the database. Every statement names its tenant; in the cloud the executor is the TenantSqlExecutor and
 * `tenants` runs each call as the event's tenant, so another tenant's event is invisible to the database itself.
 *
 * Ids that are not uuids (a client's typo in `GET /v1/events/{id}`) find nothing rather than fail the uuid cast.
 */
export class PostgresInferenceEventStore implements InferenceEventStore {
  constructor(
    private readonly sql: SqlExecutor,
    private readonly tenants?: TenantScopedSql,
  ) {}

  create(event: InferenceEvent, request?: InferenceRequest): Promise<void> {
    return this.as(event.tenantId, async () => {
      await this.sql.query(
        `INSERT INTO inference_events (${COLUMNS}, request)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12, $13::jsonb)`,
        [
          event.tenantId,
          event.id,
          event.userId,
          event.agentId,
          event.runId,
          event.namespace,
          event.status,
          event.engine,
          JSON.stringify(event.outcomes),
          event.error,
          event.createdAt,
          event.updatedAt,
          request === undefined ? null : JSON.stringify(request),
        ],
      );
    });
  }

  update(tenantId: TenantId, id: string, update: InferenceEventUpdate): Promise<void> {
    if (!isUuid(id)) return Promise.resolve();
    return this.as(tenantId, async () => {
      // Each column keeps its value unless the update names it ($n IS NULL for "not given"; error may be set to null).
      await this.sql.query(
        `UPDATE inference_events
            SET status = COALESCE($3, status),
                results = COALESCE($4::jsonb, results),
                error = CASE WHEN $5::boolean THEN $6 ELSE error END,
                updated_at = $7,
                request = CASE WHEN $8::boolean THEN NULL ELSE request END
          WHERE tenant_id = $1 AND id = $2`,
        [
          tenantId,
          id,
          update.status ?? null,
          update.outcomes === undefined ? null : JSON.stringify(update.outcomes),
          update.error !== undefined,
          update.error ?? null,
          update.updatedAt,
          update.request === null,
        ],
      );
    });
  }

  get(tenantId: TenantId, id: string): Promise<InferenceEvent | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.as(tenantId, async () => {
      const [row] = await this.sql.query<InferenceEventRow>(
        `SELECT ${COLUMNS} FROM inference_events WHERE tenant_id = $1 AND id = $2`,
        [tenantId, id],
      );
      return row ? eventOf(row) : null;
    });
  }

  request(tenantId: TenantId, id: string): Promise<InferenceRequest | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.as(tenantId, async () => {
      const [row] = await this.sql.query<{ request: InferenceRequest | null }>(
        `SELECT request FROM inference_events WHERE tenant_id = $1 AND id = $2`,
        [tenantId, id],
      );
      return row?.request ? requestFromJson(row.request) : null;
    });
  }

  deleteByUser(tenantId: TenantId, userId: string): Promise<number> {
    return this.as(tenantId, async () => {
      const [row] = await this.sql.query<{ n: number }>(
        `WITH gone AS (DELETE FROM inference_events WHERE tenant_id = $1 AND user_id = $2 RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [tenantId, userId],
      );
      return row?.n ?? 0;
    });
  }

  async unfinished(before: Date, limit: number): Promise<UnfinishedInferenceEvent[]> {
    if (!this.tenants) return this.unfinishedOf(null, before, limit);
    const found: UnfinishedInferenceEvent[] = [];
    for (const tenantId of await this.tenants.tenantIds()) {
      if (found.length >= limit) break;
      found.push(...(await this.as(tenantId, () => this.unfinishedOf(tenantId, before, limit - found.length))));
    }
    return found;
  }

  private async unfinishedOf(tenantId: TenantId | null, before: Date, limit: number) {
    const rows = await this.sql.query<{ tenant_id: string; id: string; user_id: string | null; resumable: boolean }>(
      `SELECT tenant_id, id, user_id, request IS NOT NULL AS resumable FROM inference_events
        WHERE status IN ('pending', 'running') AND updated_at < $1 AND ($2::uuid IS NULL OR tenant_id = $2)
        ORDER BY updated_at LIMIT $3`,
      [before, tenantId, limit],
    );
    return rows.map((row) => ({
      tenantId: row.tenant_id as TenantId,
      id: row.id,
      userId: row.user_id,
      resumable: row.resumable,
    }));
  }

  private as<T>(tenantId: TenantId, fn: () => Promise<T>): Promise<T> {
    return this.tenants ? this.tenants.forTenant(tenantId, fn) : fn();
  }
}

function eventOf(row: InferenceEventRow): InferenceEvent {
  return {
    id: row.id,
    tenantId: row.tenant_id as TenantId,
    userId: row.user_id,
    agentId: row.agent_id,
    runId: row.run_id,
    namespace: row.namespace,
    status: row.status,
    engine: row.engine,
    outcomes: row.results,
    error: row.error,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}
