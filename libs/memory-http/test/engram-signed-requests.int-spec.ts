import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { signRequest, type SignedUserContext } from '@engram/memory-core';
import { startRemoteEngrams, type RemoteEngram } from './remote-engram.js';

/**
 * Engram's own API taking signed requests (ENGRAM_SIGNING_SECRET, OSS), as HttpMemoryProvider sends them: on a real
 * server process, with the body's bytes as sent. A replayed, tampered or stale request is a 401 that says why.
 */

interface Sent {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string }; detail?: string; code?: string };
}

interface Signing {
  secret: string;
  /** What the signature is computed over, when a test sends something else. */
  signedPath?: string;
  signedBody?: string;
  userContext?: SignedUserContext;
  at?: Date;
}

async function send(
  remote: RemoteEngram,
  method: string,
  path: string,
  options: { body?: string; signing?: Signing; headers?: Record<string, string> } = {},
): Promise<{ sent: Sent; headers: Record<string, string> }> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const { signing } = options;
  if (signing) {
    Object.assign(
      headers,
      signRequest(signing.secret, {
        method,
        pathAndQuery: signing.signedPath ?? path,
        body: signing.signedBody ?? options.body,
        userContext: signing.userContext ?? { user_id: 'alice' },
        at: signing.at,
      }),
    );
  }
  return { sent: await sendRaw(remote, method, path, headers, options.body), headers };
}

async function sendRaw(
  remote: RemoteEngram,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Sent> {
  const response = await fetch(`${remote.server.url}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

describe('Engram API: signed requests', () => {
  let signing: RemoteEngram;
  let keyOnly: RemoteEngram;

  beforeAll(async () => {
    [signing, keyOnly] = await startRemoteEngrams(['local'], ['local', false]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([signing?.stop(), keyOnly?.stop()]);
  });

  const secret = () => signing.signingSecret!;

  it('should accept a signed request without an API key, on the mem0 and the native routes', async () => {
    const ping = await send(signing, 'GET', '/mem0/v1/ping/', { signing: { secret: secret() } });
    expect(ping.sent.status).toBe(200);
    const body = JSON.stringify({ content: 'Signed and stored', user_id: 'alice' });
    const added = await send(signing, 'POST', '/v1/memories?wait=true', { body, signing: { secret: secret() } });
    expect(added.sent.status).toBe(201);
    expect(added.sent.body).toMatchObject({ memory: { content: 'Signed and stored', user_id: 'alice' } });
  });

  it('should verify the body as sent, whatever its spacing and key order (no re-serialisation)', async () => {
    const body = '{  "user_id" : "alice",\n  "content": "Spacing \\u0041nd order kept"  }';
    const added = await send(signing, 'POST', '/v1/memories?wait=true', { body, signing: { secret: secret() } });
    expect(added.sent.status).toBe(201);
    expect(added.sent.body).toMatchObject({ memory: { content: 'Spacing And order kept' } });
  });

  it('should refuse a replayed request with 401, though it was valid the first time', async () => {
    const first = await send(signing, 'GET', '/v1/memories?user_id=alice', { signing: { secret: secret() } });
    expect(first.sent.status).toBe(200);
    const replay = await sendRaw(signing, 'GET', '/v1/memories?user_id=alice', first.headers);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(replay.body.error?.message).toContain('already used');
  });

  it('should refuse a replayed write, and not write twice', async () => {
    const body = JSON.stringify({ content: 'Written once', user_id: 'replay-victim' });
    const first = await send(signing, 'POST', '/v1/memories?wait=true', { body, signing: { secret: secret() } });
    expect(first.sent.status).toBe(201);
    expect((await sendRaw(signing, 'POST', '/v1/memories?wait=true', first.headers, body)).status).toBe(401);
    const list = await send(signing, 'GET', '/v1/memories?user_id=replay-victim', { signing: { secret: secret() } });
    expect(list.sent.body.memories).toHaveLength(1);
  });

  it('should refuse a tampered body with 401', async () => {
    const signedBody = JSON.stringify({ content: 'harmless', user_id: 'alice' });
    const body = JSON.stringify({ content: 'harmful', user_id: 'alice' });
    const { sent } = await send(signing, 'POST', '/v1/memories', { body, signing: { secret: secret(), signedBody } });
    expect(sent.status).toBe(401);
    expect(sent.body.error?.message).toContain('does not match');
  });

  it('should refuse a tampered path or query with 401', async () => {
    const query = await send(signing, 'GET', '/v1/memories?user_id=mallory', {
      signing: { secret: secret(), signedPath: '/v1/memories?user_id=alice' },
    });
    expect(query.sent.status).toBe(401);
    const mem0 = await send(signing, 'DELETE', '/mem0/v1/memories/?user_id=alice', {
      signing: { secret: secret(), signedPath: '/mem0/v1/ping/' },
    });
    expect(mem0.sent.status).toBe(401);
    expect(mem0.sent.body).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(mem0.sent.body.detail).toContain('does not match');
  });

  it('should refuse a swapped user context with 401', async () => {
    const first = await send(signing, 'GET', '/mem0/v1/ping/', { signing: { secret: secret() } });
    const headers = {
      ...first.headers,
      'x-user-context': Buffer.from('{"user_id":"mallory"}').toString('base64url'),
      'x-nonce': 'a-fresh-nonce-0123456789',
    };
    expect((await sendRaw(signing, 'GET', '/mem0/v1/ping/', headers)).status).toBe(401);
  });

  it('should refuse a request signed too long ago, or with another secret, with 401', async () => {
    const stale = await send(signing, 'GET', '/mem0/v1/ping/', {
      signing: { secret: secret(), at: new Date(Date.now() - 10 * 60 * 1000) },
    });
    expect(stale.sent.status).toBe(401);
    expect(stale.sent.body.detail).toContain("server's clock");
    const forged = await send(signing, 'GET', '/mem0/v1/ping/', { signing: { secret: 'a guess' } });
    expect(forged.sent.status).toBe(401);
  });

  it('should refuse a signed request whose headers are incomplete or malformed, naming what is wrong', async () => {
    const { sent } = await send(signing, 'GET', '/mem0/v1/ping/', { headers: { 'x-signature': 'abc' } });
    expect(sent.status).toBe(401);
    expect(sent.body.detail).toContain('X-Timestamp');
  });

  it('should still want the API key from a request that is not signed', async () => {
    expect((await send(signing, 'GET', '/mem0/v1/ping/')).sent.status).toBe(401);
    const keyed = await send(signing, 'GET', '/mem0/v1/ping/', {
      headers: { authorization: `Token ${signing.apiKey}` },
    });
    expect(keyed.sent.status).toBe(200);
  });

  it('should refuse signed requests on a server without ENGRAM_SIGNING_SECRET, saying so', async () => {
    const { sent } = await send(keyOnly, 'GET', '/mem0/v1/ping/', { signing: { secret: 'anything' } });
    expect(sent.status).toBe(401);
    expect(sent.body.detail).toContain('ENGRAM_SIGNING_SECRET');
  });
});
