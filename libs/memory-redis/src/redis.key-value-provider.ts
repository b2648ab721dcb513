import { Redis } from 'ioredis';
import {
  assertKvKey,
  assertKvOptions,
  assertKvScan,
  decodeKvCursor,
  encodeKvCursor,
  kvExists,
  serializeKvValue,
  type KeyValueProvider,
  type KvEntry,
  type KvPage,
  type KvScanQuery,
  type KvSetOptions,
  type KvWrite,
  type ProviderHealth,
  type TenantId,
} from '@engram/memory-core';

/*
 * Layout per tenant, every key under the hash tag `{<tenant>}` so that one tenant's keys share a cluster slot and
 * the scripts below may touch them together:
 *   engram:kv:{t}:e:<key>      hash {v: JSON value, t: JSON tags, u: user, c: created ms, m: updated ms, x: expires
 *                              ms or '', ts: JSON list of the tag indexes holding the key}, expiring with PEXPIRE
 *   engram:kv:{t}:idx          sorted set of every key (all scores 0, so ordered by key): cursors name the last key,
 *                              so a full scan returns each key once, which SCAN cannot promise
 *   engram:kv:{t}:tag:<n>=<v>  the same, per tag
 * Members of expired entries stay in the indexes until a scan or count comes across them and removes them.
 */

/** KEYS: entry, idx, new tag indexes. ARGV: key, nx, value, tags, user, now, ttl ms or '', ts. */
const SET_SCRIPT = `
local old = redis.call('HMGET', KEYS[1], 'c', 'ts')
if old[1] and ARGV[2] == '1' then return false end
if old[2] then for _, t in ipairs(cjson.decode(old[2])) do redis.call('ZREM', t, ARGV[1]) end end
local created = old[1] or ARGV[6]
redis.call('DEL', KEYS[1])
local expires = ''
if ARGV[7] ~= '' then expires = tostring(tonumber(ARGV[6]) + tonumber(ARGV[7])) end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 't', ARGV[4], 'u', ARGV[5], 'c', created, 'm', ARGV[6], 'x', expires, 'ts', ARGV[8])
if ARGV[7] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[7]) end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
for i = 3, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[1]) end
return created
`;

/** KEYS: entry, idx. ARGV: key. Returns 1 when a live entry was deleted. */
const DELETE_SCRIPT = `
redis.call('ZREM', KEYS[2], ARGV[1])
local ts = redis.call('HGET', KEYS[1], 'ts')
if not ts then return 0 end
for _, t in ipairs(cjson.decode(ts)) do redis.call('ZREM', t, ARGV[1]) end
redis.call('DEL', KEYS[1])
return 1
`;

/** KEYS: entry, idx. ARGV: key, user. Deletes the entry only if it (still) belongs to the user; 1 when it did. */
const ERASE_USER_SCRIPT = `
local h = redis.call('HMGET', KEYS[1], 'u', 'ts')
if not h[1] then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if h[1] ~= ARGV[2] then return 0 end
for _, t in ipairs(cjson.decode(h[2])) do redis.call('ZREM', t, ARGV[1]) end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
return 1
`;

type RedisWithScripts = Redis & {
  kvSet(...args: (string | number)[]): Promise<string | null>;
  kvDelete(entry: string, idx: string, key: string): Promise<number>;
};

export interface RedisKeyValueProviderOptions {
  redisUrl: string;
  /** Redis database, e.g. a separate one for tests. */
  db?: number;
}

/** Key-value memory in Redis (REDIS_URL set): the counterpart of the in-process default. */
export class RedisKeyValueProvider implements KeyValueProvider {
  private readonly redis: RedisWithScripts;

  constructor(options: RedisKeyValueProviderOptions) {
    const redis = new Redis(options.redisUrl, { db: options.db, lazyConnect: false, maxRetriesPerRequest: 2 });
    redis.defineCommand('kvSet', { lua: SET_SCRIPT });
    redis.defineCommand('kvDelete', { numberOfKeys: 2, lua: DELETE_SCRIPT });
    redis.defineCommand('kvEraseUser', { numberOfKeys: 2, lua: ERASE_USER_SCRIPT });
    this.redis = redis as RedisWithScripts;
  }

  async get(tenantId: TenantId, key: string): Promise<KvEntry | null> {
    return (await this.getMany(tenantId, [key]))[0] ?? null;
  }

