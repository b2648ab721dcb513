/* @license Enterprise */
import type { TenantId } from '@engram/memory-core';
import type { TenantSqlExecutor } from '../database/tenant-sql.executor.js';
import { PERIOD_COUNTERS, type PeriodCounters } from './usage.store.js';

type UsageRow = Record<(typeof PERIOD_COUNTERS)[number], string>;

const COLUMNS = PERIOD_COUNTERS.join(', ');

/**
 * `tenant_usage`, the durable copy of the usage counters (one row per tenant and month), and the count of memories
 * stored. A tenant table like the memories: every statement runs for its tenant, under row-level security.
 */
export class TenantUsageRepository {
  constructor(private readonly sql: TenantSqlExecutor) {}

  /**
   * Writes a snapshot. Counters only grow within a month, and several processes snapshot the same tenant, each at
   * its own moment: each column keeps the greatest value written, so a late or stale snapshot never lowers one.
   */
  async save(tenantId: TenantId, period: string, counters: PeriodCounters, at: Date): Promise<void> {
    const values = PERIOD_COUNTERS.map((counter) => counters[counter]);
    const placeholders = values.map((_, i) => `$${i + 3}`).join(', ');
    const greatest = PERIOD_COUNTERS.map((c) => `${c} = GREATEST(tenant_usage.${c}, EXCLUDED.${c})`).join(', ');
    await this.sql.withTenant(tenantId, () =>
      this.sql.query(
        `INSERT INTO tenant_usage (tenant_id, period, ${COLUMNS}, updated_at)
         VALUES ($1, $2, ${placeholders}, $${values.length + 3})
         ON CONFLICT (tenant_id, period) DO UPDATE SET ${greatest}, updated_at = EXCLUDED.updated_at`,
        [tenantId, period, ...values, at],
      ),
    );
  }

  async find(tenantId: TenantId, period: string): Promise<PeriodCounters | null> {
    const [row] = await this.sql.withTenant(tenantId, () =>
      this.sql.query<UsageRow>(`SELECT ${COLUMNS} FROM tenant_usage WHERE tenant_id = $1 AND period = $2`, [
        tenantId,
        period,
      ]),
    );
    if (!row) return null;
    const counters = {} as PeriodCounters;
    for (const counter of PERIOD_COUNTERS) counters[counter] = Number(row[counter]);
    return counters;
  }

  /** The memories a tenant has stored now; expired ones, which no read returns, do not count. */
  async countMemories(tenantId: TenantId): Promise<number> {
    const [row] = await this.sql.withTenant(tenantId, () =>
      this.sql.query<{ stored: string }>(
        `SELECT count(*) AS stored FROM memories WHERE tenant_id = $1 AND (expires_at IS NULL OR expires_at > now())`,
        [tenantId],
      ),
    );
    return Number(row?.stored ?? 0);
  }
}
