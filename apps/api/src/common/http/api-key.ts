import { timingSafeEqual, createHash } from 'node:crypto';

/**
 * The key a request presents: `Authorization: Bearer <key>`, `Authorization: Token <key>` (mem0
 * clients) or `X-API-Key: <key>`.
 */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | null {
  const authorization = headers['authorization'];
  if (typeof authorization === 'string') {
    const match = /^(Bearer|Token)\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[2];
  }
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.length > 0 ? apiKey : null;
}

/** Compares in constant time; hashing first makes lengths equal so the length leaks nothing either. */
export function keysMatch(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
