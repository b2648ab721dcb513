/* @license Enterprise */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { KEY_ID_HEADER, signRequest, type SignedUserContext } from '@engram/memory-core';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';
import { startTestApp, type TestApp, type TestResponse } from '../../../apps/api/test/api-test.app.js';
import type { KeyUsageRecorder } from '../src/auth/key-usage.recorder.js';
import { KEY_USAGE_RECORDER } from '../src/cloud.tokens.js';
import { createTenant } from './fixtures/cloud-admin.js';
import { queryAsOwner } from './fixtures/owner-query.js';

/**
 * Signed requests in the cloud edition: each API key has a signing secret of its own (issued with it, shown once,
 * stored sealed under ENGRAM_SECRETS_KEY), named by X-Key-Id. Two apps on one database and one Redis (database 4,
 * which this suite alone uses and flushes) stand for two API processes behind a load balancer: a signature accepted
 * by one is a replay to the other. A third app without ENGRAM_SECRETS_KEY issues keys that cannot sign.
 */
const ADMIN = 'admin-token-for-the-signed-requests-e2e';
const REDIS_URL = 'redis://127.0.0.1:6379/4';
const SECRETS_KEY = randomBytes(32).toString('hex');

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

interface SigningKey {
  tenantId: string;
  keyId: string;
  key: string;
  signingSecret: string;
}

interface Signing {
  keyId: string;
  secret: string;
  /** What the signature covers, when the test sends something else. */
  signedBody?: string;
  userContext?: SignedUserContext;
}

