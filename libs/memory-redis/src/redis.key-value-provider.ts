import { brotliCompressSync, brotliDecompressSync, constants as zlib } from 'node:zlib';
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
  type KvTags,
  type KvWrite,
  type ProviderHealth,
  type TenantId,
} from '@engram/memory-core';

/*
 * Layout per tenant, every key under the hash tag `{<tenant>}` so that one tenant's keys share a cluster slot and
 * the scripts below may touch them together:
 *   engram:kv:{t}:e:<key>      hash {v: value, z: 'br' when v is brotli-compressed JSON (absent: v is JSON), t: JSON
 *                              tags, u: user, c: created ms, m: updated ms, x: expires ms or ''}, expiring with
 *                              PEXPIRE
 *   engram:kv:{t}:idx          sorted set of every key (all scores 0, so ordered by key): cursors name the last key,
 *                              so a full scan returns each key once, which SCAN cannot promise
 *   engram:kv:{t}:tag:<n>=<v>  the same, per tag
 *   engram:kv:{t}:tags         hash key -> JSON list of the tag indexes holding the key (tagged keys only). It does
 *                              not expire with the entry: it is how the indexes of an expired entry are found again
 * An expired entry's members stay in the indexes until something comes across it: a read (get, getMany) or a scan or
 * count, which run PRUNE_SCRIPT on the keys they found dead and so remove the key from the key index and from every
 * tag index at once; a later set, delete or erase of the key does the same. Entries written before the `tags` hash
 * existed kept that list in the entry's own field `ts`; the scripts still read it.
 */

/**
 * Lua shared by the scripts. `write` replaces an entry (keeping its created time) and moves it between tag indexes;
 * nil when `nx` and the entry is live. `unindex` removes a key from the key index and from every tag index. An
 * entry's tag indexes come from the tag map, or from the entry's own `ts` field for an entry written before it.
 */
const LUA_FUNCTIONS = `
local function unindex(entry, idx, map, key)
  redis.call('ZREM', idx, key)
  local ts = redis.call('HGET', map, key) or redis.call('HGET', entry, 'ts')
  if ts then for _, t in ipairs(cjson.decode(ts)) do redis.call('ZREM', t, key) end end
  redis.call('HDEL', map, key)
end

local function write(entry, idx, map, key, nx, value, encoding, tags, user, now, ttl, tagIndexes)
  local old = redis.call('HMGET', entry, 'c', 'ts')
  if old[1] and nx then return false end
  local prev = redis.call('HGET', map, key) or old[2]
  if prev then for _, t in ipairs(cjson.decode(prev)) do redis.call('ZREM', t, key) end end
  local created = old[1] or now
  redis.call('DEL', entry)
  local expires = ''
  if ttl ~= '' then expires = tostring(tonumber(now) + tonumber(ttl)) end
  if encoding ~= '' then
    redis.call('HSET', entry, 'v', value, 'z', encoding, 't', tags, 'u', user, 'c', created, 'm', now, 'x', expires)
  else
    redis.call('HSET', entry, 'v', value, 't', tags, 'u', user, 'c', created, 'm', now, 'x', expires)
  end
  if ttl ~= '' then redis.call('PEXPIRE', entry, ttl) end
  redis.call('ZADD', idx, 0, key)
  if tagIndexes ~= '[]' then
    for _, t in ipairs(cjson.decode(tagIndexes)) do redis.call('ZADD', t, 0, key) end
    redis.call('HSET', map, key, tagIndexes)
  else
    redis.call('HDEL', map, key)
  end
  return created
end
`;

/** KEYS: entry, idx, tag map, the entry's tag indexes. ARGV: key, nx ('1' or '0'), value, encoding ('' or 'br'),
 * tags, user, now, ttl ms or '', tag index list. Returns the created ms, or nil when nx and the entry is live. */
const SET_SCRIPT = `${LUA_FUNCTIONS}
return write(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2] == '1', ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
`;

