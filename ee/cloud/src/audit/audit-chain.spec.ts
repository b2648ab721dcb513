/* @license Enterprise */
import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { asTenantId } from '@engram/memory-core';
import {
  AuditChainVerifier,
  auditHash,
  canonicalAuditForm,
  chainEvents,
  GENESIS_HASH,
  type AuditChainHead,
  type AuditRecord,
  type UnchainedAuditRecord,
} from './audit-chain.js';
import { recordOfExported } from '../../test/fixtures/audit-export.js';
import { AUDIT_EXPORT_FIELDS, exportPreamble, formatAuditRecords } from './audit-export.js';

const TENANT = asTenantId('0195a8b0-0000-7000-8000-00000000000a');

function event(n: number, overrides: Partial<UnchainedAuditRecord> = {}): UnchainedAuditRecord {
  return {
    tenantId: TENANT,
    id: `0195a8b0-0000-7000-8000-${String(n).padStart(12, '0')}`,
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
    actor: '0123456789abcdef',
    action: 'memory.add',
    targetIds: [`memory-${n}`],
    requestId: `req-${n}`,
    sourceIp: '127.0.0.1',
    outcome: 'success',
    ...overrides,
  };
}

function chainOf(count: number): AuditRecord[] {
  return chainEvents(
    { seq: 0, hash: GENESIS_HASH },
    Array.from({ length: count }, (_, i) => event(i + 1)),
  );
}

function headOf(records: readonly AuditRecord[]): AuditChainHead {
  const last = records[records.length - 1];
  return { seq: last.seq, hash: last.hash, eventId: last.id };
}

function verify(records: readonly AuditRecord[], head: AuditChainHead | null, beyond: AuditRecord | null = null) {
  const verifier = new AuditChainVerifier();
  for (const record of records) verifier.push(record);
  return verifier.finish({ head, beyond: beyond && { seq: beyond.seq, id: beyond.id } });
}

describe('the canonical form', () => {
  it('is a JSON array of every field but the hash, in a fixed order', () => {
    const [first] = chainOf(1);
    expect(JSON.parse(canonicalAuditForm(first))).toEqual([
      'engram.audit.v1',
      TENANT,
      1,
      first.id,
      '2026-01-01T00:00:01.000Z',
      '0123456789abcdef',
      'memory.add',
      ['memory-1'],
      'req-1',
      '127.0.0.1',
      'success',
      '0'.repeat(64),
    ]);
  });

  it('hashes to SHA-256 of its UTF-8 text, pinned here: a change of the encoding would fail every stored chain', () => {
    const [first] = chainOf(1);
    expect(canonicalAuditForm(first)).toBe(
      '["engram.audit.v1","0195a8b0-0000-7000-8000-00000000000a",1,"0195a8b0-0000-7000-8000-000000000001",' +
        '"2026-01-01T00:00:01.000Z","0123456789abcdef","memory.add",["memory-1"],"req-1","127.0.0.1","success",' +
        `"${'0'.repeat(64)}"]`,
    );
    const expected = createHash('sha256')
      .update(Buffer.from(canonicalAuditForm(first), 'utf8'))
      .digest('hex');
    expect(first.hash.toString('hex')).toBe(expected);
    expect(expected).toBe('f4a64603d06e0a5a627d2265ba523d34d5084fa0c795a3cb1699fdbf2ab83f9f');
  });

  it('tells apart values that a naive concatenation would not', () => {
    const [a] = chainEvents({ seq: 0, hash: GENESIS_HASH }, [event(1, { targetIds: ['a,b'] })]);
    const [b] = chainEvents({ seq: 0, hash: GENESIS_HASH }, [event(1, { targetIds: ['a', 'b'] })]);
    const [c] = chainEvents({ seq: 0, hash: GENESIS_HASH }, [event(1, { requestId: null })]);
    const [d] = chainEvents({ seq: 0, hash: GENESIS_HASH }, [event(1, { requestId: 'null' })]);
    expect(a.hash.equals(b.hash)).toBe(false);
    expect(c.hash.equals(d.hash)).toBe(false);
  });

  it('links each event to the one before it', () => {
    const records = chainOf(3);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(records[0].prevHash.equals(GENESIS_HASH)).toBe(true);
    expect(records[1].prevHash.equals(records[0].hash)).toBe(true);
    expect(records[2].prevHash.equals(records[1].hash)).toBe(true);
    expect(auditHash(records[2]).equals(records[2].hash)).toBe(true);
  });

  it('continues a chain from its head', () => {
    const records = chainOf(4);
    const continued = chainEvents(headOf(records.slice(0, 2)), [event(3), event(4)]);
    expect(continued.map((r) => r.hash.toString('hex'))).toEqual(records.slice(2).map((r) => r.hash.toString('hex')));
  });
});

