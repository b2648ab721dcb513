import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { MemoryException, MemoryExceptionCode } from '../memory.exception.js';
import {
  bodySha256,
  canonicalRequest,
  decodeUserContext,
  encodeUserContext,
  KEY_ID_HEADER,
  RequestSignatureVerifier,
  SignedRequestGate,
  signRequest,
  type SignatureRefusal,
  type SignedRequest,
} from './request-signature.js';
import { InProcessSignatureReplayGuard, type SignatureReplayGuard } from './signature-replay.guard.js';

const SECRET = 'test-signing-secret';
const NOW = Date.UTC(2026, 4, 1, 12, 0, 0);

function signed(overrides: Partial<SignedRequest> = {}, at = new Date(NOW)): SignedRequest {
  const body = '{"query":"peanuts","filters":{"user_id":"alice"}}';
  const headers = signRequest(SECRET, {
    method: 'POST',
    pathAndQuery: '/mem0/v3/memories/search/?x=1',
    body,
    userContext: { user_id: 'alice' },
    at,
  });
  return { method: 'POST', pathAndQuery: '/mem0/v3/memories/search/?x=1', headers, body, ...overrides };
}

function verifier(now = NOW, options: { maxRemembered?: number } = {}) {
  const clock = { now };
  return { clock, sut: new RequestSignatureVerifier(SECRET, { now: () => clock.now, ...options }) };
}

async function asyncRefusal(fn: () => Promise<unknown>): Promise<SignatureRefusal | null> {
  try {
    await fn();
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(MemoryException);
    expect((error as MemoryException).code).toBe(MemoryExceptionCode.UNAUTHORIZED);
    return ((error as MemoryException).details as { reason: SignatureRefusal }).reason;
  }
}

function refusal(fn: () => unknown): SignatureRefusal | null {
  try {
    fn();
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(MemoryException);
    expect((error as MemoryException).code).toBe(MemoryExceptionCode.UNAUTHORIZED);
    return ((error as MemoryException).details as { reason: SignatureRefusal }).reason;
  }
}

