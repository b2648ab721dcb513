import { Logger } from '@nestjs/common';
import {
  forbidden,
  MemoryException,
  MemoryExceptionCode,
  NoopAuditLogger,
  secretsMatch,
  unauthorized,
  type AccessRule,
  type AuditLogger,
  type Authenticator,
  type Clock,
  type PresentedSignature,
  type Principal,
  type SignedUserContext,
} from '@engram/memory-core';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { StoredApiKey } from '../tenants/tenant.js';
import type { TenantRepository } from '../tenants/tenant.repository.js';
import { hashSecret, isApiKeyId, parseApiKey } from './api-key.js';
import type { KeyUsageRecorder } from './key-usage.recorder.js';
import type { SigningSecretCipher } from './signing-secret.cipher.js';

type GuardedRule = Exclude<AccessRule, { audience: 'public' }>;

/**
 * Cloud auth. Two kinds of caller, never interchangeable (API.md): the platform operator, with the admin token,
 * on `/v1/admin/*` only (a tenant key there is a 403); tenants, with their API keys, everywhere else (the admin
 * token there is a 401: it is not a key of any tenant). A key is looked up by its public id, its secret compared
 * by hash in constant time; unknown, revoked and expired keys, and keys of deleted tenants, are all the same 401,
 * so a caller learns nothing about which. A valid key without the route's scopes is a 403.
 *
 * A tenant may also sign its requests (HMAC-SHA256, request-signature.ts) with the signing secret issued with a key,
 * naming the key in X-Key-Id: the request is then that key's, with the same refusals (revoked, expired, scopes).
 *
 * Every refusal of a key that exists is an event of its tenant's audit log (the response stays the same 401 or 403):
 * the key id as the actor, and why as the action. Refusals of keys that do not exist name no tenant to log to.
 */
export class CloudAuthenticator implements Authenticator {
  private readonly logger = new Logger(CloudAuthenticator.name);

  constructor(
    private readonly adminToken: string,
    private readonly tenants: TenantRepository,
    private readonly usage: KeyUsageRecorder,
    private readonly clock: Clock,
    private readonly audit: AuditLogger = new NoopAuditLogger(),
    /** ENGRAM_SECRETS_KEY's cipher; null when it is unset, and signed requests are then refused. */
    private readonly signingSecrets: SigningSecretCipher | null = null,
  ) {}

  async authenticate(presentedKey: string | null, rule: GuardedRule): Promise<Principal> {
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
    if (!key || !matches || !isLive(key, now)) {
      const reason = !matches ? 'auth.invalid_secret' : key?.revokedAt ? 'auth.key_revoked' : 'auth.key_expired';
      await this.refused(key, reason);
      throw unauthorized('the API key is not valid');
    }
    return this.admitted(key, rule, now);
  }

  /**
   * A request signed with the signing secret of the key its X-Key-Id names. The secret is unsealed per request: it is
   * stored encrypted, never in the clear (signing-secret.cipher.ts). An unknown key, a key without a signing secret and
   * a wrong signature are the same 401 (the signature is checked against a secret nobody holds), so a caller learns
   * nothing about which; the replay guard sees only signatures that verified.
   */
  async authenticateSigned(signed: PresentedSignature, rule: GuardedRule): Promise<Principal> {
    if (!this.signingSecrets) {
      throw unauthorized('signed requests are not accepted: this deployment has no ENGRAM_SECRETS_KEY; use an API key');
    }
    const keyId = signed.keyId;
    if (keyId === null) throw unauthorized('a signed request must name its API key in X-Key-Id');
    if (!isApiKeyId(keyId)) throw unauthorized('X-Key-Id must be an API key id (16 lowercase hex characters)');
    const key = await this.tenants.findKey(keyId);
    let secret: string | null = null;
    if (key?.signingSecretSealed) {
      secret = this.signingSecrets.open(key.signingSecretSealed, key.id);
      if (secret === null) {
        this.logger.warn(`the signing secret of API key ${key.id} does not open under ENGRAM_SECRETS_KEY`);
      }
    }
    let userContext: SignedUserContext;
    try {
      ({ userContext } = await signed.verify(secret ?? NO_SIGNING_SECRET));
    } catch (error) {
      const action = SIGNATURE_REFUSALS[refusalReason(error) ?? ''];
      if (action) await this.refused(key, action);
      throw error;
    }
    // Past verify, the key exists and has a secret: nobody signs with NO_SIGNING_SECRET.
    if (!key) throw unauthorized('the API key is not valid');
    const now = this.clock.now();
    if (!isLive(key, now)) {
      await this.refused(key, key.revokedAt ? 'auth.key_revoked' : 'auth.key_expired');
      throw unauthorized('the API key is not valid');
    }
    if (rule.audience === 'operator') {
      await this.refused(key, 'auth.admin_route_refused');
      throw forbidden('the admin routes take the admin token, not a request signed with a tenant API key');
    }
    return this.admitted(key, rule, now, userContext);
  }

  /** A live key of a tenant on a tenant route: its scopes must cover the route's; its use is recorded. */
  private async admitted(
    key: StoredApiKey,
    rule: Extract<GuardedRule, { audience: 'tenant' }>,
    now: Date,
    signedUserContext?: SignedUserContext,
  ): Promise<Principal> {
    const missing = rule.scopes.filter((scope) => !key.scopes.includes(scope));
    if (missing.length > 0) {
      await this.refused(key, 'auth.missing_scope');
      throw forbidden(`the API key lacks the scope ${missing.join(', ')}`, { required: rule.scopes, missing });
    }
    this.usage.record(key.id, now);
    return {
      kind: 'tenant',
      tenantId: key.tenantId,
      scopes: new Set(key.scopes),
      keyId: key.id,
      ...(signedUserContext ? { signedUserContext } : {}),
    };
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

function isLive(key: StoredApiKey, now: Date): boolean {
  return key.revokedAt === null && (key.expiresAt === null || key.expiresAt > now);
}

/** The signature refusal's reason (`mismatch`, `replayed`, ...), or null for any other error (a 503 passes through). */
function refusalReason(error: unknown): string | null {
  if (!(error instanceof MemoryException) || error.code !== MemoryExceptionCode.UNAUTHORIZED) return null;
  const reason = (error.details as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' ? reason : null;
}

/** The signature refusals that say something about the key's use (an overloaded replay guard does not). */
const SIGNATURE_REFUSALS: Record<string, string> = {
  mismatch: 'auth.invalid_signature',
  replayed: 'auth.signature_replayed',
};

const NO_SECRET = Buffer.alloc(32);
/** What a request naming a key without a usable signing secret is checked against: random, so it never verifies. */
const NO_SIGNING_SECRET = randomBytes(32).toString('base64url');
