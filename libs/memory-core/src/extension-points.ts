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

export type UsageOperation = 'memory.write' | 'memory.read' | 'memory.search' | 'memory.delete' | 'embedding';

/** Checks quotas and rate limits before work is done, and counts what was done. */
export interface UsageTracker {
  /** Throws when the tenant may not do `amount` more of `operation`. */
  check(tenantId: TenantId, operation: UsageOperation, amount: number): Promise<void>;
  record(tenantId: TenantId, operation: UsageOperation, amount: number): Promise<void>;
}

/** OSS: one organisation owns the server, nothing to meter. @see ee/cloud UsageTracker */
export class UnlimitedUsageTracker implements UsageTracker {
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

export interface ErasureReceipt {
  tenantId: TenantId;
  userId: string;
  at: Date;
  deleted: { memories: number };
}

/** Erases a data subject's data from every store. */
export interface GdprService {
  eraseSubject(tenantId: TenantId, userId: string): Promise<ErasureReceipt>;
}

/** OSS: the subject's memories (and with them their vectors) are all there is to erase. @see ee/cloud GDPRService */
export class MemoryGdprService implements GdprService {
  constructor(private readonly provider: MemoryProvider) {}

  async eraseSubject(tenantId: TenantId, userId: string): Promise<ErasureReceipt> {
    const memories = await this.provider.clear({ tenantId, userId }, 'gdpr');
    return { tenantId, userId, at: new Date(), deleted: { memories } };
  }
}

/** Time, behind an injectable so tests can move it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
