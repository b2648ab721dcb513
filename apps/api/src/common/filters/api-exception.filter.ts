import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { isRateLimitedDetails, MemoryException, MemoryExceptionCode } from '@engram/memory-core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '@engram/http';
import { rateLimitHeaders } from '../http/rate-limit-headers.js';
import { isDependencyConnectionError } from './dependency-errors.js';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
  request_id: string;
}

interface Rendered {
  status: number;
  code: string;
  message: string;
  details?: unknown;
  headers?: Record<string, string>;
}

function assertUnreachable(value: never): never {
  throw new Error(`unhandled memory exception code: ${String(value)}`);
}

/** The one mapping from the core's error codes to HTTP statuses. */
export function statusOf(code: MemoryExceptionCode): number {
  switch (code) {
    case MemoryExceptionCode.VALIDATION_FAILED:
    case MemoryExceptionCode.SCOPE_REQUIRED:
    case MemoryExceptionCode.INVALID_FILTER:
    case MemoryExceptionCode.INVALID_CURSOR:
      return 400;
    case MemoryExceptionCode.UNAUTHORIZED:
      return 401;
    case MemoryExceptionCode.FORBIDDEN:
      return 403;
    case MemoryExceptionCode.MEMORY_NOT_FOUND:
    case MemoryExceptionCode.KV_NOT_FOUND:
    case MemoryExceptionCode.SOURCE_NOT_FOUND:
      return 404;
    case MemoryExceptionCode.CONFLICT:
    case MemoryExceptionCode.KV_EXISTS:
      return 409;
    case MemoryExceptionCode.QUOTA_EXCEEDED:
      return 413;
    case MemoryExceptionCode.RATE_LIMITED:
      return 429;
    case MemoryExceptionCode.EMBEDDING_FAILED:
    case MemoryExceptionCode.DEPENDENCY_UNAVAILABLE:
      return 503;
    case MemoryExceptionCode.TIMEOUT:
      return 504;
    default:
      return assertUnreachable(code);
  }
}

/** Errors Fastify raises before a route runs (body parsing, limits), by status. */
const TRANSPORT_CODES: Record<number, string> = {
  400: 'MALFORMED_REQUEST',
  404: 'ROUTE_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

const logger = new Logger('ApiExceptionFilter');

/**
 * How long a caller should wait after a 503 (a dependency is down, `/ready` failing): about what a restart or a
 * failover of Postgres or Redis takes, and what the clients' reconnects need to notice it is back.
 */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

/** When to come back: soon for a dependency that is down; when the allowance refills for a rate limit. */
function headersOf(error: MemoryException, status: number): Record<string, string> | undefined {
  if (status === 503) return { 'retry-after': String(DEPENDENCY_RETRY_AFTER_SECONDS) };
  if (error.code === MemoryExceptionCode.RATE_LIMITED && isRateLimitedDetails(error.details)) {
    const details = error.details;
    return {
      'retry-after': String(details.retry_after_seconds),
      ...rateLimitHeaders({ limit: details.limit, remaining: details.remaining, resetAt: details.reset_at }),
    };
  }
  return undefined;
}

export function renderError(error: unknown): Rendered {
  if (error instanceof MemoryException) {
    const status = statusOf(error.code);
    return {
      status,
      code: error.code,
      message: error.message,
      details: error.details,
      headers: headersOf(error, status),
    };
  }
  if (error instanceof ApiError) {
    return {
      status: error.status,
      code: error.code,
      message: error.message,
      details: error.details,
      headers: error.headers,
    };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const code = TRANSPORT_CODES[status] ?? `HTTP_${status}`;
    return { status, code, message: status === 404 ? 'no such route' : error.message };
  }
  const transport = error as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof transport.statusCode === 'number' && transport.statusCode >= 400 && transport.statusCode < 500) {
    const status = transport.statusCode;
    let message = typeof transport.message === 'string' ? transport.message : 'bad request';
    if (status === 400 && error instanceof SyntaxError) message = `the request body is not valid JSON: ${message}`;
    if (status === 413) message = 'the request body is larger than the server accepts (MAX_BODY_BYTES)';
    return { status, code: TRANSPORT_CODES[status] ?? `HTTP_${status}`, message };
  }
  if (isDependencyConnectionError(error)) {
    logger.warn(`a dependency is unavailable: ${(error as Error).message}`);
    return {
      status: 503,
      code: MemoryExceptionCode.DEPENDENCY_UNAVAILABLE,
      message: 'a service Engram depends on is unavailable; retry later',
      headers: { 'retry-after': String(DEPENDENCY_RETRY_AFTER_SECONDS) },
    };
  }
  logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return { status: 500, code: 'INTERNAL_ERROR', message: 'an unexpected error occurred' };
}

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const rendered = renderError(error);
  const body: ErrorBody = {
    error: {
      code: rendered.code,
      message: rendered.message,
      ...(rendered.details === undefined ? {} : { details: rendered.details }),
    },
    request_id: String(request.id),
  };
  void reply
    .status(rendered.status)
    .headers(rendered.headers ?? {})
    .send(body);
}

/** Every error leaves as `{"error": {code, message, details}, "request_id"}`, never as a stack trace. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendError(error, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
  }
}