describe('AuditChainVerifier', () => {
  it('passes a clean chain, and an empty one', () => {
    const records = chainOf(10);
    expect(verify(records, headOf(records))).toEqual({ ok: true, events: 10 });
    expect(verify([], null)).toEqual({ ok: true, events: 0 });
  });

  it('names an edited event (hash)', () => {
    const records = chainOf(10);
    records[4] = { ...records[4], action: 'memory.delete' };
    expect(verify(records, headOf(records))).toEqual({
      ok: false,
      events: 10,
      firstBadEvent: records[4].id,
      reason: 'hash',
    });
  });

  it('names the event after a removed one (sequence)', () => {
    const records = chainOf(10);
    const removed = records.splice(4, 1);
    expect(removed).toHaveLength(1);
    expect(verify(records, headOf(records))).toMatchObject({
      ok: false,
      firstBadEvent: records[4].id,
      reason: 'sequence',
    });
  });

  it('names the first of two swapped events (link)', () => {
    const records = chainOf(10);
    const [fifth, sixth] = [records[4], records[5]];
    records[4] = { ...sixth, seq: 5 };
    records[5] = { ...fifth, seq: 6 };
    expect(verify(records, headOf(records))).toMatchObject({ ok: false, firstBadEvent: sixth.id, reason: 'link' });
  });

  it('names the removed last event, as the head names it (truncated)', () => {
    const records = chainOf(10);
    const head = headOf(records);
    records.pop();
    expect(verify(records, head)).toMatchObject({ ok: false, firstBadEvent: head.eventId, reason: 'truncated' });
  });

  it('names an event appended past the head (head)', () => {
    const records = chainOf(10);
    const head = headOf(records.slice(0, 9));
    expect(verify(records.slice(0, 9), head, records[9])).toMatchObject({
      ok: false,
      firstBadEvent: records[9].id,
      reason: 'head',
    });
  });

  it('names the last event when the chain was rewritten consistently but the head was not (head)', () => {
    const records = chainOf(5);
    const head = headOf(records);
    const rewritten = [
      ...records.slice(0, 2),
      ...chainEvents(headOf(records.slice(0, 2)), [event(3, { actor: 'x' }), event(4), event(5)]),
    ];
    expect(verify(rewritten, head)).toMatchObject({ ok: false, firstBadEvent: rewritten[4].id, reason: 'head' });
  });

  it('counts every event even past the first bad one', () => {
    const records = chainOf(10);
    records[1] = { ...records[1], outcome: 'failure' };
    expect(verify(records, headOf(records)).events).toBe(10);
  });
});

describe('export formats', () => {
  it('writes JSONL that verifies offline', () => {
    const records = chainOf(5);
    const lines = formatAuditRecords(records, 'jsonl').trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    const verifier = new AuditChainVerifier();
    for (const line of lines) {
      const e = JSON.parse(line);
      expect(Object.keys(e)).toEqual([...AUDIT_EXPORT_FIELDS]);
      verifier.push(recordOfExported(e));
    }
    expect(verifier.finish({ head: headOf(records), beyond: null })).toEqual({ ok: true, events: 5 });
  });

  it('writes RFC 4180 CSV: a header, CRLF, quoted cells, nulls empty, target ids as a JSON array', () => {
    const [record] = chainEvents({ seq: 0, hash: GENESIS_HASH }, [
      event(1, { targetIds: ['a', 'b,"c"'], requestId: null, actor: 'key "x"' }),
    ]);
    expect(exportPreamble('csv')).toBe(`${AUDIT_EXPORT_FIELDS.join(',')}\r\n`);
    expect(exportPreamble('jsonl')).toBe('');
    const row = formatAuditRecords([record], 'csv');
    expect(row.endsWith('\r\n')).toBe(true);
    expect(row).toContain(',"key ""x""",memory.add,"[""a"",""b,\\""c\\""""]",,127.0.0.1,success,');
    expect(row.split(',')[2]).toBe('1');
  });
});
