/* @license Enterprise */
import { Readable } from 'node:stream';
import type { TenantId } from '@engram/memory-core';
import type { SqlExecutor } from '@engram/memory-postgres';
import { AuditChainVerifier, type AuditVerification } from './audit-chain.js';
import { exportPreamble, formatAuditRecords, type AuditExportFormat } from './audit-export.js';
import type { AuditRepository, AuditTimeRange } from './audit.repository.js';
import type { CloudAuditLogger } from './cloud.audit-logger.js';

/** Events read per statement by an export or a verification: what either holds in memory at a time. */
export const AUDIT_READ_BATCH = 1_000;

/** Reading a tenant's audit log: export and verification (the routes of API.md, "Cloud edition"). */
export class AuditService {
  constructor(
    private readonly repository: AuditRepository,
    private readonly logger: CloudAuditLogger,
    private readonly controlSql: SqlExecutor,
    private readonly readBatch = AUDIT_READ_BATCH,
  ) {}

  /** Whether the tenant exists or existed: a deleted tenant's log outlives it. */
  async tenantKnown(tenantId: TenantId): Promise<boolean> {
    const rows = await this.controlSql.query(`SELECT 1 FROM tenants WHERE id = $1`, [tenantId]);
    return rows.length > 0;
  }

  /**
   * The tenant's events in a time range, in chain order, as JSONL or CSV text, read a batch at a time as the
   * consumer takes it (a Readable pulls the next batch only when its buffer has room): memory stays flat however
   * long the range. The range ends at the last event when the export starts; this process's queued events are
   * written first, so the export includes everything logged before it was asked for.
   */
  async export(tenantId: TenantId, range: AuditTimeRange, format: AuditExportFormat): Promise<Readable> {
    // Data leaving the system is itself an event of the log (and, logged before the flush, part of the export).
    await this.logger.log({ tenantId, actor: 'system', action: 'audit.export', targetIds: [], outcome: 'success' });
    await this.logger.flush(tenantId);
    const { from, to } = range;
    const bounds = await this.repository.seqBounds(tenantId, { from, to });
    const repository = this.repository;
    const readBatch = this.readBatch;
    async function* text(): AsyncGenerator<string> {
      const preamble = exportPreamble(format);
      if (preamble) yield preamble;
      if (!bounds) return;
      let afterSeq = bounds.first - 1;
      for (;;) {
        const page = await repository.page(tenantId, { from, to, afterSeq, maxSeq: bounds.last, limit: readBatch });
        if (page.length === 0) return;
        yield formatAuditRecords(page, format);
        afterSeq = page[page.length - 1].seq;
        if (page.length < readBatch || afterSeq >= bounds.last) return;
      }
    }
    return Readable.from(text(), { objectMode: false });
  }

  /**
   * Recomputes the tenant's chain from its first event (a batch at a time) and holds its end against the chain
   * head: `{ok: true}`, or the first event whose seq, link or hash does not verify.
   */
  async verify(tenantId: TenantId): Promise<AuditVerification> {
    await this.logger.flush(tenantId);
    const verifier = new AuditChainVerifier();
    await this.feed(tenantId, verifier);
    const end = await this.repository.chainEnd(tenantId);
    // Events written after the read above ended: read up to the head found (later ones are for the next check).
    if (end.head && !end.beyond && end.head.seq > verifier.lastSeq) await this.feed(tenantId, verifier, end.head.seq);
    return verifier.finish(end);
  }

  private async feed(tenantId: TenantId, verifier: AuditChainVerifier, maxSeq?: number): Promise<void> {
    let afterSeq = verifier.lastSeq;
    for (;;) {
      const page = await this.repository.page(tenantId, { afterSeq, maxSeq, limit: this.readBatch });
      for (const record of page) verifier.push(record);
      if (page.length < this.readBatch) return;
      afterSeq = page[page.length - 1].seq;
    }
  }
}