describe('request signatures', () => {
  describe('the canonical string', () => {
    it('should be method, path and query, timestamp, nonce, body sha256 and user context, one per line', () => {
      const canonical = canonicalRequest({
        method: 'post',
        pathAndQuery: '/mem0/v1/memories/?user_id=alice',
        timestamp: 1_777_636_800,
        nonce: 'n0nce-0123456789ab',
        bodySha256: bodySha256('{}'),
        userContext: 'eyJ1c2VyX2lkIjoiYWxpY2UifQ',
      });
      expect(canonical).toBe(
        [
          'POST',
          '/mem0/v1/memories/?user_id=alice',
          '1777636800',
          'n0nce-0123456789ab',
          createHash('sha256').update('{}').digest('hex'),
          'eyJ1c2VyX2lkIjoiYWxpY2UifQ',
        ].join('\n'),
      );
    });

    it('should hash an absent body as the empty string', () => {
      expect(bodySha256(undefined)).toBe(createHash('sha256').update('').digest('hex'));
      expect(bodySha256(Buffer.from('{"a":1}'))).toBe(bodySha256('{"a":1}'));
    });

    it('should sign with HMAC-SHA256 of the canonical string, in lowercase hex', () => {
      const headers = signRequest(SECRET, {
        method: 'GET',
        pathAndQuery: '/mem0/v1/ping/',
        userContext: {},
        at: new Date(NOW),
        nonce: 'fixed-nonce-for-test',
      });
      const canonical = [
        'GET',
        '/mem0/v1/ping/',
        String(NOW / 1000),
        'fixed-nonce-for-test',
        bodySha256(''),
        encodeUserContext({}),
      ].join('\n');
      expect(headers['x-signature']).toBe(createHmac('sha256', SECRET).update(canonical).digest('hex'));
      expect(headers['x-timestamp']).toBe(String(NOW / 1000));
    });

    it('should encode the user context in a fixed key order, leaving out absent keys, and decode it back', () => {
      const encoded = encodeUserContext({ run_id: 'r1', user_id: 'alice', agent_id: undefined });
      expect(JSON.parse(Buffer.from(encoded, 'base64url').toString())).toEqual({ user_id: 'alice', run_id: 'r1' });
      expect(Buffer.from(encoded, 'base64url').toString()).toBe('{"user_id":"alice","run_id":"r1"}');
      expect(decodeUserContext(encoded)).toEqual({ user_id: 'alice', run_id: 'r1' });
    });

    it.each([
      ['not base64url', '***'],
      ['not JSON', Buffer.from('alice').toString('base64url')],
      ['an array', Buffer.from('["alice"]').toString('base64url')],
      ['an unknown key', Buffer.from('{"tenant_id":"x"}').toString('base64url')],
      ['a number for user_id', Buffer.from('{"user_id":7}').toString('base64url')],
    ])('should refuse a user context that is %s as malformed', (_, value) => {
      expect(refusal(() => decodeUserContext(value))).toBe('malformed');
    });
  });

  describe('verification', () => {
    it('should accept a request signed with the secret and return its user context', () => {
      const { sut } = verifier();
      expect(sut.verify(signed())).toEqual({ userContext: { user_id: 'alice' }, timestamp: NOW / 1000 });
    });

    it.each<[string, Partial<SignedRequest>]>([
      ['body', { body: '{"query":"peanuts","filters":{"user_id":"mallory"}}' }],
      ['path', { pathAndQuery: '/mem0/v3/memories/search/?x=2' }],
      ['method', { method: 'PUT' }],
    ])('should refuse a request whose %s was changed after signing', (_, change) => {
      const { sut } = verifier();
      expect(refusal(() => sut.verify(signed(change)))).toBe('mismatch');
    });

    it('should refuse a request whose user context was swapped', () => {
      const { sut } = verifier();
      const request = signed();
      const headers = { ...request.headers, 'x-user-context': encodeUserContext({ user_id: 'mallory' }) };
      expect(refusal(() => sut.verify({ ...request, headers }))).toBe('mismatch');
    });

    it('should refuse a request signed with another secret', () => {
      const other = new RequestSignatureVerifier('another secret', { now: () => NOW });
      expect(refusal(() => other.verify(signed()))).toBe('mismatch');
    });

    it('should sign two identical requests in the same second differently (a fresh nonce each)', () => {
      const { sut } = verifier();
      const [a, b] = [signed(), signed()];
      expect(a.headers['x-signature']).not.toBe(b.headers['x-signature']);
      sut.verify(a);
      expect(refusal(() => sut.verify(b))).toBeNull();
    });

    it('should refuse a request whose nonce was changed to pass a replay off as new', () => {
      const { sut } = verifier();
      const request = signed();
      sut.verify(request);
      const headers = { ...request.headers, 'x-nonce': 'another-nonce-1234567' };
      expect(refusal(() => sut.verify({ ...request, headers }))).toBe('mismatch');
    });

    it('should refuse a signature seen before within the window (a replay)', () => {
      const { sut } = verifier();
      const request = signed();
      sut.verify(request);
      expect(refusal(() => sut.verify(request))).toBe('replayed');
    });

    it('should refuse a timestamp older or newer than the window, and accept one at its edge', () => {
      const { sut } = verifier();
      expect(refusal(() => sut.verify(signed({}, new Date(NOW - 5 * 60_000 - 1_000))))).toBe('expired');
      expect(refusal(() => sut.verify(signed({}, new Date(NOW + 5 * 60_000 + 1_000))))).toBe('expired');
      expect(refusal(() => sut.verify(signed({}, new Date(NOW - 5 * 60_000))))).toBeNull();
    });

    it('should refuse a captured request replayed after the window, when it has forgotten the signature', () => {
      const { sut, clock } = verifier();
      const request = signed();
      sut.verify(request);
      clock.now = NOW + 5 * 60_000 + 1_000;
      expect(refusal(() => sut.verify(request))).toBe('expired');
      sut.verify(signed({}, new Date(clock.now)));
      expect(sut.remembered).toBe(1);
    });

    it('should refuse new signatures once its memory is full, rather than forget a live one', () => {
      const { sut, clock } = verifier(NOW, { maxRemembered: 2 });
      sut.verify(signed({}, new Date(NOW)));
      sut.verify(signed({}, new Date(NOW + 1_000)));
      clock.now = NOW + 2_000;
      expect(refusal(() => sut.verify(signed({}, new Date(NOW + 2_000))))).toBe('overloaded');
      clock.now = NOW + 5 * 60_000 + 1_500;
      expect(refusal(() => sut.verify(signed({}, new Date(clock.now))))).toBeNull();
    });

    it.each<[string, Record<string, string>, SignatureRefusal]>([
      ['no signature', { 'x-signature': '' }, 'missing'],
      ['a signature that is not hex', { 'x-signature': 'z'.repeat(64) }, 'malformed'],
      ['a timestamp that is not a number', { 'x-timestamp': 'yesterday' }, 'malformed'],
      ['a nonce too short', { 'x-nonce': 'abc' }, 'malformed'],
      ['no nonce', { 'x-nonce': '' }, 'missing'],
      ['no user context', { 'x-user-context': '' }, 'missing'],
    ])('should refuse %s', (_, change, reason) => {
      const { sut } = verifier();
      const request = signed();
      expect(refusal(() => sut.verify({ ...request, headers: { ...request.headers, ...change } }))).toBe(reason);
    });
  });

  describe('the gate (the secret chosen per request, a replay guard shared)', () => {
    function gate(replays: SignatureReplayGuard = new InProcessSignatureReplayGuard({ now: () => NOW })) {
      return new SignedRequestGate(replays, 'the deployment secret', { now: () => NOW });
    }

    it('should present the key a request names, and verify it against the secret the caller chooses', async () => {
      const request = signed();
      const presented = gate().present({ ...request, headers: { ...request.headers, [KEY_ID_HEADER]: '0123abcd' } });
      expect(presented.keyId).toBe('0123abcd');
      expect(presented.configuredSecret).toBe('the deployment secret');
      await expect(presented.verify(SECRET)).resolves.toEqual({
        userContext: { user_id: 'alice' },
        timestamp: NOW / 1000,
      });
    });

    it('should refuse another secret as a mismatch, without using up the signature', async () => {
      const replays = new InProcessSignatureReplayGuard({ now: () => NOW });
      const request = signed();
      expect(await asyncRefusal(() => gate(replays).present(request).verify('another secret'))).toBe('mismatch');
      expect(replays.remembered).toBe(0);
      expect(await asyncRefusal(() => gate(replays).present(request).verify(SECRET))).toBeNull();
    });

    it('should refuse a replay through any gate that shares the replay guard', async () => {
      const replays = new InProcessSignatureReplayGuard({ now: () => NOW });
      const request = signed();
      await gate(replays).present(request).verify(SECRET);
      expect(await asyncRefusal(() => gate(replays).present(request).verify(SECRET))).toBe('replayed');
    });

    it('should offer the guard the moment the timestamp leaves the window', async () => {
      const offered: Array<[string, number]> = [];
      const recording: SignatureReplayGuard = {
        firstUse: async (signature, expiresAt) => {
          offered.push([signature, expiresAt]);
          return true;
        },
      };
      const request = signed({}, new Date(NOW - 60_000));
      await gate(recording).present(request).verify(SECRET);
      expect(offered).toEqual([[request.headers['x-signature'], NOW - 60_000 + 5 * 60_000]]);
    });

    it('should refuse malformed and stale requests before any secret is chosen', () => {
      const request = signed();
      expect(refusal(() => gate().present({ ...request, headers: { ...request.headers, 'x-nonce': '' } }))).toBe(
        'missing',
      );
      expect(refusal(() => gate().present(signed({}, new Date(NOW - 6 * 60_000))))).toBe('expired');
    });
  });

  describe('the in-process replay guard', () => {
    it('should say true once per signature, and forget it once it has expired', async () => {
      const clock = { now: NOW };
      const sut = new InProcessSignatureReplayGuard({ now: () => clock.now });
      expect(await sut.firstUse('a'.repeat(64), NOW + 1_000)).toBe(true);
      expect(await sut.firstUse('a'.repeat(64), NOW + 1_000)).toBe(false);
      clock.now = NOW + 1_001;
      expect(await sut.firstUse('b'.repeat(64), NOW + 2_000)).toBe(true);
      expect(sut.remembered).toBe(1);
    });
  });
});
