/* @license Enterprise */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomInt } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { asTenantId, newId, type AuditEvent, type TenantId } from '@engram/memory-core';
import { auditHash, type AuditRecord } from '../src/audit/audit-chain.js';
import { AuditRepository } from '../src/audit/audit.repository.js';
import { AuditService } from '../src/audit/audit.service.js';
import { CloudAuditLogger } from '../src/audit/cloud.audit-logger.js';
import { openCloudDatabase, type CloudDatabase } from '../src/database/cloud-database.js';
import { CloudDatabaseExceptionCode } from '../src/database/cloud-database.exception.js';
import { embedder, openCloudTestDatabase, type CloudTestDatabase } from './fixtures/cloud-test-database.js';

/** SQLSTATE insufficient_privilege. */
const INSUFFICIENT_PRIVILEGE = '42501';

let db: CloudTestDatabase;
let repository: AuditRepository;
let logger: CloudAuditLogger;
let service: AuditService;
const clock = { now: () => new Date() };

beforeAll(async () => {
  db = await openCloudTestDatabase();
  repository = new AuditRepository(db.database.appSql);
  logger = new CloudAuditLogger(repository, clock, { flushDelayMs: 5 });
  service = new AuditService(repository, logger, db.database.controlSql, 7);
});

afterAll(async () => {
  await logger?.stop();
  await db?.teardown();
});

const event = (tenantId: TenantId, action: string, targetIds: string[] = []): AuditEvent => ({
  tenantId,
  actor: 'system',
  action,
  targetIds,
  outcome: 'success',
});

/** A tenant whose log holds `count` events, written through the logger. */
async function tenantWithEvents(count: number): Promise<TenantId> {
  const [tenantId] = await db.createTenants(1);
  for (let i = 1; i <= count; i += 1) await logger.log(event(tenantId, `test.event_${i}`, [`target-${i}`]));
  await logger.flush(tenantId);
  return tenantId;
}

/** The tenant's events as the owner sees them (a superuser: behind row-level security and the grants). */
async function ownerEvents(tenantId: TenantId): Promise<{ seq: number; id: string; action: string }[]> {
  const rows = await db.owner.query<{ seq: string; id: string; action: string }>(
    'SELECT seq, id, action FROM audit_events WHERE tenant_id = $1 ORDER BY seq',
    [tenantId],
  );
  return rows.map((row) => ({ ...row, seq: Number(row.seq) }));
}

/** Tampering, done directly in SQL as the owner. */
const tamper = (text: string, params: unknown[]) => db.owner.query(text, params);

