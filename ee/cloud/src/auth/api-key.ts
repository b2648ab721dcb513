import { createHash, randomBytes } from 'node:crypto';

/**
 * Tenant API keys: `egm_<env>_<id>_<secret>`. The id is public (it is what the server looks up, and what logs and
 * the audit trail name); the secret is 32 random bytes (256 bits) in base64url, shown once and stored only as its
 * SHA-256. A fast hash is right here: the secret is random and long, so there is nothing to brute-force a
 * dictionary over, and a slow hash would cost every request.
 */
export const API_KEY_PREFIX = 'egm';
export const KEY_ENVIRONMENTS = ['live', 'test'] as const;
export type KeyEnvironment = (typeof KEY_ENVIRONMENTS)[number];

const ID_BYTES = 8;
const SECRET_BYTES = 32;
const KEY_PATTERN = /^egm_(live|test)_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const KEY_ID_PATTERN = /^[0-9a-f]{16}$/;

export interface IssuedApiKey {
  id: string;
  /** The whole key, to hand to the caller once. */
  key: string;
  secretHash: Buffer;
}

export interface PresentedApiKey {
  environment: KeyEnvironment;
  id: string;
  secret: string;
}

export function issueApiKey(environment: KeyEnvironment): IssuedApiKey {
  // Hex: no '_' in the id, so the key splits unambiguously (the secret may contain '_' and '-').
  const id = randomBytes(ID_BYTES).toString('hex');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { id, key: `${API_KEY_PREFIX}_${environment}_${id}_${secret}`, secretHash: hashSecret(secret) };
}

/** Whether `id` has the form of a key's public id (what X-Key-Id names). */
export function isApiKeyId(id: string): boolean {
  return KEY_ID_PATTERN.test(id);
}

/** The parts of a well-formed key; null for anything else (which is then simply not a key of ours). */
export function parseApiKey(key: string): PresentedApiKey | null {
  const match = KEY_PATTERN.exec(key);
  if (!match) return null;
  return { environment: match[1] as KeyEnvironment, id: match[2], secret: match[3] };
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}
