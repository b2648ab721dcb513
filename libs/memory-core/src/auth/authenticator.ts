import { createHash, timingSafeEqual } from 'node:crypto';
import { MemoryException, MemoryExceptionCode } from '../memory.exception.js';
import { OSS_TENANT_ID } from '../tenant.js';
import { ACCESS_SCOPES, type AccessRule, type Principal } from './principal.js';
import type { PresentedSignature } from './request-signature.js';

/**
 * Resolves the key a request presents into its caller, for the route's access rule (never called for public
 * routes). Throws UNAUTHORIZED (no key, or one that is not valid here) or FORBIDDEN (a valid key that may not do
 * this). The extension point the cloud edition rebinds (`AUTHENTICATOR`): API keys per tenant, the admin token.
 */
export interface Authenticator {
  authenticate(presentedKey: string | null, rule: Exclude<AccessRule, { audience: 'public' }>): Promise<Principal>;
  /**
   * The caller of a signed request (request-signature.ts). The API has read it and checked its timestamp; the
   * authenticator chooses the secret it must be signed with (the deployment's, or that of the key its X-Key-Id names)
   * and calls `signed.verify(secret)`, which checks the HMAC and refuses a replay. An edition that leaves it out
   * accepts no signed requests.
   */
  authenticateSigned?(
    signed: PresentedSignature,
    rule: Exclude<AccessRule, { audience: 'public' }>,
  ): Promise<Principal>;
}

export function unauthorized(message: string): MemoryException {
  return new MemoryException(MemoryExceptionCode.UNAUTHORIZED, message);
}

export function forbidden(message: string, details?: unknown): MemoryException {
  return new MemoryException(MemoryExceptionCode.FORBIDDEN, message, details);
}

/** Compares in constant time; hashing first makes the lengths equal, so the length leaks nothing either. */
export function secretsMatch(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * OSS: one organisation, one tenant. With `ENGRAM_API_KEY` set every guarded route needs it; without, the server
 * only listens on loopback (the configuration refuses anything else), so the machine's users are the callers.
 * There is no operator in the OSS edition: its routes do not exist here.
 */
export class StaticKeyAuthenticator implements Authenticator {
  private readonly everyScope = new Set(ACCESS_SCOPES);

  constructor(private readonly apiKey: string | null) {}

  async authenticate(
    presentedKey: string | null,
    rule: Exclude<AccessRule, { audience: 'public' }>,
  ): Promise<Principal> {
    if (rule.audience === 'operator') throw forbidden('the OSS edition has no operator routes');
    if (this.apiKey !== null) {
      if (presentedKey === null) throw unauthorized('an API key is required (Authorization: Bearer <key>)');
      if (!secretsMatch(presentedKey, this.apiKey)) throw unauthorized('the API key is not valid');
    }
    return { kind: 'tenant', tenantId: OSS_TENANT_ID, scopes: this.everyScope };
  }

  /**
   * A valid signature under the deployment's ENGRAM_SIGNING_SECRET stands in for the key: whoever holds the secret is
   * the organisation. X-Key-Id is ignored: there is one secret, not one per key.
   */
  async authenticateSigned(
    signed: PresentedSignature,
    rule: Exclude<AccessRule, { audience: 'public' }>,
  ): Promise<Principal> {
    if (signed.configuredSecret === null) {
      throw unauthorized('signed requests are not accepted: this server has no ENGRAM_SIGNING_SECRET; use an API key');
    }
    const verified = await signed.verify(signed.configuredSecret);
    if (rule.audience === 'operator') throw forbidden('the OSS edition has no operator routes');
    return {
      kind: 'tenant',
      tenantId: OSS_TENANT_ID,
      scopes: this.everyScope,
      signedUserContext: verified.userContext,
    };
  }
}
