import type { AccessScope, TenantId } from '@engram/memory-core';

/** Limits a tenant may be given (enforced by the usage tracker); absent means the platform's default. */
export interface TenantQuotas {
  maxMemories?: number;
  maxRequestsPerMonth?: number;
  requestsPerMinute?: number;
  maxEmbeddingTokensPerMonth?: number;
}

export interface Tenant {
  id: TenantId;
  name: string;
  quotas: TenantQuotas;
  createdAt: Date;
}

export interface ApiKeyRecord {
  id: string;
  tenantId: TenantId;
  name: string;
  scopes: AccessScope[];
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/** What authentication needs of a key: its record, its secret's hash, and whether its tenant still exists. */
export interface StoredApiKey extends ApiKeyRecord {
  secretHash: Buffer;
  /** Its signing secret, sealed (signing-secret.cipher.ts); null when the key has none and cannot sign requests. */
  signingSecretSealed: Buffer | null;
}
