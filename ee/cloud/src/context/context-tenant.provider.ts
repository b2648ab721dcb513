import { currentRequestContext, unauthorized, type TenantId, type TenantProvider } from '@engram/memory-core';

/**
 * Cloud: the tenant is whoever the request's API key belongs to (the request context the API's guard fills).
 * Outside a tenant's request there is no tenant, and asking for one is an error, never a default.
 */
export class ContextTenantProvider implements TenantProvider {
  currentTenant(): TenantId {
    const tenantId = contextTenant();
    if (tenantId === null) throw unauthorized('this request is not on behalf of a tenant');
    return tenantId;
  }
}

/** The tenant of the current request context; null outside one (the worker, boot) or for the operator. */
export function contextTenant(): TenantId | null {
  const principal = currentRequestContext()?.principal;
  return principal?.kind === 'tenant' ? principal.tenantId : null;
}