  async set(tenantId: TenantId, key: string, value: unknown, options: KvSetOptions = {}): Promise<KvEntry> {
    const json = validate({ key, value, ...options });
    const now = Date.now();
    const created = await this.redis.kvSet(...this.setArgs(tenantId, { key, value, ...options }, json, now, options));
    if (created === null) throw kvExists(key);
    return {
      key,
      value: JSON.parse(json) as unknown,
      tags: { ...options.tags },
      userId: options.userId ?? null,
      expiresAt: options.ttlSeconds === undefined ? null : new Date(now + options.ttlSeconds * 1000),
      createdAt: new Date(Number(created)),
      updatedAt: new Date(now),
    };
  }

  async delete(tenantId: TenantId, key: string): Promise<boolean> {
    assertKvKey(key);
    return (await this.redis.kvDelete(entryKey(tenantId, key), indexKey(tenantId), key)) === 1;
  }

  async getMany(tenantId: TenantId, keys: readonly string[]): Promise<KvEntry[]> {
    keys.forEach(assertKvKey);
    const hashes = await this.hashes(tenantId, keys);
    return keys.flatMap((key, i) => {
      const hash = hashes[i];
      return hash ? [entryOf(key, hash)] : [];
    });
  }

  async setMany(tenantId: TenantId, writes: readonly KvWrite[]): Promise<number> {
    const jsons = writes.map(validate);
    if (writes.length === 0) return 0;
    const now = Date.now();
    const pipeline = this.redis.pipeline() as unknown as {
      kvSet(...args: (string | number)[]): void;
      exec(): Promise<[Error | null, unknown][] | null>;
    };
    writes.forEach((w, i) => pipeline.kvSet(...this.setArgs(tenantId, w, jsons[i], now, {})));
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
    return writes.length;
  }

  async deleteMany(tenantId: TenantId, keys: readonly string[]): Promise<number> {
    keys.forEach(assertKvKey);
    const unique = [...new Set(keys)];
    if (unique.length === 0) return 0;
    const pipeline = this.redis.pipeline() as unknown as {
      kvDelete(...args: string[]): void;
      exec(): Promise<[Error | null, unknown][] | null>;
    };
    for (const key of unique) pipeline.kvDelete(entryKey(tenantId, key), indexKey(tenantId), key);
    let deleted = 0;
    for (const [error, result] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      if (result === 1) deleted++;
    }
    return deleted;
  }

  async scan(tenantId: TenantId, query: KvScanQuery): Promise<KvPage> {
    assertKvScan(query);
    const prefix = query.prefix ?? '';
    if (prefix !== '') assertKvKey(prefix);
    const index = query.tag ? tagKey(tenantId, query.tag.name, query.tag.value) : indexKey(tenantId);
    let after = decodeKvCursor(query.cursor);
    const entries: KvEntry[] = [];
    for (;;) {
      const want = query.limit - entries.length;
      const keys = await this.range(index, prefix, after, want);
      const live = await this.liveEntries(tenantId, index, keys);
      entries.push(...live);
      if (keys.length < want) return { entries, nextCursor: null };
      after = keys[keys.length - 1];
      if (entries.length === query.limit) return { entries, nextCursor: encodeKvCursor(after) };
    }
  }

  async count(tenantId: TenantId, prefix = ''): Promise<number> {
    let n = 0;
    let after: string | null = null;
    for (;;) {
      const keys = await this.range(indexKey(tenantId), prefix, after, 1000);
      n += (await this.liveEntries(tenantId, indexKey(tenantId), keys)).length;
      if (keys.length < 1000) return n;
      after = keys[keys.length - 1];
    }
  }

  async exists(tenantId: TenantId, key: string): Promise<boolean> {
    assertKvKey(key);
    return (await this.redis.exists(entryKey(tenantId, key))) === 1;
  }