/** KEYS: idx, tag map, one entry per write. ARGV: now, then per write: key, value, encoding, tags, user, ttl ms or '',
 * tag index list. One call writes a whole chunk of a batch. */
const SET_MANY_SCRIPT = `${LUA_FUNCTIONS}
for w = 3, #KEYS do
  local a = 2 + (w - 3) * 7
  write(KEYS[w], KEYS[1], KEYS[2], ARGV[a], false, ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[1], ARGV[a + 5], ARGV[a + 6])
end
return #KEYS - 2
`;

/** KEYS: idx, tag map, entries. ARGV: their keys. Returns how many live entries were deleted. */
const DELETE_SCRIPT = `${LUA_FUNCTIONS}
local n = 0
for i = 3, #KEYS do
  unindex(KEYS[i], KEYS[1], KEYS[2], ARGV[i - 2])
  n = n + redis.call('DEL', KEYS[i])
end
return n
`;

/** KEYS: entry, idx, tag map. ARGV: key, user. Deletes the entry only if it (still) belongs to the user (an expired
 * one is unindexed too); 1 when a live one was deleted. */
const ERASE_USER_SCRIPT = `${LUA_FUNCTIONS}
local u = redis.call('HGET', KEYS[1], 'u')
if u and u ~= ARGV[2] then return 0 end
unindex(KEYS[1], KEYS[2], KEYS[3], ARGV[1])
return redis.call('DEL', KEYS[1])
`;

/**
 * KEYS: index scanned (idx or a tag index), idx, tag map. ARGV: entry key prefix, keys. For each key whose entry is
 * gone (expired): unindexes it everywhere. For each key that is live but, scanning a tag index, no longer carries that
 * tag (an entry from before the tag map): removes it from that index. The checks run here, not in the caller, so that
 * an entry written again since the caller read it stays indexed. Returns how many keys it removed from the index
 * scanned, so that on the key index the rest are the live ones (what count counts).
 */
const PRUNE_SCRIPT = `${LUA_FUNCTIONS}
local n = 0
for i = 2, #ARGV do
  local key = ARGV[i]
  local entry = ARGV[1] .. key
  if redis.call('EXISTS', entry) == 0 then
    unindex(entry, KEYS[2], KEYS[3], key)
    redis.call('ZREM', KEYS[1], key)
    n = n + 1
  elseif KEYS[1] ~= KEYS[2] then
    local ts = redis.call('HGET', KEYS[3], key) or redis.call('HGET', entry, 'ts')
    local holds = false
    if ts then for _, t in ipairs(cjson.decode(ts)) do if t == KEYS[1] then holds = true end end end
    if not holds then
      redis.call('ZREM', KEYS[1], key)
      n = n + 1
    end
  end
end
return n
`;

/** Default `compressAboveBytes`: below it, compressing costs more CPU than the bytes it saves are worth. */
export const KV_COMPRESS_ABOVE_BYTES = 8 * 1024;

/** Brotli at quality 4: about 3 ms for 256 KB of JSON, within a few percent of the ratio of the slow qualities. */
const BROTLI_QUALITY = 4;

/** Reads and scans work on at most this many keys per call or pipeline. */
const CHUNK = 1000;
/** A batch script writes or deletes at most this many entries, so that one call blocks Redis for a few ms only. */
const WRITE_CHUNK = 500;

/** The entry hash's fields, in the order reads ask for them. */
const FIELDS = ['v', 'z', 't', 'u', 'c', 'm', 'x'] as const;

type Pipeline = {
  exec(): Promise<[Error | null, unknown][] | null>;
} & Record<'kvEraseUser', (...args: (string | number | Buffer)[]) => void>;

type RedisWithScripts = Redis & {
  kvSet(...args: (string | number | Buffer)[]): Promise<string | null>;
  kvSetMany(...args: (string | number | Buffer)[]): Promise<number>;
  kvDelete(...args: (string | number)[]): Promise<number>;
  kvPrune(...args: string[]): Promise<number>;
};

