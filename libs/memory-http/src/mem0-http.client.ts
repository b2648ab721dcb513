import { setTimeout as sleep } from 'node:timers/promises';
import {
  KEY_ID_HEADER,
  MemoryException,
  MemoryExceptionCode,
  signRequest,
  type RateLimitedDetails,
  type SignedUserContext,
} from '@engram/memory-core';

/** How this server proves itself to the remote: mem0's API key (`Authorization: Token`), a signing secret, or both. */
export interface RemoteCredentials {
  apiKey?: string;
  signingSecret?: string;
  /**
   * The remote's id of the key the signing secret belongs to, sent as `X-Key-Id`: a cloud remote keeps a signing secret
   * per key and must know which one to check the signature with.
   */
  keyId?: string;
}

export interface Mem0HttpClientOptions {
  /** The remote's root: an Engram's (`http://host:8080`), its mem0 root (`…/mem0`), or mem0's platform address. */
  baseUrl: string;
  /** Per attempt. */
  timeoutMs: number;
  /** Attempts after the first. */
  retries: number;
  /** Exponential backoff: `baseMs · 2^retry`, capped at `maxMs`, then jittered down by up to half. */
  backoff?: { baseMs: number; maxMs: number };
  /** A Retry-After longer than this is not waited for: the call fails as RATE_LIMITED at once. */
  maxRetryAfterMs?: number;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Mem0Request {
  method: HttpMethod;
  /** Below the base URL: `/v1/memories/<id>` (mem0's routes end with a slash: `/v1/memories/<id>/`). */
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  credentials: RemoteCredentials;
  /** The scope the call is for; a signed request carries it (X-User-Context). */
  userContext?: SignedUserContext;
  /**
   * False for a write that must not happen twice (an add): it is retried only when the remote surely did nothing
   * with it (a 429, or a connection that was never made), never after a timeout or a 5xx, which may follow the write.
   */
  idempotent?: boolean;
  /** Overrides the client's retries for this call (a health probe answers at once). */
  retries?: number;
}

const DEFAULT_BACKOFF = { baseMs: 200, maxMs: 5_000 };
const DEFAULT_MAX_RETRY_AFTER_MS = 30_000;
/** Connection errors that mean the request never reached the remote. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const REMOTE_VALIDATION_CODES = new Set<string>([
  MemoryExceptionCode.VALIDATION_FAILED,
  MemoryExceptionCode.SCOPE_REQUIRED,
  MemoryExceptionCode.INVALID_FILTER,
  MemoryExceptionCode.INVALID_CURSOR,
]);

type Outcome =
  | { kind: 'response'; status: number; headers: Headers; text: string }
  | { kind: 'timeout' }
  | { kind: 'network'; code: string; sent: boolean };

/**
 * The transport to a remote memory server (an Engram's native API, or a mem0-compatible one): URL building, authentication (a fresh signature per attempt, since the
 * remote refuses a signature it has seen), a timeout per attempt (AbortSignal), retries with exponential backoff and
 * jitter on 429 (honouring Retry-After), 5xx and network errors, never on other 4xx, and the remote's errors as
 * MemoryException codes. Knows nothing of memories.
 */
export class Mem0HttpClient {
  private readonly baseUrl: string;
  private readonly backoff: { baseMs: number; maxMs: number };
  private readonly maxRetryAfterMs: number;

  constructor(private readonly options: Mem0HttpClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  }

  get url(): string {
    return this.baseUrl;
  }

  /** The answer's JSON (null for an empty body); throws MemoryException for anything but a 2xx. */
  async request<T = unknown>(request: Mem0Request): Promise<T> {
    const url = this.urlOf(request);
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    const idempotent = request.idempotent ?? true;
    for (let attempt = 0; ; attempt += 1) {
      const outcome = await this.attempt(request, url, body);
      const retriesLeft = attempt < (request.retries ?? this.options.retries);
      if (outcome.kind === 'response' && outcome.status < 300) return parseJson<T>(outcome);
      const delay = retriesLeft ? this.retryDelay(outcome, attempt, idempotent) : null;
      if (delay === null) throw this.failure(outcome, attempt + 1);
      await sleep(delay);
    }
  }

