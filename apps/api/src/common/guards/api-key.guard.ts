import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ENGRAM_CONFIG, type EngramConfig } from '@engram/config';
import type { FastifyRequest } from 'fastify';
import { IS_PUBLIC } from '../decorators/public.decorator.js';
import { keysMatch, presentedKey } from '../http/api-key.js';
import { ApiError } from '../http/api-error.js';

/**
 * OSS auth: when ENGRAM_API_KEY is set every non-public route needs it. When it is unset the server
 * only listens on loopback (config refuses anything else), so the machine's users are the callers.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(ENGRAM_CONFIG) private readonly config: EngramConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    if (isPublic || !this.config.apiKey) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const key = presentedKey(request.headers);
    if (!key) throw new ApiError(401, 'UNAUTHORIZED', 'an API key is required (Authorization: Bearer <key>)');
    if (!keysMatch(key, this.config.apiKey.reveal())) throw new ApiError(401, 'UNAUTHORIZED', 'the API key is not valid');
    return true;
  }
}
