import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ACCESS_RULE, AUTHENTICATOR, type AccessRule, type Authenticator, type Principal } from '@engram/memory-core';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '@engram/http';
import { presentedKey } from '../http/api-key.js';

/** Where the guard leaves the caller for the request-context interceptor. */
export const PRINCIPAL = Symbol('engram.principal');
export type AuthenticatedRequest = FastifyRequest & { [PRINCIPAL]?: Principal };

/**
 * Every route declares who may call it (`@Public`, `@RequireScopes`, `@OperatorOnly`); this guard asks the
 * edition's Authenticator about the presented key. A route that declares nothing is refused: forgetting the rule
 * must fail closed (and a test walks the route table so that it never ships).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule = this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [
      context.getHandler(),
      context.getClass(),
    ]);
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (!rule) throw new ApiError(403, 'FORBIDDEN', 'this route declares no access rule');
    if (rule.audience === 'public') {
      request[PRINCIPAL] = { kind: 'anonymous' };
      return true;
    }
    request[PRINCIPAL] = await this.authenticator.authenticate(presentedKey(request.headers), rule);
    return true;
  }
}
