import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { USAGE_TRACKER, type UsageTracker } from '@engram/memory-core';
import { RATE_LIMIT, type RateLimitedRequest } from '../http/rate-limit-headers.js';
import { PRINCIPAL, type AuthenticatedRequest } from './auth.guard.js';

/**
 * Admits each tenant request before any work is done: the edition's UsageTracker counts it against the tenant's
 * quotas and the key's rate limit (OSS: nothing to count), and may refuse it (429, 413). The rate limit's state is
 * left on the request for the `X-RateLimit-*` headers of its response (see app.factory.ts). Runs after AuthGuard
 * (registered after it); a request it finds unauthenticated means that order broke, and is refused.
 */
@Injectable()
export class UsageGuard implements CanActivate {
  constructor(@Inject(USAGE_TRACKER) private readonly usage: UsageTracker) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest & RateLimitedRequest>();
    const principal = request[PRINCIPAL];
    if (principal === undefined) throw new Error('UsageGuard ran before AuthGuard authenticated the request');
    if (principal.kind !== 'tenant') return true;
    const state = await this.usage.admitRequest(principal.tenantId, principal.keyId);
    if (state) request[RATE_LIMIT] = state;
    return true;
  }
}
