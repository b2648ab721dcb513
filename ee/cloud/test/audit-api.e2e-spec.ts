/* @license Enterprise */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { QueryResultRow } from 'pg';
import {
  asTenantId,
  MEMORY_PROVIDER,
  runInRequestContext,
  type AuditEvent,
  type MemoryProvider,
} from '@engram/memory-core';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';
import { startTestApp, type TestApp } from '../../../apps/api/test/api-test.app.js';
import { AuditChainVerifier } from '../src/audit/audit-chain.js';
import type { CloudAuditLogger } from '../src/audit/cloud.audit-logger.js';
import { AUDIT_LOG } from '../src/cloud.tokens.js';
import { recordOfExported, type ExportedAuditEvent } from './fixtures/audit-export.js';
import { createTenantWithKey } from './fixtures/cloud-admin.js';
import { queryAsOwner } from './fixtures/owner-query.js';

/**
 * The audit log through HTTP, on the real app with EDITION=cloud and a database of its own: an event for each kind
 * of action, the export and verify routes, and an export of 100,000 events that streams in constant memory.
 */
const ADMIN = 'admin-token-for-the-audit-e2e';

describe('the audit log over HTTP (cloud)', () => {
  let db: ScratchDatabase;
  let api: TestApp;
  let audit: CloudAuditLogger;
  const admin = { authorization: `Bearer ${ADMIN}` };
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  const tenantWithKey = (scopes = ['memories:read', 'memories:write', 'audit:read']) =>
    createTenantWithKey(api, ADMIN, { name: 'audited', scopes });
  const owner = <T extends QueryResultRow>(sql: string, params?: unknown[]) => queryAsOwner<T>(db.url, sql, params);

  /** The tenant's log through the operator's export, parsed. */
  async function exported(tenantId: string, query = ''): Promise<ExportedAuditEvent[]> {
    const res = await api.request('GET', `/v1/admin/tenants/${tenantId}/audit/export${query}`, { headers: admin });
    expect(res.status).toBe(200);
    const text = typeof res.body === 'string' ? res.body : `${JSON.stringify(res.body)}\n`;
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as ExportedAuditEvent);
  }

  const actions = (events: readonly ExportedAuditEvent[]) => events.map((e) => e.action);

  beforeAll(async () => {
    db = await createScratchDatabase();
    api = await startTestApp({ EDITION: 'cloud', DATABASE_URL: db.url, ENGRAM_ADMIN_TOKEN: ADMIN });
    audit = api.app.get<CloudAuditLogger>(AUDIT_LOG);
  });
  afterAll(async () => {
    await api?.close();
    await db?.drop();
  });

  describe('events for each kind of action', () => {
    it('logs the operator’s actions: tenant created, key issued, key revoked', async () => {
      const t = await tenantWithKey();
      expect((await api.request('DELETE', `/v1/admin/api-keys/${t.keyId}`, { headers: admin })).status).toBe(200);
      const events = await exported(t.id);
      expect(
        events.slice(0, 3).map(({ action, actor, target_ids, outcome }) => ({ action, actor, target_ids, outcome })),
      ).toEqual([
        { action: 'tenant.create', actor: 'operator', target_ids: [t.id], outcome: 'success' },
        { action: 'api_key.issue', actor: 'operator', target_ids: [t.keyId], outcome: 'success' },
        { action: 'api_key.revoke', actor: 'operator', target_ids: [t.keyId], outcome: 'success' },
      ]);
    });

    it('logs every memory mutation with the key as the actor, and never the content', async () => {
      const t = await tenantWithKey();
      const content = `the secret launch date ${randomUUID()}`;
      const added = await api.request('POST', '/v1/memories', {
        headers: bearer(t.key),
        body: { content, user_id: 'alice' },
      });
      const id = added.body.memory.id as string;
      await api.request('PATCH', `/v1/memories/${id}`, { headers: bearer(t.key), body: { content: `${content}!` } });
      await api.request('POST', '/v1/memories', { headers: bearer(t.key), body: { content: 'two', user_id: 'bob' } });
      await api.request('DELETE', `/v1/memories/${id}`, { headers: bearer(t.key) });
      await api.request('DELETE', '/v1/memories?user_id=bob', { headers: bearer(t.key) });
      const events = (await exported(t.id)).filter((e) => e.action.startsWith('memory.'));
      expect(events.map(({ action, actor }) => ({ action, actor }))).toEqual([
        { action: 'memory.add', actor: t.keyId },
        { action: 'memory.update', actor: t.keyId },
        { action: 'memory.add', actor: t.keyId },
        { action: 'memory.delete', actor: t.keyId },
        { action: 'memory.delete_all', actor: t.keyId },
      ]);
      expect(events[0].target_ids).toEqual([id]);
      const rows = await owner(`SELECT * FROM audit_events WHERE tenant_id = $1`, [t.id]);
      const everything = JSON.stringify(rows);
      expect(everything).not.toContain('launch');
      expect(everything).not.toContain('alice');
    });

    it('logs refused uses of a tenant’s keys (401 and 403), with the request id and source IP', async () => {
      const t = await tenantWithKey(['memories:read']);
      const fastify = api.app.getHttpAdapter().getInstance();
      const wrongSecret = t.key.slice(0, -4) + (t.key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      const refused = await fastify.inject({
        method: 'GET',
        url: '/v1/memories?user_id=u',
        headers: { ...bearer(wrongSecret), 'x-request-id': 'req-wrong-secret' },
        remoteAddress: '203.0.113.9',
      });
      expect(refused.statusCode).toBe(401);
      const write = await api.request('POST', '/v1/memories', {
        headers: bearer(t.key),
        body: { content: 'x', user_id: 'u' },
      });
      expect(write.status).toBe(403);
      const sneaky = await api.request('POST', '/v1/admin/tenants', { headers: bearer(t.key), body: { name: 'x' } });
      expect(sneaky.status).toBe(403);
      await owner(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [t.keyId]);
      expect((await api.request('GET', '/v1/memories?user_id=u', { headers: bearer(t.key) })).status).toBe(401);
      await owner(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [t.keyId]);
      expect((await api.request('GET', '/v1/memories?user_id=u', { headers: bearer(t.key) })).status).toBe(401);
      // A key that does not exist names no tenant: nothing to log, and nothing logged anywhere.
      await audit.flush();
      const before = await owner<{ n: number }>('SELECT count(*)::int AS n FROM audit_events');
      const unknown = `egm_live_0123456789abcdef_${'x'.repeat(43)}`;
      expect((await api.request('GET', '/v1/memories?user_id=u', { headers: bearer(unknown) })).status).toBe(401);
      await audit.flush();
      expect(await owner<{ n: number }>('SELECT count(*)::int AS n FROM audit_events')).toEqual(before);

      const failures = (await exported(t.id)).filter((e) => e.outcome === 'failure');
      expect(failures.map(({ action, actor, target_ids }) => ({ action, actor, target_ids }))).toEqual(
        [
          'auth.invalid_secret',
          'auth.missing_scope',
          'auth.admin_route_refused',
          'auth.key_expired',
          'auth.key_revoked',
        ].map((action) => ({ action, actor: t.keyId, target_ids: [t.keyId] })),
      );
      expect(failures[0]).toMatchObject({ request_id: 'req-wrong-secret', source_ip: '203.0.113.9' });
      expect(failures.every((e) => typeof e.request_id === 'string' && e.source_ip !== null)).toBe(true);
    });

    it('logs a refused crossing on the requesting tenant’s log, naming no other tenant', async () => {
      const a = await tenantWithKey();
      const b = await tenantWithKey();
      const provider = api.app.get<MemoryProvider>(MEMORY_PROVIDER);
      const principal = { kind: 'tenant' as const, tenantId: asTenantId(a.id), scopes: new Set([]), keyId: a.keyId };
      const found = await runInRequestContext({ requestId: 'req-crossing', principal }, () =>
        provider.get({ tenantId: asTenantId(b.id) }, randomUUID()),
      );
      expect(found).toBeNull();
      const crossing = (await exported(a.id)).filter((e) => e.action === 'tenant.crossing_refused');
      expect(crossing).toEqual([
        expect.objectContaining({ actor: a.keyId, outcome: 'failure', request_id: 'req-crossing', target_ids: [] }),
      ]);
      expect(JSON.stringify(await exported(a.id))).not.toContain(b.id);
      expect(actions(await exported(b.id))).not.toContain('tenant.crossing_refused');
    });

    it('logs an erase, and has written its event before the receipt names it', async () => {
      const t = await tenantWithKey();
      await api.request('POST', '/v1/memories', { headers: bearer(t.key), body: { content: 'x', user_id: 'carol' } });
      const erased = await api.request('POST', `/v1/admin/tenants/${t.id}/gdpr/erase`, {
        headers: admin,
        body: { user_id: 'carol' },
      });
      expect(erased.status).toBe(200);
      const eventId = erased.body.receipt.audit_event_id as string;
      // No flush here: the event is in the table as the response arrives.
      const [row] = await owner('SELECT action, actor, outcome FROM audit_events WHERE tenant_id = $1 AND id = $2', [
        t.id,
        eventId,
      ]);
      expect(row).toEqual({ action: 'gdpr.erase_subject', actor: 'operator', outcome: 'success' });
      expect(JSON.stringify(await exported(t.id))).not.toContain('carol');
    });

    it('logs a tenant’s deletion, and the operator can still export and verify its log afterwards', async () => {
      const t = await tenantWithKey();
      expect((await api.request('DELETE', `/v1/admin/tenants/${t.id}`, { headers: admin })).status).toBe(200);
      expect(actions(await exported(t.id))).toContain('gdpr.erase_tenant');
      const verified = await api.request('GET', `/v1/admin/tenants/${t.id}/audit/verify`, { headers: admin });
      expect(verified.body).toMatchObject({ ok: true });
    });
  });

  describe('routes', () => {
    it('lets a tenant export its own log with audit:read, and only its own', async () => {
      const a = await tenantWithKey();
      const b = await tenantWithKey();
      await api.request('POST', '/v1/memories', { headers: bearer(b.key), body: { content: 'b', user_id: 'u' } });
      const res = await api.request('GET', '/v1/audit/export', { headers: bearer(a.key) });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
      const lines = String(res.body)
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as ExportedAuditEvent);
      expect(actions(lines)).toEqual(['tenant.create', 'api_key.issue', 'audit.export']);
      expect(lines.every((e) => e.tenant_id === a.id)).toBe(true);
      expect(String(res.body)).not.toContain(b.id);
      const csv = await api.request('GET', '/v1/audit/export?format=csv', { headers: bearer(a.key) });
      expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(String(csv.body).split('\r\n')[0]).toBe(
        'id,tenant_id,seq,at,actor,action,target_ids,request_id,source_ip,outcome,prev_hash,hash',
      );
    });

    it('refuses the export without audit:read, and the operator routes to a tenant key (403)', async () => {
      const t = await tenantWithKey(['memories:read', 'memories:write']);
      expect((await api.request('GET', '/v1/audit/export', { headers: bearer(t.key) })).status).toBe(403);
      const reader = await tenantWithKey(['audit:read']);
      for (const path of ['audit/export', 'audit/verify']) {
        const res = await api.request('GET', `/v1/admin/tenants/${reader.id}/${path}`, { headers: bearer(reader.key) });
        expect(res.status).toBe(403);
      }
      expect((await api.request('GET', '/v1/audit/export', { headers: admin })).status).toBe(401);
    });

    it('validates the query and the tenant', async () => {
      const t = await tenantWithKey();
      const bad = async (query: string) =>
        (await api.request('GET', `/v1/admin/tenants/${t.id}/audit/export${query}`, { headers: admin })).status;
      expect(await bad('?format=xml')).toBe(400);
      expect(await bad('?from=yesterday')).toBe(400);
      expect(await bad('?from=2026-02-01&to=2026-01-01')).toBe(400);
      expect(await bad('?from=2026-01-01&to=2026-02-01T00:00:00Z')).toBe(200);
      const missing = '0195a8b0-0000-7000-8000-000000000000';
      expect((await api.request('GET', `/v1/admin/tenants/${missing}/audit/export`, { headers: admin })).status).toBe(
        404,
      );
      expect((await api.request('GET', `/v1/admin/tenants/${missing}/audit/verify`, { headers: admin })).status).toBe(
        404,
      );
    });

    it('verifies a clean log, then names the first bad event once a row is edited in SQL', async () => {
      const t = await tenantWithKey();
      for (let i = 0; i < 5; i += 1) {
        await api.request('POST', '/v1/memories', { headers: bearer(t.key), body: { content: `m${i}`, user_id: 'u' } });
      }
      const clean = await api.request('GET', `/v1/admin/tenants/${t.id}/audit/verify`, { headers: admin });
      expect(clean.status).toBe(200);
      expect(clean.body).toEqual({ ok: true, events: 7 });
      const [third] = await owner<{ id: string }>('SELECT id FROM audit_events WHERE tenant_id = $1 AND seq = 3', [
        t.id,
      ]);
      await owner(`UPDATE audit_events SET outcome = 'failure' WHERE tenant_id = $1 AND seq = 3`, [t.id]);
      const tampered = await api.request('GET', `/v1/admin/tenants/${t.id}/audit/verify`, { headers: admin });
      expect(tampered.body).toEqual({ ok: false, events: 7, first_bad_event: third.id, reason: 'hash' });
    });
  });

  describe('an export of 100,000 events', () => {
    const EVENTS = 100_000;
    let tenantId: string;
    let baseUrl: string;

    /** The heap's live size after a full collection: what the process holds on to, not garbage yet to be freed. */
    const liveHeap = (() => {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      return () => {
        gc();
        return process.memoryUsage().heapUsed;
      };
    })();

    beforeAll(async () => {
      ({ id: tenantId } = await tenantWithKey());
      const event: Omit<AuditEvent, 'targetIds'> = {
        tenantId: asTenantId(tenantId),
        actor: 'system',
        action: 'memory.add',
        outcome: 'success',
      };
      for (let i = 0; i < EVENTS - 2; i += 1) await audit.log({ ...event, targetIds: [randomUUID(), randomUUID()] });
      await audit.flush();
      await api.app.listen(0, '127.0.0.1');
      const { port } = api.app.getHttpServer().address() as AddressInfo;
      baseUrl = `http://127.0.0.1:${port}`;
    }, 60_000);

    /**
     * Streams the export over a real socket into a sink that only counts, sampling the live heap as it goes: it
     * stays flat (a small fraction of what went through) rather than growing with the body.
     */
    async function streamExport(format: 'jsonl' | 'csv') {
      const baseline = liveHeap();
      let bytes = 0;
      let newlines = 0;
      let nextSample = 0;
      let peak = 0;
      const verifier = format === 'jsonl' ? new AuditChainVerifier() : null;
      let last: ExportedAuditEvent | null = null;
      let partial = '';
      const response = await new Promise<IncomingMessage>((resolve, reject) =>
        get(`${baseUrl}/v1/admin/tenants/${tenantId}/audit/export?format=${format}`, { headers: admin }, resolve).on(
          'error',
          reject,
        ),
      );
      expect(response.statusCode).toBe(200);
      expect(response.headers['transfer-encoding']).toBe('chunked');
      for await (const chunk of response as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        for (const byte of chunk) if (byte === 0x0a) newlines += 1;
        if (verifier) {
          const lines = (partial + chunk.toString('utf8')).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            last = JSON.parse(line) as ExportedAuditEvent;
            verifier.push(recordOfExported(last));
          }
        }
        if (bytes >= nextSample) {
          peak = Math.max(peak, liveHeap() - baseline);
          nextSample += 4 * 1024 * 1024;
        }
      }
      // The export's own last event stands in for the chain head, which only the database holds.
      const head = last && { seq: last.seq, hash: Buffer.from(last.hash, 'hex'), eventId: last.id };
      return { bytes, newlines, peak, result: verifier?.finish({ head, beyond: null }) };
    }

    it('streams JSONL in constant memory, every line a verifying event', async () => {
      const { bytes, newlines, peak, result } = await streamExport('jsonl');
      expect(newlines).toBe(EVENTS + 1);
      expect(bytes).toBeGreaterThan(30 * 1024 * 1024);
      expect(result).toEqual({ ok: true, events: EVENTS + 1 });
      expect(peak).toBeLessThan(16 * 1024 * 1024);
    });

    it('streams CSV in constant memory', async () => {
      const { bytes, newlines, peak } = await streamExport('csv');
      expect(newlines).toBe(EVENTS + 3);
      expect(bytes).toBeGreaterThan(30 * 1024 * 1024);
      expect(peak).toBeLessThan(16 * 1024 * 1024);
    });

    it('verifies all of them', async () => {
      const res = await api.request('GET', `/v1/admin/tenants/${tenantId}/audit/verify`, { headers: admin });
      expect(res.body).toEqual({ ok: true, events: EVENTS + 2 });
    });
  });
});
