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
