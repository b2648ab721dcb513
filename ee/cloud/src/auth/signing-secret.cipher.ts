/* @license Enterprise */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Per-key signing secrets: `egs_` and 32 random bytes in base64url, issued with the key and shown once.
 *
 * Unlike the key's own secret, which is stored as a hash, the signing secret is stored encrypted: to check a request's
 * HMAC the server must compute the same HMAC, so it needs the secret itself, and a hash cannot give it back. The
 * encryption key (ENGRAM_SECRETS_KEY) lives in the process's configuration, never in the database, so a copy of the
 * database (a backup, a replica, a read through SQL) holds no usable signing secret.
 */
export const SIGNING_SECRET_PREFIX = 'egs_';

const SECRET_BYTES = 32;
/** The format of a sealed secret, its first byte: a later format (another cipher, a rotated key) can be told apart. */
const SEALED_V1 = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function issueSigningSecret(): string {
  return `${SIGNING_SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64url')}`;
}

/** ENGRAM_SECRETS_KEY as the configuration accepts it: 64 hex characters, or base64 of 32 bytes. */
export function parseSecretsKey(text: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32) throw new Error('ENGRAM_SECRETS_KEY must be 32 bytes, as 64 hex characters or base64');
  return key;
}

/**
 * AES-256-GCM under ENGRAM_SECRETS_KEY, as `0x01 | iv (12) | tag (16) | ciphertext`, a fresh random IV per secret.
 * The key's id is the additional authenticated data: a sealed secret copied onto another key's row does not open
 * there, so whoever can write `api_keys` still cannot make one key sign as another.
 */
export class SigningSecretCipher {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the signing secrets key must be 32 bytes (AES-256)');
    this.key = Buffer.from(key);
  }

  static fromConfig(secretsKey: string): SigningSecretCipher {
    return new SigningSecretCipher(parseSecretsKey(secretsKey));
  }

  seal(secret: string, keyId: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(keyId, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.of(SEALED_V1), iv, cipher.getAuthTag(), ciphertext]);
  }

  /** The secret, or null when it does not open: another key's, another ENGRAM_SECRETS_KEY's, or altered. */
  open(sealed: Buffer, keyId: string): string | null {
    if (sealed.length <= 1 + IV_BYTES + TAG_BYTES || sealed[0] !== SEALED_V1) return null;
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
      decipher.setAAD(Buffer.from(keyId, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      return null;
    }
  }
}