describe('the audit log in PostgreSQL', () => {
  it('numbers and links each tenant’s events in the order they were logged', async () => {
    const tenantId = await tenantWithEvents(20);
    const events = await ownerEvents(tenantId);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(events.map((e) => e.action)).toEqual(Array.from({ length: 20 }, (_, i) => `test.event_${i + 1}`));
    expect(await service.verify(tenantId)).toEqual({ ok: true, events: 20 });
  });

  it('keeps one chain per tenant when two processes write the same tenants at once (no fork)', async () => {
    const second: CloudDatabase = await openCloudDatabase({ databaseUrl: db.scratch.url, embedderDimensions: 8 });
    const writers = [
      new CloudAuditLogger(new AuditRepository(db.database.appSql), clock, { batchSize: 7, flushDelayMs: 1 }),
      new CloudAuditLogger(new AuditRepository(second.appSql), clock, { batchSize: 5, flushDelayMs: 1 }),
    ];
    try {
      const tenants = await db.createTenants(3);
      await Promise.all(
        writers.map(async (writer, w) => {
          for (let i = 0; i < 300; i += 1) {
            await writer.log(event(tenants[i % 3], `writer_${w}.${i}`));
            if (i % 25 === 0) await new Promise((resolve) => setImmediate(resolve));
          }
          await writer.flush();
        }),
      );
      for (const tenantId of tenants) {
        const events = await ownerEvents(tenantId);
        expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
        for (const w of [0, 1]) {
          // Each writer's events keep their order within the tenant's chain.
          const mine = events
            .filter((e) => e.action.startsWith(`writer_${w}.`))
            .map((e) => Number(e.action.split('.')[1]));
          expect(mine).toEqual([...mine].sort((a, b) => a - b));
          expect(mine).toHaveLength(100);
        }
        expect(await service.verify(tenantId)).toEqual({ ok: true, events: 200 });
      }
    } finally {
      for (const writer of writers) await writer.stop();
      await second.close();
    }
  });

  it('is append-only for the app role: INSERT and SELECT, never UPDATE, DELETE or TRUNCATE', async () => {
    const tenantId = await tenantWithEvents(3);
    const app = db.database.appSql;
    const asTenant = <T>(fn: () => Promise<T>) => app.withTenant(tenantId, fn);
    expect(await asTenant(() => app.query('SELECT id FROM audit_events'))).toHaveLength(3);
    for (const statement of [
      `UPDATE audit_events SET action = 'forged' WHERE tenant_id = $1`,
      `DELETE FROM audit_events WHERE tenant_id = $1`,
      `UPDATE audit_events SET action = 'forged' WHERE tenant_id = $1 AND false`,
    ]) {
      await expect(asTenant(() => app.query(statement, [tenantId]))).rejects.toMatchObject({
        code: INSUFFICIENT_PRIVILEGE,
      });
    }
    await expect(asTenant(() => app.query('TRUNCATE audit_events'))).rejects.toMatchObject({
      code: INSUFFICIENT_PRIVILEGE,
    });
    const [privileges] = await db.owner.query<Record<string, boolean>>(
      `SELECT has_table_privilege('engram_app', 'audit_events', 'INSERT') AS insert,
              has_table_privilege('engram_app', 'audit_events', 'SELECT') AS select,
              has_table_privilege('engram_app', 'audit_events', 'UPDATE') AS update,
              has_table_privilege('engram_app', 'audit_events', 'DELETE') AS delete,
              has_table_privilege('engram_app', 'audit_events', 'TRUNCATE') AS truncate`,
    );
    expect(privileges).toEqual({ insert: true, select: true, update: false, delete: false, truncate: false });
    expect(await ownerEvents(tenantId)).toHaveLength(3);
    expect(await service.verify(tenantId)).toEqual({ ok: true, events: 3 });
  });

  it('shows a tenant only its own events, and takes no event into another tenant (row-level security)', async () => {
    const a = await tenantWithEvents(2);
    const [b] = await db.createTenants(1);
    const app = db.database.appSql;
    expect(await app.withTenant(b, () => app.query('SELECT id FROM audit_events'))).toEqual([]);
    expect(await app.withTenant(b, () => app.query('SELECT tenant_id FROM audit_chain_heads'))).toEqual([]);
    expect(await app.query('SELECT id FROM audit_events')).toEqual([]);
    const [row] = await db.owner.query<Record<string, unknown>>('SELECT * FROM audit_events WHERE tenant_id = $1', [a]);
    await expect(
      app.withTenant(b, () =>
        app.query(
          `INSERT INTO audit_events (tenant_id, seq, id, at, actor, action, target_ids, outcome, prev_hash, hash)
           VALUES ($1, 99, $2, now(), 'x', 'forged', '{}', 'success', $3, $3)`,
          [a, newId(), row.hash],
        ),
      ),
    ).rejects.toMatchObject({ code: INSUFFICIENT_PRIVILEGE });
  });

  it('refuses to start on an app role that may change or remove audit events', async () => {
    const role = `engram_audit_test_${randomInt(1e9)}`;
    await db.owner.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOBYPASSRLS`);
    try {
      await db.owner.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
      await db.owner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
      const url = new URL(db.scratch.url);
      url.username = role;
      url.password = '';
      await expect(
        openCloudDatabase({
          databaseUrl: db.scratch.url,
          databaseAppUrl: url.toString(),
          embedderDimensions: embedder.dimensions,
        }),
      ).rejects.toMatchObject({ code: CloudDatabaseExceptionCode.REQUEST_ROLE_NOT_RESTRICTED });
    } finally {
      await db.owner.query(`DROP OWNED BY ${role}`);
      await db.owner.query(`DROP ROLE ${role}`);
    }
  });
});

describe('verification names the first bad event', () => {
  it('passes a clean log, and an empty one', async () => {
    expect(await service.verify(await tenantWithEvents(30))).toEqual({ ok: true, events: 30 });
    const [empty] = await db.createTenants(1);
    expect(await service.verify(empty)).toEqual({ ok: true, events: 0 });
  });

  it('after a row is edited', async () => {
    const tenantId = await tenantWithEvents(30);
    const events = await ownerEvents(tenantId);
    await tamper(`UPDATE audit_events SET target_ids = '{someone-else}' WHERE tenant_id = $1 AND seq = 12`, [tenantId]);
    expect(await service.verify(tenantId)).toEqual({
      ok: false,
      events: 30,
      firstBadEvent: events[11].id,
      reason: 'hash',
    });
  });

  it('after a row is edited and its hash recomputed (the next event’s link breaks)', async () => {
    const tenantId = await tenantWithEvents(30);
    const events = await ownerEvents(tenantId);
    const [twelfth] = await repository.page(tenantId, { afterSeq: 11, maxSeq: 12, limit: 1 });
    const forged: AuditRecord = { ...twelfth, actor: 'someone-else' };
    await tamper(`UPDATE audit_events SET actor = $3, hash = $4 WHERE tenant_id = $1 AND seq = $2`, [
      tenantId,
      12,
      forged.actor,
      auditHash(forged),
    ]);
    expect(await service.verify(tenantId)).toMatchObject({ ok: false, firstBadEvent: events[12].id, reason: 'link' });
  });

  it('after a row is deleted', async () => {
    const tenantId = await tenantWithEvents(30);
    const events = await ownerEvents(tenantId);
    await tamper('DELETE FROM audit_events WHERE tenant_id = $1 AND seq = 17', [tenantId]);
    expect(await service.verify(tenantId)).toEqual({
      ok: false,
      events: 29,
      firstBadEvent: events[17].id,
      reason: 'sequence',
    });
  });

  it('after the last rows are deleted', async () => {
    const tenantId = await tenantWithEvents(30);
    const events = await ownerEvents(tenantId);
    await tamper('DELETE FROM audit_events WHERE tenant_id = $1 AND seq > 28', [tenantId]);
    expect(await service.verify(tenantId)).toEqual({
      ok: false,
      events: 28,
      firstBadEvent: events[29].id,
      reason: 'truncated',
    });
  });

  it('after two rows swap places', async () => {
    const tenantId = await tenantWithEvents(30);
    const events = await ownerEvents(tenantId);
    await tamper(
      `UPDATE audit_events SET seq = CASE seq WHEN 8 THEN 1000009 ELSE 1000008 END
        WHERE tenant_id = $1 AND seq IN (8, 9)`,
      [tenantId],
    );
    await tamper('UPDATE audit_events SET seq = seq - 1000000 WHERE tenant_id = $1 AND seq > 1000000', [tenantId]);
    expect(await service.verify(tenantId)).toMatchObject({ ok: false, firstBadEvent: events[8].id, reason: 'link' });
  });

  it('after a row is inserted out of order, correctly linked to the one before it', async () => {
    const tenantId = await tenantWithEvents(30);
    const events = await ownerEvents(tenantId);
    const [before] = await repository.page(tenantId, { afterSeq: 9, maxSeq: 10, limit: 1 });
    // Make room at seq 11, then insert an event that claims to follow event 10, hash and all.
    await tamper('UPDATE audit_events SET seq = seq + 1000001 WHERE tenant_id = $1 AND seq > 10', [tenantId]);
    await tamper('UPDATE audit_events SET seq = seq - 1000000 WHERE tenant_id = $1 AND seq > 1000000', [tenantId]);
    const forged = {
      ...before,
      id: newId(),
      seq: 11,
      action: 'memory.add',
      targetIds: ['planted'],
      prevHash: before.hash,
    };
    await tamper(
      `INSERT INTO audit_events (tenant_id, seq, id, at, actor, action, target_ids, request_id, source_ip, outcome,
                                 prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        tenantId,
        forged.seq,
        forged.id,
        forged.at,
        forged.actor,
        forged.action,
        forged.targetIds,
        forged.requestId,
        forged.sourceIp,
        forged.outcome,
        forged.prevHash,
        auditHash(forged),
      ],
    );
    // The planted event verifies on its own; the genuine event after it no longer links.
    expect(await service.verify(tenantId)).toEqual({
      ok: false,
      events: 31,
      firstBadEvent: events[10].id,
      reason: 'link',
    });
  });

  it('after an old row is replayed in the middle of the chain', async () => {
    const tenantId = await tenantWithEvents(30);
    await tamper('UPDATE audit_events SET seq = seq + 1000001 WHERE tenant_id = $1 AND seq > 20', [tenantId]);
    await tamper('UPDATE audit_events SET seq = seq - 1000000 WHERE tenant_id = $1 AND seq > 1000000', [tenantId]);
    const replayedId = newId();
    await tamper(
      `INSERT INTO audit_events SELECT tenant_id, 21, $2, at, actor, action, target_ids, request_id, source_ip, outcome,
              prev_hash, hash FROM audit_events WHERE tenant_id = $1 AND seq = 3`,
      [tenantId, replayedId],
    );
    expect(await service.verify(tenantId)).toMatchObject({ ok: false, firstBadEvent: replayedId, reason: 'link' });
  });

  it('after a row is appended behind the writer’s back', async () => {
    const tenantId = await tenantWithEvents(30);
    const [last] = await repository.page(tenantId, { afterSeq: 29, limit: 1 });
    const appended = { ...last, id: newId(), seq: 31, action: 'memory.delete', prevHash: last.hash };
    await tamper(
      `INSERT INTO audit_events (tenant_id, seq, id, at, actor, action, target_ids, outcome, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        tenantId,
        appended.seq,
        appended.id,
        appended.at,
        appended.actor,
        appended.action,
        appended.targetIds,
        appended.outcome,
        appended.prevHash,
        auditHash({ ...appended, requestId: null, sourceIp: null }),
      ],
    );
    expect(await service.verify(tenantId)).toMatchObject({ ok: false, firstBadEvent: appended.id, reason: 'head' });
  });

  it('keeps verifying while events are being written', async () => {
    const tenantId = await tenantWithEvents(50);
    const writing = (async () => {
      for (let i = 0; i < 200; i += 1) {
        await logger.log(event(tenantId, `during.${i}`));
        if (i % 10 === 0) await logger.flush(tenantId);
      }
      await logger.flush(tenantId);
    })();
    const results = await Promise.all([service.verify(tenantId), service.verify(tenantId), writing]);
    expect(results[0].ok && results[1].ok).toBe(true);
    expect(await service.verify(tenantId)).toEqual({ ok: true, events: 250 });
  });
});

describe('export', () => {
  async function exported(tenantId: TenantId, range: { from?: Date; to?: Date }, format: 'jsonl' | 'csv') {
    const chunks: string[] = [];
    await pipeline(
      await service.export(tenantId, range, format),
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          chunks.push(chunk.toString('utf8'));
          done();
        },
      }),
    );
    return chunks.join('');
  }

  it('reads the whole log in pages (here of 7) and writes it as JSONL, the export itself included', async () => {
    const tenantId = await tenantWithEvents(40);
    const lines = (await exported(tenantId, {}, 'jsonl')).trimEnd().split('\n');
    const events = lines.map((line) => JSON.parse(line));
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
    expect(events[40].action).toBe('audit.export');
    expect(events.every((e) => e.tenant_id === tenantId)).toBe(true);
  });

  it('keeps to a time range: from inclusive, to exclusive', async () => {
    const [tenantId] = await db.createTenants(1);
    const times = [1, 2, 3, 4, 5].map((minute) => new Date(Date.UTC(2026, 2, 1, 12, minute)));
    let now = times[0];
    const timed = new CloudAuditLogger(repository, { now: () => now });
    try {
      for (const [i, at] of times.entries()) {
        now = at;
        await timed.log(event(tenantId, `at.${i + 1}`));
      }
      await timed.flush();
    } finally {
      await timed.stop();
    }
    const csv = await exported(tenantId, { from: times[1], to: times[3] }, 'csv');
    const rows = csv.trimEnd().split('\r\n');
    expect(rows[0]).toBe('id,tenant_id,seq,at,actor,action,target_ids,request_id,source_ip,outcome,prev_hash,hash');
    expect(rows.slice(1).map((row) => row.split(',')[5])).toEqual(['at.2', 'at.3']);
    expect(await exported(tenantId, { from: new Date(Date.UTC(2030, 0, 1)) }, 'csv')).toBe(rows[0] + '\r\n');
  });

  it('exports nothing of another tenant', async () => {
    const a = await tenantWithEvents(5);
    const b = await tenantWithEvents(5);
    const text = await exported(b, {}, 'jsonl');
    expect(text).not.toContain(a);
  });
});

describe('the tenant id of events', () => {
  it('is stored in lowercase whatever the caller wrote', async () => {
    const [tenantId] = await db.createTenants(1);
    await logger.logDurably(event(asTenantId(tenantId.toUpperCase()), 'case.test'));
    expect(await ownerEvents(tenantId)).toHaveLength(1);
    expect(await service.verify(tenantId)).toEqual({ ok: true, events: 1 });
  });
});