  async clear(tenantId: TenantId): Promise<number> {
    let n = 0;
    for (;;) {
      const keys = await this.redis.zrange(indexKey(tenantId), 0, 999);
      if (keys.length === 0) break;
      n += await this.deleteMany(tenantId, keys);
    }
    // Tag indexes still holding expired entries' keys.
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', `${tenantPrefix(tenantId)}tag:*`, 'COUNT', 500);
      if (found.length > 0) await this.redis.del(...found);
      cursor = next;
    } while (cursor !== '0');
    return n;
  }

  /**
   * Walks the tenant's key index and deletes, each in one script, the entries whose user is `userId`: the check and
   * the delete are atomic, so an entry rewritten for another user meanwhile stays. O(keys of the tenant).
   */
  async eraseUser(tenantId: TenantId, userId: string): Promise<number> {
    if (userId === '') return 0;
    let n = 0;
    let after: string | null = null;
    for (;;) {
      const keys = await this.range(indexKey(tenantId), '', after, 1000);
      if (keys.length > 0) {
        const pipeline = this.redis.pipeline() as unknown as {
          kvEraseUser(...args: string[]): void;
          exec(): Promise<[Error | null, unknown][] | null>;
        };
        for (const key of keys) pipeline.kvEraseUser(entryKey(tenantId, key), indexKey(tenantId), key, userId);
        for (const [error, result] of (await pipeline.exec()) ?? []) {
          if (error) throw error;
          if (result === 1) n++;
        }
      }
      if (keys.length < 1000) return n;
      after = keys[keys.length - 1];
    }
  }

  async health(): Promise<ProviderHealth> {
    const started = performance.now();
    try {
      await this.redis.ping();
      return { ok: true, latencyMs: performance.now() - started, details: { backend: 'redis' } };
    } catch (error) {
      return { ok: false, latencyMs: performance.now() - started, details: { error: String(error) } };
    }
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }

  private setArgs(tenantId: TenantId, w: KvWrite, json: string, now: number, options: KvSetOptions) {
    const tagKeys = Object.entries(w.tags ?? {}).map(([name, value]) => tagKey(tenantId, name, value));
    return [
      2 + tagKeys.length,
      entryKey(tenantId, w.key),
      indexKey(tenantId),
      ...tagKeys,
      w.key,
      options.ifNotExists ? '1' : '0',
      json,
      JSON.stringify(w.tags ?? {}),
      w.userId ?? '',
      now,
      w.ttlSeconds === undefined ? '' : w.ttlSeconds * 1000,
      JSON.stringify(tagKeys),
    ];
  }

  private async hashes(tenantId: TenantId, keys: readonly string[]): Promise<(Record<string, string> | null)[]> {
    if (keys.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.hgetall(entryKey(tenantId, key));
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, hash]) => {
      if (error) throw error;
      const h = hash as Record<string, string>;
      return h.c === undefined ? null : h;
    });
  }

  /** Up to `limit` keys of the index after `after`, starting with `prefix`, in order. */
  private range(index: string, prefix: string, after: string | null, limit: number): Promise<string[]> {
    const from = after !== null && after >= prefix ? `(${after}` : `[${prefix}`;
    const to = prefix === '' ? '+' : `[${prefix}\xff`;
    return this.redis.zrangebylex(index, from, to, 'LIMIT', 0, limit);
  }

  /** The live entries of `keys`; the keys of expired ones leave the index. */
  private async liveEntries(tenantId: TenantId, index: string, keys: string[]): Promise<KvEntry[]> {
    const hashes = await this.hashes(tenantId, keys);
    const dead = keys.filter((_, i) => hashes[i] === null);
    if (dead.length > 0) await this.redis.zrem(index, ...dead);
    return keys.flatMap((key, i) => {
      const hash = hashes[i];
      return hash ? [entryOf(key, hash)] : [];
    });
  }
}

function validate(write: KvWrite): string {
  assertKvKey(write.key);
  assertKvOptions(write);
  return serializeKvValue(write.value);
}

function tenantPrefix(tenantId: TenantId): string {
  return `engram:kv:{${tenantId}}:`;
}

function entryKey(tenantId: TenantId, key: string): string {
  return `${tenantPrefix(tenantId)}e:${key}`;
}

function indexKey(tenantId: TenantId): string {
  return `${tenantPrefix(tenantId)}idx`;
}

function tagKey(tenantId: TenantId, name: string, value: string): string {
  return `${tenantPrefix(tenantId)}tag:${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
}

function entryOf(key: string, h: Record<string, string>): KvEntry {
  return {
    key,
    value: JSON.parse(h.v) as unknown,
    tags: JSON.parse(h.t) as Record<string, string>,
    userId: h.u === '' ? null : h.u,
    expiresAt: h.x === '' ? null : new Date(Number(h.x)),
    createdAt: new Date(Number(h.c)),
    updatedAt: new Date(Number(h.m)),
  };
}