export interface RedisKeyValueProviderOptions {
  redisUrl: string;
  /** Redis database, e.g. a separate one for tests. */
  db?: number;
  /**
   * Values whose JSON is longer than this many bytes are stored brotli-compressed (when that is smaller). Default
   * KV_COMPRESS_ABOVE_BYTES (8 KiB); `Infinity` stores every value as plain JSON.
   */
  compressAboveBytes?: number;
}

/** Key-value memory in Redis (REDIS_URL set): the counterpart of the in-process default. */
export class RedisKeyValueProvider implements KeyValueProvider {
  private readonly redis: RedisWithScripts;
  private readonly compressAboveBytes: number;

  constructor(options: RedisKeyValueProviderOptions) {
    const redis = new Redis(options.redisUrl, { db: options.db, lazyConnect: false, maxRetriesPerRequest: 2 });
    // ioredis reconnects by itself and fails the commands it cannot run; health() reports the outage. Without a
    // listener every failed reconnect would also be printed to stderr.
    redis.on('error', () => undefined);
    redis.defineCommand('kvSet', { lua: SET_SCRIPT });
    redis.defineCommand('kvSetMany', { lua: SET_MANY_SCRIPT });
    redis.defineCommand('kvDelete', { lua: DELETE_SCRIPT });
    redis.defineCommand('kvEraseUser', { numberOfKeys: 3, lua: ERASE_USER_SCRIPT });
    redis.defineCommand('kvPrune', { numberOfKeys: 3, lua: PRUNE_SCRIPT });
    this.redis = redis as RedisWithScripts;
    this.compressAboveBytes = options.compressAboveBytes ?? KV_COMPRESS_ABOVE_BYTES;
    if (!(this.compressAboveBytes >= 0)) throw new Error('compressAboveBytes is a number of bytes, 0 or more');
  }

  async get(tenantId: TenantId, key: string): Promise<KvEntry | null> {
    return (await this.getMany(tenantId, [key]))[0] ?? null;
  }

  async set(tenantId: TenantId, key: string, value: unknown, options: KvSetOptions = {}): Promise<KvEntry> {
    const json = validate({ key, value, ...options });
    const now = Date.now();
    const tagKeys = tagKeysOf(tenantId, options.tags);
    const { stored, encoding } = this.encode(json);
    const created = await this.redis.kvSet(
      3 + tagKeys.length,
      entryKey(tenantId, key),
      indexKey(tenantId),
      tagMapKey(tenantId),
      ...tagKeys,
      key,
      options.ifNotExists ? '1' : '0',
      stored,
      encoding,
      JSON.stringify(options.tags ?? {}),
      options.userId ?? '',
      now,
      options.ttlSeconds === undefined ? '' : options.ttlSeconds * 1000,
      JSON.stringify(tagKeys),
    );
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
    return (await this.deleteMany(tenantId, [key])) === 1;
  }

  /** One pipeline of HMGET per chunk; the keys found missing are pruned from the indexes on the way. */
  async getMany(tenantId: TenantId, keys: readonly string[]): Promise<KvEntry[]> {
    keys.forEach(assertKvKey);
    const entries: KvEntry[] = [];
    for (const chunk of chunks(keys)) {
      const hashes = await this.hashes(tenantId, chunk);
      const missing = chunk.filter((_, i) => hashes[i] === null);
      if (missing.length > 0) await this.prune(tenantId, indexKey(tenantId), missing);
      chunk.forEach((key, i) => {
        const hash = hashes[i];
        if (hash) entries.push(entryOf(key, hash));
      });
    }
    return entries;
  }

