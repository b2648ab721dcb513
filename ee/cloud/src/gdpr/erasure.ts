/* @license Enterprise */
import { createHash } from 'node:crypto';
import type { ErasureCounts, TenantId } from '@engram/memory-core';

/** Whom an erase is of: one data subject (a user id of a tenant), or a whole tenant. */
export type ErasureTarget =
  { kind: 'subject'; tenantId: TenantId; userId: string } | { kind: 'tenant'; tenantId: TenantId };

/** The steps of an erase, in the order they run (a whole-tenant erase starts with `tenant`, KV stores are `kv:<name>`). */
export type ErasureStepName = 'tenant' | 'inference' | 'memories' | `kv:${string}` | 'jobs' | 'cache';

/** The durable record of one erase (`gdpr_erasures`). */
export interface ErasureRecord {
  id: string;
  tenantId: TenantId;
  kind: ErasureTarget['kind'];
  /** sha256 of tenant and user id (`subjectDigest`); null for a whole tenant. */
  subjectDigest: string | null;
  /** The subject's user id, kept only while the erase runs. */
  userId: string | null;
  state: 'running' | 'completed';
  stepsDone: string[];
  /** What each step removed, by counter: memories, history, kv:<store>, jobs, cache, api_keys. */
  counts: Record<string, number>;
  attempts: number;
  requestedAt: Date;
  completedAt: Date | null;
  auditEventId: string | null;
}

/** The receipt of a subject's or a whole tenant's erase (API.md); a tenant's also counts its API keys. */
export interface CloudErasureReceipt {
  id: string;
  tenantId: TenantId;
  /** null for a whole tenant. */
  userId: string | null;
  at: Date;
  deleted: ErasureCounts & { apiKeys?: number };
  auditEventId: string | null;
}

/**
 * How a finished erase names its subject: not by the user id (the erase removes it from everywhere, its own record
 * included), but by a digest that a repeated request for the same subject computes again.
 */
export function subjectDigest(tenantId: TenantId, userId: string): string {
  return createHash('sha256').update(`${tenantId}\n${userId}`).digest('hex');
}

export function digestOf(target: ErasureTarget): string | null {
  return target.kind === 'subject' ? subjectDigest(target.tenantId, target.userId) : null;
}

/** The receipt of a finished erase; `userId` is the requester's (the record no longer has it). */
export function receiptOf(record: ErasureRecord, userId: string | null): CloudErasureReceipt {
  const count = (name: string) => record.counts[name] ?? 0;
  const kv = Object.entries(record.counts)
    .filter(([name]) => name.startsWith('kv:'))
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    id: record.id,
    tenantId: record.tenantId,
    userId: record.kind === 'subject' ? userId : null,
    at: record.completedAt ?? record.requestedAt,
    deleted: {
      memories: count('memories'),
      history: count('history'),
      kv,
      cache: count('cache'),
      // Embedding jobs (`jobs` step) and inference jobs (`inference` step) alike.
      jobs: count('jobs') + count('inference_jobs'),
      ...(record.kind === 'tenant' ? { apiKeys: count('api_keys') } : {}),
    },
    auditEventId: record.auditEventId,
  };
}

/** Whether an erase removed nothing anywhere (a repeat of one that had removed it all already). */
export function erasedNothing(record: ErasureRecord): boolean {
  return Object.values(record.counts).every((n) => n === 0);
}
