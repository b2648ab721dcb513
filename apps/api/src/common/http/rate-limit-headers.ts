import type { RateLimitState } from '@engram/memory-core';
import type { FastifyRequest } from 'fastify';

/** Where the usage guard leaves the caller's rate-limit state for the response's headers. */
export const RATE_LIMIT = Symbol('engram.rateLimit');
export type RateLimitedRequest = FastifyRequest & { [RATE_LIMIT]?: RateLimitState };

/** `X-RateLimit-*` (API.md, "Auth"): the limit per minute, what is left of it, and when it is whole again (epoch s). */
export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return {
    'x-ratelimit-limit': String(state.limit),
    'x-ratelimit-remaining': String(state.remaining),
    'x-ratelimit-reset': String(state.resetAt),
  };
}
