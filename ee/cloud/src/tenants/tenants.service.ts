import type { AccessScope, Clock, TenantId } from '@engram/memory-core';
import { issueApiKey, type KeyEnvironment } from '../auth/api-key.js';
import { issueSigningSecret, type SigningSecretCipher } from '../auth/signing-secret.cipher.js';
import type { CloudErasureReceipt } from '../gdpr/erasure.js';
import type { CloudGdprService } from '../gdpr/gdpr.service.js';
import type { ApiKeyRecord, Tenant, TenantQuotas } from './tenant.js';
import type { TenantRepository } from './tenant.repository.js';

/** The platform operator's work on tenants and their keys (the admin routes). */
export class TenantsService {
  constructor(
    private readonly tenants: TenantRepository,
    private readonly gdpr: Pick<CloudGdprService, 'eraseTenant'>,
    private readonly clock: Clock,
    /** ENGRAM_SECRETS_KEY's cipher; null when it is unset, and keys are then issued without signing secrets. */
    private readonly signingSecrets: SigningSecretCipher | null = null,
    private readonly keyEnvironment: KeyEnvironment = 'live',
  ) {}

  create(name: string, quotas: TenantQuotas = {}): Promise<Tenant> {
    return this.tenants.create(name, quotas, this.clock.now());
  }

  get(id: TenantId): Promise<Tenant | null> {
    return this.tenants.find(id);
  }

  /**
   * Erases the whole tenant through the GDPR erase (its durable, resumable procedure and its receipt): the tenant
   * tombstoned (its id is never reused) and its keys deleted first, then its memories, history, jobs and cached
   * embeddings. null when there never was such a tenant; a repeat returns the same receipt.
   */
  erase(id: TenantId): Promise<CloudErasureReceipt | null> {
    return this.gdpr.eraseTenant(id);
  }

  /**
   * A new key for a live tenant, with the one and only copy of its secret, and of its signing secret when the
   * deployment can seal one (ENGRAM_SECRETS_KEY); null when there is no such tenant.
   */
  async issueKey(
    tenantId: TenantId,
    request: { name: string; scopes: readonly AccessScope[]; expiresAt: Date | null },
  ): Promise<{ record: ApiKeyRecord; key: string; signingSecret: string | null } | null> {
    if (!(await this.tenants.find(tenantId))) return null;
    const issued = issueApiKey(this.keyEnvironment);
    const signingSecret = this.signingSecrets ? issueSigningSecret() : null;
    const record = await this.tenants.createKey({
      id: issued.id,
      tenantId,
      name: request.name,
      scopes: [...new Set(request.scopes)],
      secretHash: issued.secretHash,
      signingSecretSealed:
        this.signingSecrets && signingSecret ? this.signingSecrets.seal(signingSecret, issued.id) : null,
      createdAt: this.clock.now(),
      expiresAt: request.expiresAt,
    });
    return { record, key: issued.key, signingSecret };
  }

  revokeKey(id: string): Promise<boolean> {
    return this.tenants.revokeKey(id, this.clock.now());
  }
}
