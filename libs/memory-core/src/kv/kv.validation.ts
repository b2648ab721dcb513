import { MemoryException, MemoryExceptionCode } from '../memory.exception.js';
import type { KvScanQuery, KvSetOptions, KvTags } from './key-value-provider.js';

export const KV_KEY_PATTERN = /^[A-Za-z0-9._:/-]{1,512}$/;
export const KV_MAX_VALUE_BYTES = 256 * 1024;
export const KV_MAX_TAGS = 50;
export const KV_MAX_SCAN_LIMIT = 1000;

export function assertKvKey(key: string): void {
  if (typeof key !== 'string' || !KV_KEY_PATTERN.test(key)) {
    throw MemoryException.validation('a key is 1-512 characters of A-Z a-z 0-9 . _ : - /', { key });
  }
}

/** The value as stored: JSON, at most 256 KB. */
export function serializeKvValue(value: unknown): string {
  const json = value === undefined ? undefined : JSON.stringify(value);
  if (json === undefined) throw MemoryException.validation('a value must be JSON');
  if (Buffer.byteLength(json) > KV_MAX_VALUE_BYTES) {
    throw MemoryException.validation(`a value is at most ${KV_MAX_VALUE_BYTES} bytes of JSON`, {
      bytes: Buffer.byteLength(json),
    });
  }
  return json;
}

export function assertKvOptions(options: KvSetOptions): void {
  const { ttlSeconds, tags, userId } = options;
  if (ttlSeconds !== undefined && (!Number.isInteger(ttlSeconds) || ttlSeconds < 1)) {
    throw MemoryException.validation('ttl_seconds is a positive integer', { ttl_seconds: ttlSeconds });
  }
  if (userId !== undefined && (typeof userId !== 'string' || userId.length < 1 || userId.length > 255)) {
    throw MemoryException.validation('user_id is 1-255 characters');
  }
  if (tags !== undefined) assertKvTags(tags);
}

function assertKvTags(tags: KvTags): void {
  const entries = Object.entries(tags);
  if (entries.length > KV_MAX_TAGS) throw MemoryException.validation(`at most ${KV_MAX_TAGS} tags`);
  for (const [name, value] of entries) {
    if (name.length < 1 || name.length > 100 || typeof value !== 'string' || value.length > 256) {
      throw MemoryException.validation('a tag is a name of 1-100 characters with a string value of up to 256', {
        tag: name,
      });
    }
  }
}

export function assertKvScan(query: KvScanQuery): void {
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > KV_MAX_SCAN_LIMIT) {
    throw MemoryException.validation(`limit is 1-${KV_MAX_SCAN_LIMIT}`, { limit: query.limit });
  }
}

/** Cursors name the last key returned: the next page starts after it, so each key comes once. */
export function encodeKvCursor(lastKey: string): string {
  return Buffer.from(lastKey, 'utf8').toString('base64url');
}

export function decodeKvCursor(cursor: string | undefined): string | null {
  if (cursor === undefined || cursor === '') return null;
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!KV_KEY_PATTERN.test(key)) {
    throw new MemoryException(MemoryExceptionCode.INVALID_CURSOR, 'the cursor is not one this server gave');
  }
  return key;
}

export function kvExists(key: string): MemoryException {
  return new MemoryException(MemoryExceptionCode.KV_EXISTS, `key ${key} already exists`, { key });
}

export function kvNotFound(key: string): MemoryException {
  return new MemoryException(MemoryExceptionCode.KV_NOT_FOUND, `key ${key} not found`, { key });
}
