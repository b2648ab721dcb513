/* @license Enterprise */
import { asTenantId, type TenantId } from '@engram/memory-core';
import type { SqlExecutor } from '@engram/memory-postgres';
import type { TenantSqlExecutor } from '../database/tenant-sql.executor.js';
import {
  chainEvents,
  GENESIS_HASH,
  type AuditChainEnd,
  type AuditChainHead,
  type AuditOutcome,
  type AuditRecord,
  type UnchainedAuditRecord,
} from './audit-chain.js';

interface AuditEventRow {
  tenant_id: string;
  seq: string;
  id: string;
  at: Date;
  actor: string;
  action: string;
  target_ids: string[];
  request_id: string | null;
  source_ip: string | null;
  outcome: AuditOutcome;
  prev_hash: Buffer;
  hash: Buffer;
}

interface HeadRow {
  seq: string;
  hash: Buffer;
  event_id: string | null;
}

/** A time range of an export: `from` inclusive, `to` exclusive; either may be open. */
export interface AuditTimeRange {
  from?: Date;
  to?: Date;
}

/** Which events of a tenant's chain one read covers, in seq order. */
export interface AuditPageQuery extends AuditTimeRange {
  /** Events with a greater seq only (keyset pagination). */
  afterSeq: number;
  /** Events up to this seq only. */
  maxSeq?: number;
  limit: number;
}

const COLUMNS = 'tenant_id, seq, id, at, actor, action, target_ids, request_id, source_ip, outcome, prev_hash, hash';
const INSERT_COLUMNS = COLUMNS.split(', ');

/**
 * `audit_events` and `audit_chain_heads`, always under the tenant's setting (row-level security holds every
 * statement to the one tenant, and the app role may only insert and select events).
 */
export class AuditRepository {
  constructor(private readonly sql: TenantSqlExecutor) {}

  /**
   * Appends events to the tenant's chain in one transaction: locks the chain head (creating it on the tenant's
   * first event), numbers and links the events after it, inserts them and moves the head. The lock makes the
   * writers of every process take turns per tenant, so the chain never forks; other tenants are not held up.
   */
  append(tenantId: TenantId, events: readonly UnchainedAuditRecord[]): Promise<AuditRecord[]> {
    return this.sql.withTenant(tenantId, () =>
      this.sql.transaction(async (tx) => {
        const head = await lockHead(tx, tenantId);
        const records = chainEvents(head, events);
        if (records.length === 0) return records;
        const params: unknown[] = [];
        const rows = records.map((record) => {
          const values = [
            record.tenantId,
            record.seq,
            record.id,
            record.at,
            record.actor,
            record.action,
            record.targetIds,
            record.requestId,
            record.sourceIp,
            record.outcome,
            record.prevHash,
            record.hash,
          ];
          const placeholders = values.map((value) => `$${params.push(value)}`);
          return `(${placeholders.join(', ')})`;
        });
        await tx.query(`INSERT INTO audit_events (${INSERT_COLUMNS.join(', ')}) VALUES ${rows.join(', ')}`, params);
        const last = records[records.length - 1];
        await tx.query(`UPDATE audit_chain_heads SET seq = $2, hash = $3, event_id = $4 WHERE tenant_id = $1`, [
          tenantId,
          last.seq,
          last.hash,
          last.id,
        ]);
        return records;
      }),
    );
  }

  /** One page of the chain, in seq order (each page its own short transaction: no connection held in between). */
  async page(tenantId: TenantId, query: AuditPageQuery): Promise<AuditRecord[]> {
    const rows = await this.sql.withTenant(tenantId, () =>
      this.sql.query<AuditEventRow>(
        `SELECT ${COLUMNS} FROM audit_events
          WHERE tenant_id = $1 AND seq > $2 AND ($3::bigint IS NULL OR seq <= $3)
            AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5)
          ORDER BY seq LIMIT $6`,
        [tenantId, query.afterSeq, query.maxSeq ?? null, query.from ?? null, query.to ?? null, query.limit],
      ),
    );
    return rows.map(toRecord);
  }

  /**
   * The seqs an export of a time range runs between, and its upper end fixed when it starts (events logged during
   * the export are not in it). Seq order and time order agree but for the milliseconds between an event being
   * logged and written, so the range's events lie between the first and last seq the time index finds; reading
   * by seq from there keeps to the primary key instead of scanning the tenant's whole log.
   */
  async seqBounds(tenantId: TenantId, range: AuditTimeRange): Promise<{ first: number; last: number } | null> {
    const [row] = await this.sql.withTenant(tenantId, () =>
      this.sql.query<{ first: string | null; last: string | null }>(
        `SELECT min(seq) AS first, max(seq) AS last FROM audit_events
          WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR at >= $2) AND ($3::timestamptz IS NULL OR at < $3)`,
        [tenantId, range.from ?? null, range.to ?? null],
      ),
    );
    if (!row || row.first === null || row.last === null) return null;
    return { first: Number(row.first), last: Number(row.last) };
  }

  /** The chain head and the first event past it, in one snapshot (see `AuditChainVerifier.finish`). */
  async chainEnd(tenantId: TenantId): Promise<AuditChainEnd> {
    const [row] = await this.sql.withTenant(tenantId, () =>
      this.sql.query<HeadRow & { beyond_seq: string | null; beyond_id: string | null }>(
        `SELECT h.seq, h.hash, h.event_id, b.seq AS beyond_seq, b.id AS beyond_id
           FROM (SELECT $1::uuid AS tenant_id) t
           LEFT JOIN audit_chain_heads h ON h.tenant_id = t.tenant_id
           LEFT JOIN LATERAL (
             SELECT e.seq, e.id FROM audit_events e
              WHERE e.tenant_id = t.tenant_id AND e.seq > coalesce(h.seq, 0) ORDER BY e.seq LIMIT 1
           ) b ON true`,
        [tenantId],
      ),
    );
    return {
      head: row && row.seq !== null ? toHead(row) : null,
      beyond:
        row && row.beyond_seq !== null && row.beyond_id !== null
          ? { seq: Number(row.beyond_seq), id: row.beyond_id }
          : null,
    };
  }
}

async function lockHead(tx: SqlExecutor, tenantId: TenantId): Promise<AuditChainHead> {
  const select = `SELECT seq, hash, event_id FROM audit_chain_heads WHERE tenant_id = $1 FOR UPDATE`;
  let [row] = await tx.query<HeadRow>(select, [tenantId]);
  if (!row) {
    // Two processes may both find no head for a new tenant: one inserts it, the other's insert waits for that
    // transaction and then does nothing; both then lock the one row, in turn.
    await tx.query(
      `INSERT INTO audit_chain_heads (tenant_id, seq, hash, event_id) VALUES ($1, 0, $2, NULL)
       ON CONFLICT (tenant_id) DO NOTHING`,
      [tenantId, GENESIS_HASH],
    );
    [row] = await tx.query<HeadRow>(select, [tenantId]);
  }
  if (!row) throw new Error(`the audit chain head of tenant ${tenantId} could not be created`);
  return toHead(row);
}

function toHead(row: HeadRow): AuditChainHead {
  return { seq: Number(row.seq), hash: row.hash, eventId: row.event_id };
}

function toRecord(row: AuditEventRow): AuditRecord {
  return {
    tenantId: asTenantId(row.tenant_id),
    id: row.id,
    seq: Number(row.seq),
    at: row.at,
    actor: row.actor,
    action: row.action,
    targetIds: row.target_ids,
    requestId: row.request_id,
    sourceIp: row.source_ip,
    outcome: row.outcome,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
