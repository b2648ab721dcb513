declare const tenantBrand: unique symbol;

/**
 * A tenant id. Branded so that a plain string can never be passed where a tenant is expected:
 * every provider and repository method takes one first, and only tenant resolution creates them.
 */
export type TenantId = string & { readonly [tenantBrand]: true };

/** The one tenant of the OSS edition. Kept as a real uuid so the cloud edition needs no schema change. */
export const OSS_TENANT_ID = '00000000-0000-0000-0000-000000000000' as TenantId;

export function asTenantId(id: string): TenantId {
  return id as TenantId;
}
