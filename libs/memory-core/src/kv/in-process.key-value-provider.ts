import { systemClock, type Clock } from '../extension-points.js';
import type { ProviderHealth } from '../memory-provider.js';
import type { TenantId } from '../tenant.js';
import type { KeyValueProvider, KvEntry, KvPage, KvScanQuery, KvSetOptions, KvWrite } from './key-value-provider.js';
import {
  assertKvKey,
  assertKvOptions,
  assertKvScan,
  decodeKvCursor,
  encodeKvCursor,
  kvExists,
  serializeKvValue,
} from './kv.validation.js';

interface Stored {
  entry: KvEntry;
  /** The value as JSON: what a reader gets is a copy, never the stored object. */
  json: string;
}

/**
 * The embedded default (no REDIS_URL): entries in memory, per tenant. Expiry is lazy: an expired entry is dropped
 * when a read comes across it.
 */
export class InProcessKeyValueProvider implements KeyValueProvider {
  private readonly tenants = new Map<TenantId, Map<string, Stored>>();
  /** Each tenant's keys in order, for scans; dropped whenever a key comes or goes, rebuilt by the next scan. */
  private readonly sorted = new Map<TenantId, string[]>();

  constructor(private readonly clock: Clock = systemClock) {}

  async get(tenantId: TenantId, key: string): Promise<KvEntry | null> {
    assertKvKey(key);
    const stored = this.live(tenantId, key);
    return stored ? copyOf(stored) : null;
  }

  async set(tenantId: TenantId, key: string, value: unknown, options: KvSetOptions = {}): Promise<KvEntry> {
    const json = this.validate({ key, value, ...options });
    const existing = this.live(tenantId, key);
    if (existing && options.ifNotExists) throw kvExists(key);
    return copyOf(this.write(tenantId, { key, value, ...options }, json, existing));
  }

  async delete(tenantId: TenantId, key: string): Promise<boolean> {
    assertKvKey(key);
    const existed = this.live(tenantId, key) !== null;
    if (this.tenants.get(tenantId)?.delete(key)) this.sorted.delete(tenantId);
    return existed;
  }

  async getMany(tenantId: TenantId, keys: readonly string[]): Promise<KvEntry[]> {
    keys.forEach(assertKvKey);
    return keys.flatMap((key) => {
      const stored = this.live(tenantId, key);
      return stored ? [copyOf(stored)] : [];
    });
  }

  async setMany(tenantId: TenantId, writes: readonly KvWrite[]): Promise<number> {
    const jsons = writes.map((w) => this.validate(w));
    writes.forEach((w, i) => this.write(tenantId, w, jsons[i], this.live(tenantId, w.key)));
    return writes.length;
  }

  async deleteMany(tenantId: TenantId, keys: readonly string[]): Promise<number> {
    keys.forEach(assertKvKey);
    let deleted = 0;
    for (const key of new Set(keys)) if (await this.delete(tenantId, key)) deleted++;
    return deleted;
  }

  async scan(tenantId: TenantId, query: KvScanQuery): Promise<KvPage> {
    assertKvScan(query);
    const prefix = query.prefix ?? '';
    if (prefix !== '') assertKvKey(prefix);
    const after = decodeKvCursor(query.cursor);
    const keys = this.sortedKeys(tenantId);
    const entries: KvEntry[] = [];
    for (let i = firstAbove(keys, after !== null && after >= prefix ? after : null, prefix); i < keys.length; i++) {
      const key = keys[i];
      if (!key.startsWith(prefix)) break;
      const stored = this.live(tenantId, key);
      if (!stored) continue;
      if (query.tag && stored.entry.tags[query.tag.name] !== query.tag.value) continue;
      entries.push(copyOf(stored));
      if (entries.length === query.limit) {
        const more = i + 1 < keys.length && keys[i + 1].startsWith(prefix);
        return { entries, nextCursor: more ? encodeKvCursor(key) : null };
      }
    }
    return { entries, nextCursor: null };
  }

  async count(tenantId: TenantId, prefix = ''): Promise<number> {
    let n = 0;
    for (const key of [...(this.tenants.get(tenantId)?.keys() ?? [])]) {
      if (key.startsWith(prefix) && this.live(tenantId, key)) n++;
    }
    return n;
  }

  async exists(tenantId: TenantId, key: string): Promise<boolean> {
    assertKvKey(key);
    return this.live(tenantId, key) !== null;
  }

  async clear(tenantId: TenantId): Promise<number> {
    const n = await this.count(tenantId);
    this.tenants.delete(tenantId);
    this.sorted.delete(tenantId);
    return n;
  }

  async eraseUser(tenantId: TenantId, userId: string): Promise<number> {
    const entries = this.tenants.get(tenantId);
    let n = 0;
    for (const key of [...(entries?.keys() ?? [])]) {
      const stored = this.live(tenantId, key);
      if (stored && stored.entry.userId === userId) {
        entries?.delete(key);
        this.sorted.delete(tenantId);
        n++;
      }
    }
    return n;
  }

  async health(): Promise<ProviderHealth> {
    return { ok: true, latencyMs: 0, details: { backend: 'in-process' } };
  }

  async close(): Promise<void> {
    this.tenants.clear();
    this.sorted.clear();
  }

  /** The tenant's keys in order; the array is a snapshot, safe to walk while entries expire. */
  private sortedKeys(tenantId: TenantId): string[] {
    let keys = this.sorted.get(tenantId);
    if (!keys) {
      keys = [...(this.tenants.get(tenantId)?.keys() ?? [])].sort();
      this.sorted.set(tenantId, keys);
    }
    return keys;
  }

  private validate(write: KvWrite): string {
    assertKvKey(write.key);
    assertKvOptions(write);
    return serializeKvValue(write.value);
  }

  private write(tenantId: TenantId, w: KvWrite, json: string, existing: Stored | null): Stored {
    const now = this.clock.now();
    const stored: Stored = {
      json,
      entry: {
        key: w.key,
        value: null,
        tags: { ...w.tags },
        userId: w.userId ?? null,
        expiresAt: w.ttlSeconds === undefined ? null : new Date(now.getTime() + w.ttlSeconds * 1000),
        createdAt: existing?.entry.createdAt ?? now,
        updatedAt: now,
      },
    };
    let entries = this.tenants.get(tenantId);
    if (!entries) this.tenants.set(tenantId, (entries = new Map()));
    if (!entries.has(w.key)) this.sorted.delete(tenantId);
    entries.set(w.key, stored);
    return stored;
  }

  /** The entry unless missing or expired; an expired one is dropped on the way. */
  private live(tenantId: TenantId, key: string): Stored | null {
    const entries = this.tenants.get(tenantId);
    const stored = entries?.get(key);
    if (!stored) return null;
    if (stored.entry.expiresAt && stored.entry.expiresAt <= this.clock.now()) {
      entries?.delete(key);
      this.sorted.delete(tenantId);
      return null;
    }
    return stored;
  }
}

/** Index of the first key after `after` (when given) and not below `prefix`, by binary search. */
function firstAbove(keys: readonly string[], after: string | null, prefix: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const below = after !== null ? keys[mid] <= after : keys[mid] < prefix;
    if (below) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function copyOf(stored: Stored): KvEntry {
  return { ...stored.entry, tags: { ...stored.entry.tags }, value: JSON.parse(stored.json) as unknown };
}
