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
  /** A tenant quota (memories stored, requests or embedding tokens per month) would be exceeded. */
  QUOTA_EXCEEDED = 'QUOTA_EXCEEDED',
  /** The caller's rate limit is spent for now; `details` is `RateLimitedDetails`. */
  RATE_LIMITED = 'RATE_LIMITED',
  /** Key-value memory: a write with if-not-exists found the key live. */
  KV_EXISTS = 'KV_EXISTS',
  /** Key-value memory: no live entry under the key. */
  KV_NOT_FOUND = 'KV_NOT_FOUND',
  /** A named memory source that the sources file does not declare. */
  SOURCE_NOT_FOUND = 'SOURCE_NOT_FOUND',
}

/** What a RATE_LIMITED exception carries (and its response shows): the limit, and when to try again. */
export interface RateLimitedDetails {
  limit: number;
  remaining: number;
  /** When the allowance is whole again, in seconds since the epoch. */
  reset_at: number;
  retry_after_seconds: number;
}

export function isRateLimitedDetails(details: unknown): details is RateLimitedDetails {
  const d = details as Partial<Record<keyof RateLimitedDetails, unknown>> | null;
  return (
    typeof d === 'object' &&
    d !== null &&
    typeof d.limit === 'number' &&
    typeof d.remaining === 'number' &&
    typeof d.reset_at === 'number' &&
    typeof d.retry_after_seconds === 'number'
  );
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

  /** `details` names the quota (e.g. `{quota: 'max_memories', limit, used, requested}`). */
  static quotaExceeded(message: string, details: { quota: string } & Record<string, unknown>): MemoryException {
    return new MemoryException(MemoryExceptionCode.QUOTA_EXCEEDED, message, details);
  }

  static rateLimited(message: string, details: RateLimitedDetails): MemoryException {
    return new MemoryException(MemoryExceptionCode.RATE_LIMITED, message, details);
  }
}
