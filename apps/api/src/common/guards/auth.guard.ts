import {
  Inject,
  Injectable,
  type CanActivate,
  type ExecutionContext,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ENGRAM_CONFIG, type EngramConfig } from '@engram/config';
import {
  ACCESS_RULE,
  AUTHENTICATOR,
  InProcessSignatureReplayGuard,
  SIGNATURE_HEADER,
  SIGNATURE_REPLAY_GUARD,
  SignedRequestGate,
  unauthorized,
  type AccessRule,
  type Authenticator,
  type Principal,
  type SignatureReplayGuard,
} from '@engram/memory-core';
import { RedisSignatureReplayGuard } from '@engram/memory-redis';
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
 * A request carrying X-Signature is a signed request (request-signature.ts). The guard reads it here, at the edge,
 * because only the edge has the body's bytes, and checks its form and timestamp; the Authenticator then verifies it
 * against the secret it chooses (OSS: ENGRAM_SIGNING_SECRET; cloud: the secret of the key named by X-Key-Id), and the
 * replay guard (SIGNATURE_REPLAY_GUARD) refuses a signature used before. Refused when the edition's Authenticator
 * takes no signed requests.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly signatures: SignedRequestGate;

  constructor(
    private readonly reflector: Reflector,
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
    @Inject(ENGRAM_CONFIG) config: EngramConfig,
    @Inject(SIGNATURE_REPLAY_GUARD) replays: SignatureReplayGuard,
  ) {
    this.signatures = new SignedRequestGate(replays, config.signingSecret?.reveal() ?? null);
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
    if (!this.authenticator.authenticateSigned) {
      throw unauthorized('signed requests are not accepted by this edition; use an API key');
    }
    const signed = this.signatures.present({
      method: request.method,
      pathAndQuery: request.url,
      headers: request.headers,
      body: request.rawBody,
    });
    return this.authenticator.authenticateSigned(signed, rule);
  }
}

/** Closes the replay guard's connection with the app. */
@Injectable()
class SignatureReplayGuardLifecycle implements OnApplicationShutdown {
  constructor(@Inject(SIGNATURE_REPLAY_GUARD) private readonly replays: SignatureReplayGuard) {}

  async onApplicationShutdown(): Promise<void> {
    await this.replays.close?.();
  }
}

/**
 * The replay guard of signed requests, bound in the API module because only the API's edge verifies signatures (a
 * worker never does): in Redis when REDIS_URL is set, so that a request replayed to another API process is refused
 * there too; else this process's memory, which is the whole deployment when there is one process.
 */
export function signatureReplayGuardProviders(config: EngramConfig): Provider[] {
  return [
    {
      provide: SIGNATURE_REPLAY_GUARD,
      useFactory: (): SignatureReplayGuard =>
        config.redisUrl
          ? new RedisSignatureReplayGuard({ redisUrl: config.redisUrl.reveal() })
          : new InProcessSignatureReplayGuard(),
    },
    SignatureReplayGuardLifecycle,
  ];
}