  /** One script call per chunk of writes: a round trip and a script run per 500 entries, not per entry. */
  async setMany(tenantId: TenantId, writes: readonly KvWrite[]): Promise<number> {
    const jsons = writes.map(validate);
    const now = Date.now();
    for (let from = 0; from < writes.length; from += WRITE_CHUNK) {
      const chunk = writes.slice(from, from + WRITE_CHUNK);
      const args: (string | number | Buffer)[] = [now];
      chunk.forEach((w, i) => {
        const tagKeys = tagKeysOf(tenantId, w.tags);
        const { stored, encoding } = this.encode(jsons[from + i]);
        const ttl = w.ttlSeconds === undefined ? '' : w.ttlSeconds * 1000;
        args.push(w.key, stored, encoding, JSON.stringify(w.tags ?? {}), w.userId ?? '', ttl, JSON.stringify(tagKeys));
      });
      const keys = [indexKey(tenantId), tagMapKey(tenantId), ...chunk.map((w) => entryKey(tenantId, w.key))];
      await this.redis.kvSetMany(keys.length, ...keys, ...args);
    }
    return writes.length;
  }

  async deleteMany(tenantId: TenantId, keys: readonly string[]): Promise<number> {
    keys.forEach(assertKvKey);
    const unique = [...new Set(keys)];
    let deleted = 0;
    for (let from = 0; from < unique.length; from += WRITE_CHUNK) {
      const chunk = unique.slice(from, from + WRITE_CHUNK);
      const entries = chunk.map((key) => entryKey(tenantId, key));
      deleted += await this.redis.kvDelete(
        2 + chunk.length,
        indexKey(tenantId),
        tagMapKey(tenantId),
        ...entries,
        ...chunk,
      );
    }
    return deleted;
  }

  async scan(tenantId: TenantId, query: KvScanQuery): Promise<KvPage> {
    assertKvScan(query);
    const prefix = query.prefix ?? '';
    if (prefix !== '') assertKvKey(prefix);
    const tag = query.tag;
    const index = tag ? tagKey(tenantId, tag.name, tag.value) : indexKey(tenantId);
    let after = decodeKvCursor(query.cursor);
    const entries: KvEntry[] = [];
    for (;;) {
      const want = query.limit - entries.length;
      const keys = await this.range(index, prefix, after, want);
      const hashes = await this.hashes(tenantId, keys);
      // A tag index member whose entry no longer carries the tag is stale, like one whose entry expired.
      const found = keys.map((key, i) => {
        const hash = hashes[i];
        const entry = hash ? entryOf(key, hash) : null;
        return entry && (!tag || entry.tags[tag.name] === tag.value) ? entry : null;
      });
      const stale = keys.filter((_, i) => found[i] === null);
      if (stale.length > 0) await this.prune(tenantId, index, stale);
      for (const entry of found) if (entry) entries.push(entry);
      if (keys.length < want) return { entries, nextCursor: null };
      after = keys[keys.length - 1];
      if (entries.length === query.limit) return { entries, nextCursor: encodeKvCursor(after) };
    }
  }

  /** Walks the key index; PRUNE_SCRIPT checks each chunk's entries in Redis and unindexes the expired ones. */
  async count(tenantId: TenantId, prefix = ''): Promise<number> {
    if (prefix !== '') assertKvKey(prefix);
    let n = 0;
    let after: string | null = null;
    for (;;) {
      const keys = await this.range(indexKey(tenantId), prefix, after, CHUNK);
      if (keys.length > 0) n += keys.length - (await this.prune(tenantId, indexKey(tenantId), keys));
      if (keys.length < CHUNK) return n;
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
      const keys = await this.redis.zrange(indexKey(tenantId), 0, CHUNK - 1);
      if (keys.length === 0) break;
      n += await this.deleteMany(tenantId, keys);
    }
    // Tag indexes still holding keys that left the key index without the tag map (entries from before it).
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', `${tenantPrefix(tenantId)}tag:*`, 'COUNT', 500);
      if (found.length > 0) await this.redis.del(...found);
      cursor = next;
    } while (cursor !== '0');
    await this.redis.del(tagMapKey(tenantId));
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
      const keys = await this.range(indexKey(tenantId), '', after, CHUNK);
      if (keys.length > 0) {
        const pipeline = this.redis.pipeline() as unknown as Pipeline;
        for (const key of keys) {
          pipeline.kvEraseUser(entryKey(tenantId, key), indexKey(tenantId), tagMapKey(tenantId), key, userId);
        }
        for (const result of await execAll(pipeline)) if (result === 1) n++;
      }
      if (keys.length < CHUNK) return n;
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

