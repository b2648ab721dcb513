import { MemoryException, MemoryExceptionCode } from '@engram/memory-core';

/** Node socket errors: the database cannot be reached at all. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Turns a database error into the protocol's typed error, so the API answers with the right status rather than
 * a 500, by SQLSTATE class:
 * - 22 (data exception: a value the column cannot hold, e.g. a NUL character in text) → VALIDATION_FAILED;
 * - 40 (serialization failure, deadlock: the caller may retry) → CONFLICT;
 * - 08, 53, 57, 58 (connection, resources, shutdown, system) and socket errors → DEPENDENCY_UNAVAILABLE.
 * Anything else (a constraint or syntax error) is a bug of ours and is rethrown as it is.
 */
export function translateSqlError(error: unknown): unknown {
  if (error instanceof MemoryException || typeof error !== 'object' || error === null) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') {
    return isConnectionMessage(error) ? unavailable(error) : error;
  }
  if (CONNECTION_ERRORS.has(code)) return unavailable(error);
  switch (code.slice(0, 2)) {
    case '22':
      return MemoryException.validation(`the database refused a value: ${messageOf(error)}`, { sqlState: code });
    case '40':
      return new MemoryException(MemoryExceptionCode.CONFLICT, `concurrent change: ${messageOf(error)}`, {
        sqlState: code,
      });
    case '08':
    case '53':
    case '57':
    case '58':
      return unavailable(error);
    default:
      return error;
  }
}

function unavailable(error: object): MemoryException {
  return new MemoryException(
    MemoryExceptionCode.DEPENDENCY_UNAVAILABLE,
    `the database is unavailable: ${messageOf(error)}`,
  );
}

/** pg reports a connection lost mid-query as a plain Error without a code. */
function isConnectionMessage(error: object): boolean {
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(messageOf(error));
}

function messageOf(error: object): string {
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' ? message : String(error);
}
