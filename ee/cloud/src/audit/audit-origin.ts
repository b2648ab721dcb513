/* @license Enterprise */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Where a request came from, as the audit log records it. */
export interface AuditOrigin {
  requestId?: string;
  sourceIp?: string;
}

const storage = new AsyncLocalStorage<AuditOrigin>();

/**
 * Runs `fn` (the rest of a request's handling) with its origin known to the audit logger. Set by an HTTP hook
 * (CloudAuditModule) before the route's guards run: the core's request context only starts after authentication,
 * and a failed authentication is exactly where the source IP matters most.
 */
export function runWithAuditOrigin<T>(origin: AuditOrigin, fn: () => T): T {
  return storage.run(origin, fn);
}

export function currentAuditOrigin(): AuditOrigin | undefined {
  return storage.getStore();
}