  /** The value as stored: brotli above the threshold when that saves bytes, else the JSON itself. */
  private encode(json: string): { stored: string | Buffer; encoding: '' | 'br' } {
    const bytes = Buffer.byteLength(json);
    if (bytes <= this.compressAboveBytes) return { stored: json, encoding: '' };
    const compressed = brotliCompressSync(json, {
      params: { [zlib.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlib.BROTLI_PARAM_SIZE_HINT]: bytes },
    });
    return compressed.length < bytes ? { stored: compressed, encoding: 'br' } : { stored: json, encoding: '' };
  }

  /**
   * The raw entries of `keys` (binary, as a compressed value is), null where the entry is missing or expired. One
   * pipeline of HMGET: a read script returning them all in one reply costs Redis several times the CPU.
   */
  private async hashes(tenantId: TenantId, keys: readonly string[]): Promise<(RawHash | null)[]> {
    if (keys.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.hmgetBuffer(entryKey(tenantId, key), ...FIELDS);
    const results = await execAll(pipeline as unknown as Pipeline);
    return results.map((fields) => {
      const f = fields as RawHash;
      return f[4] === null ? null : f;
    });
  }

  /** Up to `limit` keys of the index after `after`, starting with `prefix`, in order. */
  private range(index: string, prefix: string, after: string | null, limit: number): Promise<string[]> {
    const from = after !== null && after >= prefix ? `(${after}` : `[${prefix}`;
    const to = prefix === '' ? '+' : `[${prefix}\xff`;
    return this.redis.zrangebylex(index, from, to, 'LIMIT', 0, limit);
  }

  /** Runs PRUNE_SCRIPT on `keys` found stale in `index`, a chunk per call; returns how many it removed from `index`. */
  private async prune(tenantId: TenantId, index: string, keys: readonly string[]): Promise<number> {
    let removed = 0;
    for (const chunk of chunks(keys)) {
      removed += await this.redis.kvPrune(
        index,
        indexKey(tenantId),
        tagMapKey(tenantId),
        entryKey(tenantId, ''),
        ...chunk,
      );
    }
    return removed;
  }
}

/** The entry hash's FIELDS, as HMGET returns them. */
type RawHash = (Buffer | null)[];

function validate(write: KvWrite): string {
  assertKvKey(write.key);
  assertKvOptions(write);
  return serializeKvValue(write.value);
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** The pipeline's results; the first command error is thrown. */
async function execAll(pipeline: Pipeline): Promise<unknown[]> {
  return ((await pipeline.exec()) ?? []).map(([error, result]) => {
    if (error) throw error;
    return result;
  });
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

function tagMapKey(tenantId: TenantId): string {
  return `${tenantPrefix(tenantId)}tags`;
}

function tagKeysOf(tenantId: TenantId, tags: KvTags | undefined): string[] {
  return Object.entries(tags ?? {}).map(([name, value]) => tagKey(tenantId, name, value));
}

function tagKey(tenantId: TenantId, name: string, value: string): string {
  return `${tenantPrefix(tenantId)}tag:${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
}

function entryOf(key: string, h: RawHash): KvEntry {
  const [v, z, t, u, c, m, x] = h.map((field) => field ?? Buffer.alloc(0));
  const json = z.toString('latin1') === 'br' ? brotliDecompressSync(v).toString('utf8') : v.toString('utf8');
  const user = u.toString('utf8');
  const expires = x.toString('latin1');
  return {
    key,
    value: JSON.parse(json) as unknown,
    tags: JSON.parse(t.toString('utf8')) as Record<string, string>,
    userId: user === '' ? null : user,
    expiresAt: expires === '' ? null : new Date(Number(expires)),
    createdAt: new Date(Number(c.toString('latin1'))),
    updatedAt: new Date(Number(m.toString('latin1'))),
  };
}
