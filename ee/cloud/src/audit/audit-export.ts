/* @license Enterprise */
import type { AuditRecord } from './audit-chain.js';

export const AUDIT_EXPORT_FORMATS = ['jsonl', 'csv'] as const;
export type AuditExportFormat = (typeof AUDIT_EXPORT_FORMATS)[number];

/** The fields of an exported event, in this order (the CSV header): every column of `audit_events`. */
export const AUDIT_EXPORT_FIELDS = [
  'id',
  'tenant_id',
  'seq',
  'at',
  'actor',
  'action',
  'target_ids',
  'request_id',
  'source_ip',
  'outcome',
  'prev_hash',
  'hash',
] as const;

export const AUDIT_EXPORT_CONTENT_TYPES: Readonly<Record<AuditExportFormat, string>> = {
  jsonl: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

/** An event as an export shows it: the values its hash covers, in the form the canonical encoding uses. */
export function presentAuditRecord(record: AuditRecord) {
  return {
    id: record.id,
    tenant_id: record.tenantId,
    seq: record.seq,
    at: record.at.toISOString(),
    actor: record.actor,
    action: record.action,
    target_ids: record.targetIds,
    request_id: record.requestId,
    source_ip: record.sourceIp,
    outcome: record.outcome,
    prev_hash: record.prevHash.toString('hex'),
    hash: record.hash.toString('hex'),
  };
}

/** The text before the first event: the CSV header; nothing for JSONL. */
export function exportPreamble(format: AuditExportFormat): string {
  return format === 'csv' ? `${AUDIT_EXPORT_FIELDS.join(',')}\r\n` : '';
}

/**
 * Events as export text. JSONL: one JSON object per line. CSV (RFC 4180, CRLF): one row per event, nulls as empty
 * cells, `target_ids` as a JSON array in its cell, so that every value comes back exactly and the export can be
 * verified offline (see `canonicalAuditForm`).
 */
export function formatAuditRecords(records: readonly AuditRecord[], format: AuditExportFormat): string {
  switch (format) {
    case 'jsonl':
      return records.map((record) => `${JSON.stringify(presentAuditRecord(record))}\n`).join('');
    case 'csv':
      return records.map((record) => `${csvRow(presentAuditRecord(record))}\r\n`).join('');
  }
}

function csvRow(event: ReturnType<typeof presentAuditRecord>): string {
  return AUDIT_EXPORT_FIELDS.map((field) => {
    const value = event[field];
    if (value === null) return '';
    return csvCell(Array.isArray(value) ? JSON.stringify(value) : String(value));
  }).join(',');
}

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
