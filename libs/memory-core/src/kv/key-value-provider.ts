import type { ProviderHealth } from '../memory-provider.js';
import type { TenantId } from '../tenant.js';

/** Free-form labels on an entry; `scan` finds entries by one of them. */
export type KvTags = Record<string, string>;

export interface KvEntry {
  key: string;
  /** Any JSON value. */
  value: unknown;
  tags: KvTags;
  /** The data subject the entry belongs to, so that a GDPR erase finds it. */
  userId: string | null;
  /** null: never expires. */
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface KvWriteOptions {
  ttlSeconds?: number;
  tags?: KvTags;
  userId?: string;
}

export interface KvSetOptions extends KvWriteOptions {
  /** Refuse to overwrite a live entry: KV_EXISTS instead of a silent overwrite. */
  ifNotExists?: boolean;
}

export interface KvWrite extends KvWriteOptions {
  key: string;
  value: unknown;
}

export interface KvScanQuery {
  /** Only keys starting with it. */
  prefix?: string;
  /** Only entries carrying this tag with this value. */
  tag?: { name: string; value: string };
  /** Opaque cursor from a previous page. */
  cursor?: string;
  limit: number;
}

export interface KvPage {
  /** In key order. */
  entries: KvEntry[];
  /** null once the scan is complete. */
  nextCursor: string | null;
}

/**
 * Key-value memory: the seeds' `KeyValueProvider` (get/set/delete with TTL, tags, batches, scans). Every method takes
 * the tenant first and sees only that tenant's entries. Expired entries are never returned nor counted. A full scan
 * (following `nextCursor` to the end) returns each live key exactly once, in key order.
 *
 * Implementations: InProcessKeyValueProvider (embedded default, the reference) and RedisKeyValueProvider
 * (`@engram/memory-redis`). Both pass `describeKeyValueProviderContract`.
 */
export interface KeyValueProvider {
  /** null when missing or expired. */
  get(tenantId: TenantId, key: string): Promise<KvEntry | null>;
  /** Creates or replaces the entry (keeping its `createdAt`); KV_EXISTS when `ifNotExists` and it is live. */
  set(tenantId: TenantId, key: string, value: unknown, options?: KvSetOptions): Promise<KvEntry>;
  /** false when there was nothing to delete. */
  delete(tenantId: TenantId, key: string): Promise<boolean>;
  /** The live entries among `keys`, in the order of `keys`; missing ones are left out. */
  getMany(tenantId: TenantId, keys: readonly string[]): Promise<KvEntry[]>;
  /** Writes every entry (all are validated before any is written); returns how many. */
  setMany(tenantId: TenantId, writes: readonly KvWrite[]): Promise<number>;
  /** Returns how many live entries were deleted. */
  deleteMany(tenantId: TenantId, keys: readonly string[]): Promise<number>;
  scan(tenantId: TenantId, query: KvScanQuery): Promise<KvPage>;
  count(tenantId: TenantId, prefix?: string): Promise<number>;
  exists(tenantId: TenantId, key: string): Promise<boolean>;
  /** Deletes every entry of the tenant; returns how many live ones. */
  clear(tenantId: TenantId): Promise<number>;
  /** Deletes every entry of the tenant whose `userId` is `userId` (a GDPR erase); returns how many live ones. */
  eraseUser(tenantId: TenantId, userId: string): Promise<number>;
  health(): Promise<ProviderHealth>;
  close(): Promise<void>;
}
