import type { SignedUserContext } from './request-signature.js';
import type { TenantId } from '../tenant.js';

/** What an API key may do (API.md, "Auth"). */
export const ACCESS_SCOPES = ['memories:read', 'memories:write', 'kv:read', 'kv:write', 'audit:read', 'admin'] as const;
export type AccessScope = (typeof ACCESS_SCOPES)[number];

export function isAccessScope(value: unknown): value is AccessScope {
  return typeof value === 'string' && (ACCESS_SCOPES as readonly string[]).includes(value);
}

/**
 * Who may call a route: the tenants' API (with the scopes the key must carry) or the platform operator's
 * (`/v1/admin/*`, the admin token only). Every route declares one, or is explicitly public.
 */
export type AccessRule =
  | { readonly audience: 'public' }
  | { readonly audience: 'tenant'; readonly scopes: readonly AccessScope[] }
  | { readonly audience: 'operator' };

/** The authenticated caller of a request. */
export type Principal =
  | {
      readonly kind: 'tenant';
      readonly tenantId: TenantId;
      readonly scopes: ReadonlySet<AccessScope>;
      /** The API key's id, for logs and audit; absent for the OSS edition's single key. */
      readonly keyId?: string;
      /** A signed request's X-User-Context: on whose behalf the signer says it calls (covered by the signature). */
      readonly signedUserContext?: SignedUserContext;
    }
  | { readonly kind: 'operator' }
  | { readonly kind: 'anonymous' };
