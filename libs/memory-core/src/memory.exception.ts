/**
 * Every failure the core can report. The core never throws HTTP errors (the worker has no HTTP);
 * the API maps each code to a status exactly once, in its exception filter.
 */
export enum MemoryExceptionCode {
  VALIDATION_FAILED = 'VALIDATION_FAILED',
  SCOPE_REQUIRED = 'SCOPE_REQUIRED',
  INVALID_FILTER = 'INVALID_FILTER',
  INVALID_CURSOR = 'INVALID_CURSOR',
  UNAUTHORIZED = 'UNAUTHORIZED',
  FORBIDDEN = 'FORBIDDEN',
  MEMORY_NOT_FOUND = 'MEMORY_NOT_FOUND',
  CONFLICT = 'CONFLICT',
  EMBEDDING_FAILED = 'EMBEDDING_FAILED',
  DEPENDENCY_UNAVAILABLE = 'DEPENDENCY_UNAVAILABLE',
  TIMEOUT = 'TIMEOUT',
}

export class MemoryException extends Error {
  constructor(
    readonly code: MemoryExceptionCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'MemoryException';
  }

  static notFound(id: string): MemoryException {
    return new MemoryException(MemoryExceptionCode.MEMORY_NOT_FOUND, `memory ${id} not found`, { id });
  }

  static validation(message: string, details?: unknown): MemoryException {
    return new MemoryException(MemoryExceptionCode.VALIDATION_FAILED, message, details);
  }
}
