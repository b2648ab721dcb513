import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { renderError } from '../common/filters/api-exception.filter.js';

/** An error as mem0's platform API (Django REST framework) writes it: `{"detail": "..."}`. */
export interface Mem0ErrorBody {
  detail: string;
  /** Engram's error code and request id, for the logs; mem0 clients read `detail` only. */
  code: string;
  request_id: string;
}

/**
 * The mem0 routes' errors in mem0's shape. The statuses are Engram's (one mapping, in `renderError`), which are the
 * ones mem0's clients map to their exceptions: 400 validation, 401/403 authentication, 404 not found, 413 quota
 * (MemoryQuotaExceededError), 429 rate limit (RateLimitError, with Retry-After), 503 unavailable.
 */
@Catch()
export class Mem0ExceptionFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const rendered = renderError(error);
    const body: Mem0ErrorBody = { detail: rendered.message, code: rendered.code, request_id: String(request.id) };
    void http
      .getResponse<FastifyReply>()
      .status(rendered.status)
      .headers(rendered.headers ?? {})
      .send(body);
  }
}
