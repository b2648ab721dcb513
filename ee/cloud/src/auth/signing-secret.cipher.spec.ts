/* @license Enterprise */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { issueSigningSecret, parseSecretsKey, SigningSecretCipher } from './signing-secret.cipher.js';

const KEY_ID = '0123456789abcdef';

describe('SigningSecretCipher', () => {
  const sut = new SigningSecretCipher(randomBytes(32));

  it('should open what it sealed, for the same key id', () => {
    const secret = issueSigningSecret();
    expect(sut.open(sut.seal(secret, KEY_ID), KEY_ID)).toBe(secret);
  });

  it('should seal the same secret differently each time (a fresh IV), never containing it', () => {
    const secret = issueSigningSecret();
    const [a, b] = [sut.seal(secret, KEY_ID), sut.seal(secret, KEY_ID)];
    expect(a.equals(b)).toBe(false);
    expect(a.includes(Buffer.from(secret))).toBe(false);
    expect(a.includes(Buffer.from(secret.slice(4), 'base64url'))).toBe(false);
  });

  it('should not open a secret sealed for another key id, under another key, or altered', () => {
    const sealed = sut.seal(issueSigningSecret(), KEY_ID);
    expect(sut.open(sealed, 'fedcba9876543210')).toBeNull();
    expect(new SigningSecretCipher(randomBytes(32)).open(sealed, KEY_ID)).toBeNull();
    const altered = Buffer.from(sealed);
    altered[altered.length - 1] ^= 1;
    expect(sut.open(altered, KEY_ID)).toBeNull();
    expect(sut.open(sealed.subarray(0, 20), KEY_ID)).toBeNull();
    expect(sut.open(Buffer.concat([Buffer.of(0x02), sealed.subarray(1)]), KEY_ID)).toBeNull();
  });

  it('should issue secrets of 32 random bytes in base64url, with a recognisable prefix', () => {
    const secret = issueSigningSecret();
    expect(secret).toMatch(/^egs_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(secret.slice(4), 'base64url')).toHaveLength(32);
    expect(issueSigningSecret()).not.toBe(secret);
  });

  it('should read ENGRAM_SECRETS_KEY as 64 hex characters or base64 of 32 bytes, and refuse anything else', () => {
    const key = randomBytes(32);
    expect(parseSecretsKey(key.toString('hex')).equals(key)).toBe(true);
    expect(parseSecretsKey(key.toString('base64')).equals(key)).toBe(true);
    expect(() => parseSecretsKey(randomBytes(16).toString('base64'))).toThrow('32 bytes');
  });
});
