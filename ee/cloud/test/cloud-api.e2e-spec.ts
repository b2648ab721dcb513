import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';
import { startTestApp, type TestApp } from '../../../apps/api/test/api-test.app.js';
import { routeRules } from '../../../apps/api/test/route-rules.js';
import { createTenantWithKey, READ_WRITE_SCOPES, type TenantWithKey } from './fixtures/cloud-admin.js';
import { queryAsOwner } from './fixtures/owner-query.js';

/**
 * The cloud edition through HTTP, as a platform operator and two tenants use it: the admin routes, API keys and
 * what each kind of key may and may not do. A database of its own: the cloud turns row-level security on.
 */
const ADMIN = 'admin-token-for-the-cloud-e2e';

describe('cloud edition over HTTP', () => {
  let db: ScratchDatabase;
  let api: TestApp;
  const admin = { authorization: `Bearer ${ADMIN}` };
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  const tenantWithKey = (name: string, scopes = READ_WRITE_SCOPES) => createTenantWithKey(api, ADMIN, { name, scopes });

  beforeAll(async () => {
    db = await createScratchDatabase();
    api = await startTestApp({ EDITION: 'cloud', DATABASE_URL: db.url, ENGRAM_ADMIN_TOKEN: ADMIN });
  });
  afterAll(async () => {
    await api?.close();
    await db?.drop();
  });

  it('has an access rule on every route, and the admin routes are the operator’s', () => {
    const rules = routeRules(api.app);
    expect(rules.filter((r) => r.rule === undefined).map((r) => r.route)).toEqual([]);
    const adminRoutes = rules.filter((r) => r.route.includes('/v1/admin/'));
    expect(adminRoutes.length).toBeGreaterThanOrEqual(5);
    expect(adminRoutes.every((r) => r.rule?.audience === 'operator')).toBe(true);
  });

  it('issues keys of the documented form, shown once', async () => {
    const a = await tenantWithKey('shape');
    expect(a.key).toMatch(/^egm_live_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const tenant = await api.request('GET', `/v1/admin/tenants/${a.id}`, { headers: admin });
    expect(tenant.status).toBe(200);
    // The secret is the 43 characters after the id; it may itself contain '_'.
    const secret = a.key.slice('egm_live_'.length + 16 + 1);
    expect(secret).toHaveLength(43);
    expect(JSON.stringify(tenant.body)).not.toContain(secret);
  });

  it('lets each tenant see only its own memories', async () => {
    const a = await tenantWithKey('acme');
    const b = await tenantWithKey('globex');
    const added = await api.request('POST', '/v1/memories?wait=true', {
      headers: bearer(a.key),
      body: { content: 'acme secret: the launch is in May', user_id: 'alice' },
    });
    expect(added.status).toBe(201);
    const id = added.body.memory.id as string;

    expect((await api.request('GET', `/v1/memories/${id}`, { headers: bearer(a.key) })).status).toBe(200);
    const foreign = await api.request('GET', `/v1/memories/${id}`, { headers: bearer(b.key) });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('MEMORY_NOT_FOUND');
    const search = await api.request('POST', '/v1/memories/search', {
      headers: bearer(b.key),
      body: { query: 'launch secret', user_id: 'alice' },
    });
    expect(search.status).toBe(200);
    expect(search.body.results).toEqual([]);
    const list = await api.request('GET', '/v1/memories?user_id=alice', { headers: bearer(b.key) });
    expect(list.body.memories).toEqual([]);
    expect((await api.request('DELETE', `/v1/memories/${id}`, { headers: bearer(b.key) })).status).toBe(404);
    expect((await api.request('DELETE', '/v1/memories?user_id=alice', { headers: bearer(b.key) })).body).toEqual({
      deleted: 0,
    });
    expect((await api.request('GET', `/v1/memories/${id}`, { headers: bearer(a.key) })).status).toBe(200);
  });

  describe('auth', () => {
    let a: TenantWithKey;
    beforeAll(async () => {
      a = await tenantWithKey('auth');
    });

    it('refuses a request without a key with 401', async () => {
      const res = await api.request('GET', '/v1/memories?user_id=u');
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
    });

    it('refuses a malformed key with 401', async () => {
      expect((await api.request('GET', '/v1/memories?user_id=u', { headers: bearer('egm_live_nope') })).status).toBe(
        401,
      );
    });

    it('refuses a well-formed key that does not exist, or whose secret is wrong, with 401', async () => {
      const wrongSecret = a.key.slice(0, -4) + (a.key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      expect((await api.request('GET', '/v1/memories?user_id=u', { headers: bearer(wrongSecret) })).status).toBe(401);
      const unknown = `egm_live_0123456789abcdef_${'x'.repeat(43)}`;
      expect((await api.request('GET', '/v1/memories?user_id=u', { headers: bearer(unknown) })).status).toBe(401);
    });

    it('accepts Token and X-API-Key as well as Bearer', async () => {
      expect(
        (await api.request('GET', '/v1/memories?user_id=u', { headers: { authorization: `Token ${a.key}` } })).status,
      ).toBe(200);
      expect((await api.request('GET', '/v1/memories?user_id=u', { headers: { 'x-api-key': a.key } })).status).toBe(
        200,
      );
    });

    it('refuses a revoked key with 401', async () => {
      const b = await tenantWithKey('revoked');
      expect((await api.request('GET', '/v1/memories?user_id=u', { headers: bearer(b.key) })).status).toBe(200);
      expect((await api.request('DELETE', `/v1/admin/api-keys/${b.keyId}`, { headers: admin })).status).toBe(200);
      expect((await api.request('GET', '/v1/memories?user_id=u', { headers: bearer(b.key) })).status).toBe(401);
    });

    it('refuses an expired key with 401', async () => {
      const c = await tenantWithKey('expired');
      await queryAsOwner(db.url, `UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [
        c.keyId,
      ]);
      expect((await api.request('GET', '/v1/memories?user_id=u', { headers: bearer(c.key) })).status).toBe(401);
    });

    it('refuses a key without the route’s scope with 403', async () => {
      const reader = await tenantWithKey('reader', ['memories:read']);
      expect((await api.request('GET', '/v1/memories?user_id=u', { headers: bearer(reader.key) })).status).toBe(200);
      const write = await api.request('POST', '/v1/memories', {
        headers: bearer(reader.key),
        body: { content: 'x', user_id: 'u' },
      });
      expect(write.status).toBe(403);
      expect(write.body.error.code).toBe('FORBIDDEN');
    });

    it('never accepts a tenant key on the admin routes (403)', async () => {
      const res = await api.request('POST', '/v1/admin/tenants', { headers: bearer(a.key), body: { name: 'sneaky' } });
      expect(res.status).toBe(403);
    });

    it('never accepts the admin token on tenant routes (401)', async () => {
      expect((await api.request('GET', '/v1/memories?user_id=u', { headers: admin })).status).toBe(401);
    });

    it('refuses a wrong admin token with 401', async () => {
      expect(
        (await api.request('POST', '/v1/admin/tenants', { headers: bearer('not-the-token'), body: { name: 'x' } }))
          .status,
      ).toBe(401);
    });

    it('answers 404 for a tenant that does not exist, and 400 for a malformed id', async () => {
      expect(
        (await api.request('GET', '/v1/admin/tenants/0195a8b0-0000-7000-8000-000000000000', { headers: admin })).status,
      ).toBe(404);
      expect((await api.request('GET', '/v1/admin/tenants/nope', { headers: admin })).status).toBe(400);
    });

    it('erases a whole tenant: its memories, and its keys stop working', async () => {
      const d = await tenantWithKey('erased');
      await api.request('POST', '/v1/memories?wait=true', {
        headers: bearer(d.key),
        body: { content: 'to be erased', user_id: 'u' },
      });
      const erased = await api.request('DELETE', `/v1/admin/tenants/${d.id}`, { headers: admin });
      expect(erased.status).toBe(200);
      expect(erased.body.receipt).toMatchObject({ tenant_id: d.id, deleted: { memories: 1, history: 1, api_keys: 1 } });
      expect((await api.request('GET', '/v1/memories?user_id=u', { headers: bearer(d.key) })).status).toBe(401);
      expect((await api.request('GET', `/v1/admin/tenants/${d.id}`, { headers: admin })).status).toBe(404);
    });
  });
});