  private urlOf(request: Mem0Request): URL {
    const url = new URL(`${this.baseUrl}${request.path}`);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  private async attempt(request: Mem0Request, url: URL, body: string | undefined): Promise<Outcome> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const { apiKey, signingSecret, keyId } = request.credentials;
    if (apiKey !== undefined) headers['authorization'] = `Token ${apiKey}`;
    if (keyId !== undefined) headers[KEY_ID_HEADER] = keyId;
    if (signingSecret !== undefined) {
      Object.assign(
        headers,
        signRequest(signingSecret, {
          method: request.method,
          pathAndQuery: `${url.pathname}${url.search}`,
          body,
          userContext: request.userContext ?? {},
        }),
      );
    }
    try {
      const response = await fetch(url, {
        method: request.method,
        headers,
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      return { kind: 'response', status: response.status, headers: response.headers, text: await response.text() };
    } catch (error) {
      if (isTimeout(error)) return { kind: 'timeout' };
      const code = networkCode(error);
      return { kind: 'network', code, sent: !NOT_SENT_CODES.has(code) };
    }
  }

  /** How long to wait before the next attempt, or null when this outcome is not retried. */
  private retryDelay(outcome: Outcome, attempt: number, idempotent: boolean): number | null {
    const backoff = this.jitteredBackoff(attempt);
    switch (outcome.kind) {
      case 'timeout':
        return idempotent ? backoff : null;
      case 'network':
        return idempotent || !outcome.sent ? backoff : null;
      case 'response': {
        if (outcome.status === 429) {
          const retryAfter = retryAfterMs(outcome.headers);
          if (retryAfter === null) return backoff;
          return retryAfter <= this.maxRetryAfterMs ? retryAfter : null;
        }
        return outcome.status >= 500 && idempotent ? backoff : null;
      }
    }
  }

  private jitteredBackoff(attempt: number): number {
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** attempt);
    // "Equal jitter": at least half the step, so retries still back off, and spread so that clients do not march.
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  private failure(outcome: Outcome, attempts: number): MemoryException {
    const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
    switch (outcome.kind) {
      case 'timeout':
        return new MemoryException(
          MemoryExceptionCode.TIMEOUT,
          `the remote memory server did not answer within ${this.options.timeoutMs} ms (${tries})`,
          { remote: this.baseUrl, attempts },
        );
      case 'network':
        return new MemoryException(
          MemoryExceptionCode.DEPENDENCY_UNAVAILABLE,
          `cannot reach the remote memory server at ${this.baseUrl}: ${outcome.code} (${tries})`,
          { remote: this.baseUrl, attempts, cause: outcome.code },
        );
      case 'response':
        return remoteError(outcome, this.baseUrl, attempts);
    }
  }
}

/** The remote's error as the core's: what the caller did wrong stays the caller's; the rest is the remote's trouble. */
export function remoteError(
  response: { status: number; headers: Headers; text: string },
  remote: string,
  attempts = 1,
): MemoryException {
  const { detail, code } = errorBodyOf(response.text);
  const details = { remote, status: response.status, remote_code: code, attempts };
  const says = `the remote memory server answered ${response.status}: ${detail}`;
  const { status } = response;
  if (status === 400 || status === 422) {
    const mapped = code !== null && REMOTE_VALIDATION_CODES.has(code) ? code : MemoryExceptionCode.VALIDATION_FAILED;
    return new MemoryException(mapped as MemoryExceptionCode, detail, details);
  }
  if (status === 404) return new MemoryException(MemoryExceptionCode.MEMORY_NOT_FOUND, detail, details);
  if (status === 409) return new MemoryException(MemoryExceptionCode.CONFLICT, detail, details);
  if (status === 413) {
    return code === MemoryExceptionCode.QUOTA_EXCEEDED
      ? MemoryException.quotaExceeded(`the remote memory server's quota: ${detail}`, { quota: 'remote', ...details })
      : MemoryException.validation(`the request is too large for the remote memory server: ${detail}`, details);
  }
  if (status === 429) return MemoryException.rateLimited(says, rateLimitOf(response.headers));
  // 401 and 403 say that this server's credentials for the remote are wrong: a fault of this deployment's
  // configuration, not of the caller, whose own key was accepted here.
  if (status === 401 || status === 403) {
    return new MemoryException(
      MemoryExceptionCode.DEPENDENCY_UNAVAILABLE,
      `the remote memory server refused this server's credentials (${status}): ${detail}`,
      details,
    );
  }
  return new MemoryException(MemoryExceptionCode.DEPENDENCY_UNAVAILABLE, says, details);
}

function errorBodyOf(text: string): { detail: string; code: string | null } {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const nested = typeof body.error === 'object' && body.error !== null ? (body.error as Record<string, unknown>) : {};
    const detail = body.detail ?? nested.message ?? body.message ?? text;
    const code = typeof body.code === 'string' ? body.code : typeof nested.code === 'string' ? nested.code : null;
    return { detail: typeof detail === 'string' ? detail : JSON.stringify(detail), code };
  } catch {
    return { detail: text.slice(0, 300) || '(no body)', code: null };
  }
}

function parseJson<T>(response: { status: number; text: string }): T {
  if (response.text.length === 0) return null as T;
  try {
    return JSON.parse(response.text) as T;
  } catch {
    throw new MemoryException(
      MemoryExceptionCode.DEPENDENCY_UNAVAILABLE,
      `the remote memory server answered ${response.status} with a body that is not JSON`,
    );
  }
}

/** Retry-After in delta-seconds or as an HTTP date; null when absent or unreadable. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | null {
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function rateLimitOf(headers: Headers): RateLimitedDetails {
  const retryAfterSeconds = Math.ceil((retryAfterMs(headers) ?? 1000) / 1000);
  const number = (name: string, fallback: number) => {
    const parsed = Number(headers.get(name));
    return headers.get(name) !== null && Number.isFinite(parsed) ? parsed : fallback;
  };
  return {
    limit: number('x-ratelimit-limit', 0),
    remaining: number('x-ratelimit-remaining', 0),
    reset_at: number('x-ratelimit-reset', Math.ceil(Date.now() / 1000) + retryAfterSeconds),
    retry_after_seconds: retryAfterSeconds,
  };
}

// Duck-typed, not `instanceof Error`: fetch's errors may come from another realm (a VM context) than this module's.
function isTimeout(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

function networkCode(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; errors?: { code?: unknown }[] } } | null)?.cause;
  const code = cause?.code ?? cause?.errors?.find((inner) => typeof inner?.code === 'string')?.code;
  if (typeof code === 'string') return code;
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}
