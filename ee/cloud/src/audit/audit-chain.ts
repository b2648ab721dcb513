/* @license Enterprise */
import { createHash } from 'node:crypto';
import type { TenantId } from '@engram/memory-core';

export type AuditOutcome = 'success' | 'failure';

/** One event as the log keeps it: a row of `audit_events`, and a line of an export. Content-free by construction. */
export interface AuditRecord {
  tenantId: TenantId;
  /** uuid v7, stamped when the event is logged. */
  id: string;
  /** Its place in the tenant's chain: 1, 2, 3, … with no gap. */
  seq: number;
  /** When the event happened (the `log` call), to the millisecond. */
  at: Date;
  /** The API key id of the caller, 'operator', 'system', or the key id a failed authentication presented. */
  actor: string;
  action: string;
  targetIds: string[];
  requestId: string | null;
  sourceIp: string | null;
  outcome: AuditOutcome;
  /** The hash of the tenant's previous event (GENESIS_HASH for the first). */
  prevHash: Buffer;
  hash: Buffer;
}

/** An event before it takes its place in the chain. */
export type UnchainedAuditRecord = Omit<AuditRecord, 'seq' | 'prevHash' | 'hash'>;

/** The `prevHash` of a tenant's first event. */
export const GENESIS_HASH: Buffer = Buffer.alloc(32);

/** Names the encoding, so that a later change of it can be told apart from tampering. */
export const AUDIT_HASH_VERSION = 'engram.audit.v1';

/**
 * The canonical form an event's hash is computed over: a JSON array (arrays have no key order to disagree on) of
 *
 *   ["engram.audit.v1", tenant_id, seq, id, at, actor, action, [target_ids…], request_id, source_ip, outcome,
 *    prev_hash]
 *
 * with uuids in lowercase, `seq` a JSON number, `at` in ISO-8601 UTC with milliseconds (`toISOString`), absent
 * request id and source IP as `null`, and `prev_hash` in lowercase hex; serialised by `JSON.stringify` (no spaces)
 * and hashed as UTF-8. The event's hash is SHA-256 of that, so it covers every column but itself, including the
 * previous event's hash: changing, removing or moving any event breaks its own hash or the next event's link.
 * Every value is exactly what an export prints, so an export can be verified by anyone, offline.
 */
export function canonicalAuditForm(event: Omit<AuditRecord, 'hash'>): string {
  return JSON.stringify([
    AUDIT_HASH_VERSION,
    event.tenantId.toLowerCase(),
    event.seq,
    event.id.toLowerCase(),
    event.at.toISOString(),
    event.actor,
    event.action,
    event.targetIds,
    event.requestId,
    event.sourceIp,
    event.outcome,
    event.prevHash.toString('hex'),
  ]);
}

export function auditHash(event: Omit<AuditRecord, 'hash'>): Buffer {
  return createHash('sha256').update(canonicalAuditForm(event), 'utf8').digest();
}

/** Appends events to a chain whose last event had `head` (seq and hash): numbers, links and hashes them. */
export function chainEvents(
  head: { seq: number; hash: Buffer },
  events: readonly UnchainedAuditRecord[],
): AuditRecord[] {
  let { seq, hash: prevHash } = head;
  return events.map((event) => {
    seq += 1;
    const unhashed = { ...event, seq, prevHash };
    const record = { ...unhashed, hash: auditHash(unhashed) };
    prevHash = record.hash;
    return record;
  });
}

/** Why an event does not verify. */
export type AuditFault =
  /** Its hash is not the hash of its fields: the row was edited (or forged without recomputing the hash). */
  | 'hash'
  /** Its `prev_hash` is not the previous event's hash: an event before it was removed, replaced or moved. */
  | 'link'
  /** Its seq is not the previous one's plus one: an event before it was removed, or it was moved. */
  | 'sequence'
  /** The chain ends before the tenant's chain head says it does: its last events were removed. */
  | 'truncated'
  /** The chain does not end as its head says: events appended past it, or the last ones rewritten. */
  | 'head';

export interface AuditVerification {
  ok: boolean;
  /** How many events were checked: the whole log, up to its head as it was when the check ended. */
  events: number;
  /** The first event that does not verify (for `truncated`: the removed last event, as the chain head names it). */
  firstBadEvent?: string;
  reason?: AuditFault;
}

/** What the writer keeps of each tenant's chain, in the same transaction as the events: its last event. */
export interface AuditChainHead {
  seq: number;
  hash: Buffer;
  /** null while the chain is empty (seq 0). */
  eventId: string | null;
}

/** The head, and the first event past it, read in one snapshot. */
export interface AuditChainEnd {
  head: AuditChainHead | null;
  beyond: { seq: number; id: string } | null;
}

/**
 * Checks a tenant's events, fed in seq order, one at a time (so a log of any length verifies in constant memory):
 * the first event whose seq, link or hash is wrong is the first bad one; past it, events are only counted. Then
 * `finish` holds the end of the chain against the head the writer keeps, which catches what no link can: the
 * removal of the last events, and events appended past the head.
 */
export class AuditChainVerifier {
  private count = 0;
  private last: { seq: number; hash: Buffer; id: string } | null = null;
  private firstId: string | null = null;
  private bad: { id: string; reason: AuditFault } | null = null;

  /** The seq of the last event fed. */
  get lastSeq(): number {
    return this.last?.seq ?? 0;
  }

  push(record: AuditRecord): void {
    this.count += 1;
    this.firstId ??= record.id;
    if (!this.bad) {
      const fault = this.faultOf(record);
      if (fault) this.bad = { id: record.id, reason: fault };
    }
    this.last = { seq: record.seq, hash: record.hash, id: record.id };
  }

  finish({ head, beyond }: AuditChainEnd): AuditVerification {
    const bad = this.bad ?? this.endFault(head, beyond);
    return bad
      ? { ok: false, events: this.count, firstBadEvent: bad.id, reason: bad.reason }
      : { ok: true, events: this.count };
  }

  private faultOf(record: AuditRecord): AuditFault | null {
    if (record.seq !== this.lastSeq + 1) return 'sequence';
    if (!record.prevHash.equals(this.last?.hash ?? GENESIS_HASH)) return 'link';
    if (!auditHash(record).equals(record.hash)) return 'hash';
    return null;
  }

  private endFault(
    head: AuditChainHead | null,
    beyond: AuditChainEnd['beyond'],
  ): { id: string; reason: AuditFault } | null {
    if (!head) return this.firstId === null ? null : { id: this.firstId, reason: 'head' };
    if (beyond) return { id: beyond.id, reason: 'head' };
    if (this.lastSeq < head.seq) return { id: head.eventId ?? '', reason: 'truncated' };
    if (this.last && (this.last.seq !== head.seq || !this.last.hash.equals(head.hash))) {
      return { id: this.last.id, reason: 'head' };
    }
    return null;
  }
}
