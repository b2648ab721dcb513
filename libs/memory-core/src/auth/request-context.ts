import { AsyncLocalStorage } from 'node:async_hooks';
import type { Principal } from './principal.js';

/**
 * What the current unit of work is on behalf of: set by the API around each request (after authentication),
 * and by the worker around each job. Services, providers and logs read it; nothing passes it by hand.
 */
export interface RequestContext {
  readonly requestId?: string;
  readonly principal: Principal;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runInRequestContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The context of the running request or job; undefined outside one (boot, timers). */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/**
 * Runs `fn`, and everything it starts, outside any request context. For work done on behalf of many callers at
 * once (a batch of access counts, embedding jobs, queued writes): started from inside one tenant's request, it would
 * otherwise carry that tenant's context to the others' items, and the cloud's tenant wall would refuse them.
 */
export function runOutsideRequestContext<T>(fn: () => T): T {
  return storage.exit(fn);
}
