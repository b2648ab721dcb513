import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { MemoryException, MemoryExceptionCode } from '../memory.exception.js';
import {
  bodySha256,
  canonicalRequest,
  decodeUserContext,
  encodeUserContext,
  RequestSignatureVerifier,
  signRequest,
  type SignatureRefusal,
  type SignedRequest,
} from './request-signature.js';

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
});
