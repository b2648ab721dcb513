/**
 * Errors that say a backing service (PostgreSQL, Redis) cannot be reached, as its client raises them. The providers
 * translate what they know into `DEPENDENCY_UNAVAILABLE`; this is the edge's last line for a client error that
 * escaped them, so that an outage is a 503 the caller may retry, never a 500 that reads like a bug of ours.
 */

/** Socket errors of Node: the connection could not be made or was lost. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * ioredis fails a command it could not send with these (it sets no code): the retries of a request ran out while
 * reconnecting, the connection closed under it, or the offline queue is off while disconnected.
 */
const REDIS_CLIENT_ERRORS = new Set(['MaxRetriesPerRequestError']);
const CLIENT_MESSAGES =
  /^(Connection is closed\.?|Stream isn't writeable and enableOfflineQueue options is false|Connection terminated( unexpectedly| due to connection timeout)?|Client has encountered a connection error and is not queryable)$/;

/** SQLSTATE classes of PostgreSQL for a server that is away: connection exception, operator intervention. */
const SQLSTATE_UNAVAILABLE = /^(08|57P0[1-3])/;

export function isDependencyConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || SQLSTATE_UNAVAILABLE.test(code))) return true;
  if (REDIS_CLIENT_ERRORS.has(error.name)) return true;
  if (CLIENT_MESSAGES.test(error.message)) return true;
  // Node's `AggregateError` for a host name with several addresses, each refused.
  if (error instanceof AggregateError) return error.errors.some(isDependencyConnectionError);
  return false;
}