describe('cloud edition: signed requests with per-key signing secrets', () => {
  let db: ScratchDatabase;
  let redis: Redis;
  let one: TestApp | undefined;
  let two: TestApp | undefined;
  let unsealed: TestApp | undefined;
  const admin = { authorization: `Bearer ${ADMIN}` };

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    await redis.flushdb();
    db = await createScratchDatabase();
    const env = {
      EDITION: 'cloud',
      DATABASE_URL: db.url,
      ENGRAM_ADMIN_TOKEN: ADMIN,
      ENGRAM_SECRETS_KEY: SECRETS_KEY,
      REDIS_URL,
    };
    // One at a time: each runs the migrations' boot checks on the same database.
    one = await startTestApp(env);
    two = await startTestApp(env);
    unsealed = await startTestApp({ EDITION: 'cloud', DATABASE_URL: db.url, ENGRAM_ADMIN_TOKEN: ADMIN });
  }, 90_000);
  afterAll(async () => {
    await Promise.all([one?.close(), two?.close(), unsealed?.close()]);
    await db?.drop();
    await redis?.flushdb();
    await redis?.quit();
  });

  async function issue(
    app: TestApp,
    tenantId: string,
    scopes = ['memories:read', 'memories:write'],
    expiresAt?: string,
  ): Promise<TestResponse> {
    const issued = await app.request('POST', `/v1/admin/tenants/${tenantId}/api-keys`, {
      headers: admin,
      body: { name: 'signer', scopes, ...(expiresAt ? { expires_at: expiresAt } : {}) },
    });
    expect(issued.status).toBe(201);
    return issued;
  }

  async function signingKey(name: string, scopes?: string[]): Promise<SigningKey> {
    const tenantId = await createTenant(one!, ADMIN, { name });
    const issued = await issue(one!, tenantId, scopes);
    return {
      tenantId,
      keyId: issued.body.api_key.id,
      key: issued.body.key,
      signingSecret: issued.body.signing_secret,
    };
  }

  /** Sends `body` (as these exact bytes) signed as `signing` says; returns the response and the headers sent. */
  async function signed(
    app: TestApp,
    method: Method,
    url: string,
    signing: Signing,
    body?: unknown,
  ): Promise<{ response: TestResponse; headers: Record<string, string>; rawBody?: string }> {
    const rawBody = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {
      [KEY_ID_HEADER]: signing.keyId,
      ...signRequest(signing.secret, {
        method,
        pathAndQuery: url,
        body: signing.signedBody ?? rawBody,
        userContext: signing.userContext ?? { user_id: 'alice' },
      }),
      ...(rawBody === undefined ? {} : { 'content-type': 'application/json' }),
    };
    return { response: await app.request(method, url, { headers, rawBody }), headers, rawBody };
  }

  const as = (k: SigningKey): Signing => ({ keyId: k.keyId, secret: k.signingSecret });

  it('issues a signing secret with each key, shown only in the issuing response', async () => {
    const tenantId = await createTenant(one!, ADMIN, { name: 'shape' });
    const issued = await issue(one!, tenantId);
    expect(Object.keys(issued.body).sort()).toEqual(['api_key', 'key', 'signing_secret']);
    expect(issued.body.signing_secret).toMatch(/^egs_[A-Za-z0-9_-]{43}$/);
    const tenant = await one!.request('GET', `/v1/admin/tenants/${tenantId}`, { headers: admin });
    expect(JSON.stringify(tenant.body)).not.toContain(issued.body.signing_secret.slice(4));
  });

  it('accepts a request signed with the key’s secret, as the key’s tenant with the key’s scopes', async () => {
    const k = await signingKey('acme');
    const added = await signed(one!, 'POST', '/v1/memories?wait=true', as(k), {
      content: 'signed: prefers aisle seats',
      user_id: 'alice',
    });
    expect(added.response.status).toBe(201);
    const id = added.response.body.memory.id as string;
    // The same tenant's bearer key sees it: the signed request wrote into the key's tenant.
    const read = await one!.request('GET', `/v1/memories/${id}`, { headers: { authorization: `Bearer ${k.key}` } });
    expect(read.status).toBe(200);
    expect(read.body.memory.content).toBe('signed: prefers aisle seats');
    const listed = await signed(two!, 'GET', '/v1/memories?user_id=alice', as(k));
    expect(listed.response.status).toBe(200);
    expect(listed.response.body.memories.map((m: { id: string }) => m.id)).toEqual([id]);

    const reader = await signingKey('reader', ['memories:read']);
    const refused = await signed(one!, 'POST', '/v1/memories', as(reader), { content: 'no', user_id: 'alice' });
    expect(refused.response.status).toBe(403);
    expect(refused.response.body.error).toMatchObject({ code: 'FORBIDDEN', details: { missing: ['memories:write'] } });
    expect((await signed(one!, 'GET', '/v1/memories?user_id=alice', as(reader))).response.status).toBe(200);
  });

  it('refuses a secret presented under another key’s id with 401', async () => {
    const a = await signingKey('owner-of-the-secret');
    const b = await signingKey('other-key');
    const crossed = await signed(one!, 'GET', '/v1/memories?user_id=alice', {
      keyId: b.keyId,
      secret: a.signingSecret,
    });
    expect(crossed.response.status).toBe(401);
    expect(crossed.response.body.error.code).toBe('UNAUTHORIZED');
    expect(crossed.response.body.error.message).toContain('does not match');
    // A key that does not exist, and no key at all, are refused the same way.
    const unknown = await signed(one!, 'GET', '/v1/memories?user_id=alice', { ...as(a), keyId: '0123456789abcdef' });
    expect(unknown.response.status).toBe(401);
    const unnamed = await signed(one!, 'GET', '/v1/memories?user_id=alice', { ...as(a), keyId: '' });
    expect(unnamed.response.status).toBe(401);
    expect(unnamed.response.body.error.message).toContain('X-Key-Id');
  });

  it('refuses a revoked key’s and an expired key’s signed requests with 401, and logs why', async () => {
    const k = await signingKey('revoked');
    expect((await signed(one!, 'GET', '/v1/memories?user_id=alice', as(k))).response.status).toBe(200);
    const revoked = await one!.request('DELETE', `/v1/admin/api-keys/${k.keyId}`, { headers: admin });
    expect(revoked.status).toBe(200);
    const refused = await signed(one!, 'GET', '/v1/memories?user_id=alice', as(k));
    expect(refused.response.status).toBe(401);
    expect(refused.response.body.error.message).toBe('the API key is not valid');

    const expiring = await issue(one!, k.tenantId, ['memories:read'], new Date(Date.now() + 1_500).toISOString());
    const soon: Signing = { keyId: expiring.body.api_key.id, secret: expiring.body.signing_secret };
    expect((await signed(one!, 'GET', '/v1/memories?user_id=alice', soon)).response.status).toBe(200);
    await waitFor(async () => (await signed(one!, 'GET', '/v1/memories?user_id=alice', soon)).response.status === 401);

    await waitFor(async () => (await auditActions(k.tenantId)).includes('auth.key_expired'));
    expect(await auditActions(k.tenantId)).toEqual(expect.arrayContaining(['auth.key_revoked', 'auth.key_expired']));
  });

  it('refuses a replay with 401, on the process that accepted it and on another one', async () => {
    const k = await signingKey('replayed');
    const first = await signed(one!, 'POST', '/v1/memories?wait=true', as(k), { content: 'once', user_id: 'bob' });
    expect(first.response.status).toBe(201);
    for (const app of [one!, two!]) {
      const replay = await app.request('POST', '/v1/memories?wait=true', {
        headers: first.headers,
        rawBody: first.rawBody,
      });
      expect(replay.status).toBe(401);
      expect(replay.body.error.message).toContain('already used');
    }
    const listed = await signed(two!, 'GET', '/v1/memories?user_id=bob', as(k));
    expect(listed.response.body.memories).toHaveLength(1);
    await waitFor(async () => (await auditActions(k.tenantId)).includes('auth.signature_replayed'));
  });

  it('accepts a signature on the other process first, then refuses it on the first', async () => {
    const k = await signingKey('other-way');
    const first = await signed(two!, 'GET', '/v1/memories?user_id=alice', as(k));
    expect(first.response.status).toBe(200);
    const replay = await one!.request('GET', '/v1/memories?user_id=alice', { headers: first.headers });
    expect(replay.status).toBe(401);
  });

  it('refuses a tampered body with 401, and writes nothing', async () => {
    const k = await signingKey('tampered');
    const tampered = await signed(
      one!,
      'POST',
      '/v1/memories?wait=true',
      { ...as(k), signedBody: JSON.stringify({ content: 'harmless', user_id: 'carol' }) },
      { content: 'harmful', user_id: 'carol' },
    );
    expect(tampered.response.status).toBe(401);
    expect(tampered.response.body.error.message).toContain('does not match');
    const listed = await signed(one!, 'GET', '/v1/memories?user_id=carol', as(k));
    expect(listed.response.body.memories).toEqual([]);
    await waitFor(async () => (await auditActions(k.tenantId)).includes('auth.invalid_signature'));
  });

  it('never shows a tenant’s signed requests another tenant’s data', async () => {
    const a = await signingKey('tenant-a');
    const b = await signingKey('tenant-b');
    const added = await signed(one!, 'POST', '/v1/memories?wait=true', as(a), {
      content: 'tenant a secret: launch in May',
      user_id: 'dave',
    });
    expect(added.response.status).toBe(201);
    const id = added.response.body.memory.id as string;

    const get = await signed(two!, 'GET', `/v1/memories/${id}`, as(b));
    expect(get.response.status).toBe(404);
    expect(get.response.body.error.code).toBe('MEMORY_NOT_FOUND');
    const list = await signed(one!, 'GET', '/v1/memories?user_id=dave', as(b));
    expect(list.response.body.memories).toEqual([]);
    const search = await signed(two!, 'POST', '/v1/memories/search', as(b), {
      query: 'launch secret',
      user_id: 'dave',
    });
    expect(search.response.status).toBe(200);
    expect(search.response.body.results).toEqual([]);
    const deleted = await signed(one!, 'DELETE', `/v1/memories/${id}`, as(b));
    expect(deleted.response.status).toBe(404);
    expect((await signed(one!, 'GET', `/v1/memories/${id}`, as(a))).response.status).toBe(200);
  });

  it('refuses a tenant key’s signed request on the admin routes with 403', async () => {
    const k = await signingKey('not-an-operator', ['admin', 'memories:read']);
    const refused = await signed(one!, 'POST', '/v1/admin/tenants', as(k), { name: 'sneaky' });
    expect(refused.response.status).toBe(403);
  });

  it('stores the signing secret sealed, never in the clear', async () => {
    const k = await signingKey('at-rest');
    const [row] = await queryAsOwner<Record<string, unknown>>(db.url, `SELECT * FROM api_keys WHERE id = $1`, [
      k.keyId,
    ]);
    const sealed = row.signing_secret_sealed as Buffer;
    expect(Buffer.isBuffer(sealed)).toBe(true);
    const secretBytes = Buffer.from(k.signingSecret.slice(4), 'base64url');
    for (const needle of [Buffer.from(k.signingSecret), Buffer.from(k.signingSecret.slice(4)), secretBytes]) {
      expect(sealed.includes(needle)).toBe(false);
    }
    const asText = JSON.stringify(row, (_, value: unknown) =>
      value && typeof value === 'object' && 'type' in value && value.type === 'Buffer'
        ? Buffer.from((value as unknown as { data: number[] }).data).toString('latin1')
        : value,
    );
    expect(asText).not.toContain(k.signingSecret.slice(4));
    // Copied onto another key's row, the sealed secret does not open there (the key id is bound into it).
    const other = await signingKey('row-copy');
    await queryAsOwner(db.url, `UPDATE api_keys SET signing_secret_sealed = $1 WHERE id = $2`, [sealed, other.keyId]);
    const moved = await signed(one!, 'GET', '/v1/memories?user_id=alice', {
      keyId: other.keyId,
      secret: k.signingSecret,
    });
    expect(moved.response.status).toBe(401);
  });

  it('without ENGRAM_SECRETS_KEY, issues keys without signing secrets and refuses signed requests', async () => {
    const tenantId = await createTenant(unsealed!, ADMIN, { name: 'no-secrets-key' });
    const issued = await issue(unsealed!, tenantId);
    expect(Object.keys(issued.body).sort()).toEqual(['api_key', 'key']);
    expect(JSON.stringify(issued.body)).not.toContain('signing');
    const [row] = await queryAsOwner(db.url, `SELECT signing_secret_sealed FROM api_keys WHERE id = $1`, [
      issued.body.api_key.id,
    ]);
    expect(row.signing_secret_sealed).toBeNull();

    const k = await signingKey('sealed-elsewhere');
    const refused = await signed(unsealed!, 'GET', '/v1/memories?user_id=alice', as(k));
    expect(refused.response.status).toBe(401);
    expect(refused.response.body.error.message).toContain('ENGRAM_SECRETS_KEY');
    // A key issued without a signing secret cannot sign on a server that has the secrets key either.
    const bearerOnly: Signing = { keyId: issued.body.api_key.id, secret: k.signingSecret };
    expect((await signed(one!, 'GET', '/v1/memories?user_id=alice', bearerOnly)).response.status).toBe(401);
  });

  it('records the key’s last use for signed requests, as for bearer ones', async () => {
    const k = await signingKey('last-use');
    expect((await signed(two!, 'GET', '/v1/memories?user_id=alice', as(k))).response.status).toBe(200);
    // What the recorder's timer does every minute, now.
    await two!.app.get<KeyUsageRecorder>(KEY_USAGE_RECORDER).flush();
    const [row] = await queryAsOwner(db.url, `SELECT last_used_at FROM api_keys WHERE id = $1`, [k.keyId]);
    expect(row.last_used_at).toBeInstanceOf(Date);
  });

  async function auditActions(tenantId: string): Promise<string[]> {
    const rows = await queryAsOwner<{ action: string }>(
      db.url,
      `SELECT action FROM audit_events WHERE tenant_id = $1 ORDER BY seq`,
      [tenantId],
    );
    return rows.map((row) => row.action);
  }
});

/** Polls `check` (every 50 ms, up to 5 s): for what happens off the request path (audit writes, expiry). */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('the condition did not come true within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
