import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { runInRequestContext } from '@engram/memory-core';
import { Observable } from 'rxjs';
import { PRINCIPAL, type AuthenticatedRequest } from '../guards/auth.guard.js';

/**
 * Runs the route handler, and everything it calls, inside the request's context (its id and the caller the guard
 * authenticated), so that services and providers read the tenant from there instead of being handed it.
 */
@Injectable()
export class RequestContextInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const principal = request[PRINCIPAL] ?? { kind: 'anonymous' as const };
    // The handler runs when the observable is subscribed to: subscribe inside the context.
    return new Observable((subscriber) =>
      runInRequestContext({ requestId: String(request.id), principal }, () => next.handle().subscribe(subscriber)),
    );
  }
}
