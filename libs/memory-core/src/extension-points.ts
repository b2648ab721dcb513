import { newId } from './ids.js';
import type { MemoryProvider } from './memory-provider.js';
import { OSS_TENANT_ID, type TenantId } from './tenant.js';

/**
 * The seams the cloud edition plugs into. Each interface has its OSS default here; `ee/cloud`
 * rebinds the token to its own implementation.
 */

/** Which tenant the current unit of work belongs to. OSS: always the one tenant. */
export interface TenantProvider {
  currentTenant(): TenantId;
}

/** @see ee/cloud: resolves the tenant from the API key's request context. */
export class FixedTenantProvider implements TenantProvider {
  constructor(private readonly tenantId: TenantId = OSS_TENANT_ID) {}
  currentTenant(): TenantId {
    return this.tenantId;
  }
}

/**
 * What a tenant's usage is checked and counted for. `inference` is an `infer: true` add, checked when it is accepted:
 * its memories are written later, in a worker, so a tenant with no room left for one is refused up front (413) rather
 * than told so by the event.
 */
export type UsageOperation =
  'memory.write' | 'memory.read' | 'memory.search' | 'memory.delete' | 'embedding' | 'inference';

/** The state of the caller's rate limit after its request was admitted: what `X-RateLimit-*` report. */
export interface RateLimitState {
  /** Requests allowed per window (a minute). */
  limit: number;
  /** Requests the caller may still make right now. */
  remaining: number;
  /** When the allowance is whole again, in seconds since the epoch. */
  resetAt: number;
}

/** Checks quotas and rate limits before work is done, and counts what was done. */
export interface UsageTracker {
  /**
   * Admits one API request of a tenant's key before its handler runs: counts it against the tenant's request quota
   * and the key's rate limit. Throws RATE_LIMITED (`MemoryException.rateLimited`) or QUOTA_EXCEEDED. Returns the
   * rate limit's state, for the response's headers, or null when the caller has no rate limit.
   */
  admitRequest(tenantId: TenantId, keyId: string | undefined): Promise<RateLimitState | null>;
  /** Throws when the tenant may not do `amount` more of `operation`. */
  check(tenantId: TenantId, operation: UsageOperation, amount: number): Promise<void>;
  record(tenantId: TenantId, operation: UsageOperation, amount: number): Promise<void>;
}

/** OSS: one organisation owns the server, nothing to meter. @see ee/cloud CloudUsageTracker */
export class UnlimitedUsageTracker implements UsageTracker {
  async admitRequest(): Promise<null> {
    return null;
  }
  async check(): Promise<void> {}
  async record(): Promise<void> {}
}

/** Content-free: ids and outcomes, never memory text. */
export interface AuditEvent {
  tenantId: TenantId;
  actor: string;
  action: string;
  targetIds: string[];
  outcome: 'success' | 'failure';
  requestId?: string;
  sourceIp?: string;
}

export interface AuditLogger {
  log(event: AuditEvent): Promise<void>;
}

/** OSS: memory history already records every change; the hash-chained log is a cloud feature. */
export class NoopAuditLogger implements AuditLogger {
  async log(): Promise<void> {}
}

/** What an erase removed, per store (API.md, "Cloud edition"); 0 for a store the edition does not have. */
export interface ErasureCounts {
  memories: number;
  history: number;
  /** Key-value entries. */
  kv: number;
  /** Embedding cache entries. */
  cache: number;
  /** Queued, delayed and finished job records. */
  jobs: number;
}

/** The record of an erase, given to whoever asked for it. */
export interface ErasureReceipt {
  id: string;
  tenantId: TenantId;
  userId: string;
  /** When the erase completed. */
  at: Date;
  deleted: ErasureCounts;
  /** The audit event that records the erase; null without an audit log. */
  auditEventId: string | null;
}

/** Erases a data subject (a user id of a tenant) from every store. */
export interface GdprService {
  eraseSubject(tenantId: TenantId, userId: string): Promise<ErasureReceipt>;
}

/**
 * OSS: the subject's memories (and with them their vectors) are what there is to erase; their history stays.
 * @see ee/cloud CloudGdprService: every store, durable and resumable, with an audit event.
 */
export class MemoryGdprService implements GdprService {
  constructor(private readonly provider: MemoryProvider) {}

  async eraseSubject(tenantId: TenantId, userId: string): Promise<ErasureReceipt> {
    const memories = await this.provider.clear({ tenantId, userId }, 'gdpr');
    return {
      id: newId(),
      tenantId,
      userId,
      at: new Date(),
      deleted: { memories, history: 0, kv: 0, cache: 0, jobs: 0 },
      auditEventId: null,
    };
  }
}

/** Time, behind an injectable so tests can move it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
