import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ENGRAM_CONFIG, type EngramConfig } from '@engram/config';
import {
  ACCESS_RULE,
  AUTHENTICATOR,
  RequestSignatureVerifier,
  SIGNATURE_HEADER,
  unauthorized,
  type AccessRule,
  type Authenticator,
  type Principal,
} from '@engram/memory-core';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '@engram/http';
import { presentedKey } from '../http/api-key.js';

/** Where the guard leaves the caller for the request-context interceptor. */
export const PRINCIPAL = Symbol('engram.principal');
/** `rawBody` is the JSON body's bytes as received (app.factory.ts keeps them): what a signature covers. */
export type AuthenticatedRequest = FastifyRequest & { [PRINCIPAL]?: Principal; rawBody?: Buffer };

/**
 * Every route declares who may call it (`@Public`, `@RequireScopes`, `@OperatorOnly`); this guard asks the
 * edition's Authenticator about the presented key. A route that declares nothing is refused: forgetting the rule
 * must fail closed (and a test walks the route table so that it never ships).
 *
 * A request carrying X-Signature is a signed request (request-signature.ts): the guard checks the signature here, at
 * the edge, because only the edge has the body's bytes, then asks the Authenticator who a verified signer is. It is
 * refused when the server has no ENGRAM_SIGNING_SECRET, or the edition's Authenticator takes no signed requests.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly signatures: RequestSignatureVerifier | null;

  constructor(
    private readonly reflector: Reflector,
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
    @Inject(ENGRAM_CONFIG) config: EngramConfig,
  ) {
    this.signatures = config.signingSecret ? new RequestSignatureVerifier(config.signingSecret.reveal()) : null;
  }

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
    request[PRINCIPAL] =
      request.headers[SIGNATURE_HEADER] === undefined
        ? await this.authenticator.authenticate(presentedKey(request.headers), rule)
        : await this.authenticateSigned(request, rule);
    return true;
  }

  private async authenticateSigned(
    request: AuthenticatedRequest,
    rule: Exclude<AccessRule, { audience: 'public' }>,
  ): Promise<Principal> {
    if (!this.signatures) {
      throw unauthorized('signed requests are not accepted: this server has no ENGRAM_SIGNING_SECRET; use an API key');
    }
    if (!this.authenticator.authenticateSigned) {
      throw unauthorized('signed requests are not accepted by this edition; use an API key');
    }
    const verified = this.signatures.verify({
      method: request.method,
      pathAndQuery: request.url,
      headers: request.headers,
      body: request.rawBody,
    });
    return this.authenticator.authenticateSigned(verified, rule);
  }
}
