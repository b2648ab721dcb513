import {
  forbidden,
  NoopAuditLogger,
  secretsMatch,
  unauthorized,
  type AccessRule,
  type AuditLogger,
  type Authenticator,
  type Clock,
  type Principal,
} from '@engram/memory-core';
import { timingSafeEqual } from 'node:crypto';
import type { StoredApiKey } from '../tenants/tenant.js';
import type { TenantRepository } from '../tenants/tenant.repository.js';
import { hashSecret, parseApiKey } from './api-key.js';
import type { KeyUsageRecorder } from './key-usage.recorder.js';

/**
 * Cloud auth. Two kinds of caller, never interchangeable (API.md): the platform operator, with the admin token,
 * on `/v1/admin/*` only (a tenant key there is a 403); tenants, with their API keys, everywhere else (the admin
 * token there is a 401: it is not a key of any tenant). A key is looked up by its public id, its secret compared
 * by hash in constant time; unknown, revoked and expired keys, and keys of deleted tenants, are all the same 401,
 * so a caller learns nothing about which. A valid key without the route's scopes is a 403.
 *
 * Every refusal of a key that exists is an event of its tenant's audit log (the response stays the same 401 or 403):
 * the key id as the actor, and why as the action. Refusals of keys that do not exist name no tenant to log to.
 */
export class CloudAuthenticator implements Authenticator {
  constructor(
    private readonly adminToken: string,
    private readonly tenants: TenantRepository,
    private readonly usage: KeyUsageRecorder,
    private readonly clock: Clock,
    private readonly audit: AuditLogger = new NoopAuditLogger(),
  ) {}

  async authenticate(
    presentedKey: string | null,
    rule: Exclude<AccessRule, { audience: 'public' }>,
  ): Promise<Principal> {
    if (presentedKey === null) throw unauthorized('an API key is required (Authorization: Bearer <key>)');
    const isAdminToken = secretsMatch(presentedKey, this.adminToken);
    if (rule.audience === 'operator') {
      if (isAdminToken) return { kind: 'operator' };
      const presented = parseApiKey(presentedKey);
      if (presented) {
        await this.refused(await this.tenants.findKey(presented.id), 'auth.admin_route_refused');
        throw forbidden('the admin routes take the admin token, not a tenant API key');
      }
      throw unauthorized('the admin token is not valid');
    }
    if (isAdminToken) throw unauthorized('the admin token is not a tenant API key');
    const parsed = parseApiKey(presentedKey);
    if (!parsed) throw unauthorized('the API key is not valid');
    const key = await this.tenants.findKey(parsed.id);
    const now = this.clock.now();
    // Compared even when there is no such key (against a dummy), so timing does not tell unknown ids apart.
    const matches = timingSafeEqual(hashSecret(parsed.secret), key?.secretHash ?? NO_SECRET) && key !== null;
    if (!key || !matches || key.revokedAt !== null || (key.expiresAt !== null && key.expiresAt <= now)) {
      const reason = !matches ? 'auth.invalid_secret' : key?.revokedAt ? 'auth.key_revoked' : 'auth.key_expired';
      await this.refused(key, reason);
      throw unauthorized('the API key is not valid');
    }
    const missing = rule.scopes.filter((scope) => !key.scopes.includes(scope));
    if (missing.length > 0) {
      await this.refused(key, 'auth.missing_scope');
      throw forbidden(`the API key lacks the scope ${missing.join(', ')}`, { required: rule.scopes, missing });
    }
    this.usage.record(key.id, now);
    return { kind: 'tenant', tenantId: key.tenantId, scopes: new Set(key.scopes), keyId: key.id };
  }

  /**
   * A refused use of an existing key, on its tenant's audit log. Queued, so the refusal is not slowed by it; and the
   * answer stays the 401 or 403 even if the log cannot take the event (its writer reports that).
   */
  private async refused(key: StoredApiKey | null, action: string): Promise<void> {
    if (!key) return;
    await this.audit
      .log({ tenantId: key.tenantId, actor: key.id, action, targetIds: [key.id], outcome: 'failure' })
      .catch(() => undefined);
  }
}

const NO_SECRET = Buffer.alloc(32);
