/* @license Enterprise */
import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { TenantId } from '@engram/memory-core';
import { Redis } from 'ioredis';
import {
  PERIOD_COUNTERS,
  type PeriodCounter,
  type PeriodCounters,
  type RequestAdmission,
  type RequestLimits,
  type Reservation,
  type UsageStore,
} from './usage.store.js';

/** The token bucket's window: `requests_per_minute` tokens, refilled evenly over it. */
export const RATE_WINDOW_MS = 60_000;

/**
 * One request: the month's cap first, then the key's token bucket, then counted, all in one script, so that every
 * API process sees one consistent count. Time is Redis's own (TIME), so processes with skewed clocks share one bucket
 * correctly. The bucket is refilled lazily from its last update; it expires once it would be full anyway.
 *
 * KEYS: the period's counters (hash), the key's bucket (hash). ARGV: the monthly cap, the bucket's size (-1: none),
 * the window in ms. Returns {outcome, requests, remaining, retry_ms, full_ms, now_ms}.
 */
const ADMIT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if redis.call('EXISTS', KEYS[1]) == 0 then return {'unknown', 0, 0, 0, 0, now} end
local used = tonumber(redis.call('HGET', KEYS[1], 'requests') or '0')
local maxRequests = tonumber(ARGV[1])
if maxRequests >= 0 and used + 1 > maxRequests then return {'quota', used, 0, 0, 0, now} end
local capacity = tonumber(ARGV[2])
if capacity < 0 then
  return {'ok', redis.call('HINCRBY', KEYS[1], 'requests', 1), -1, 0, 0, now}
end
local window = tonumber(ARGV[3])
if capacity == 0 then return {'rate', used, 0, window, window, now} end
local perToken = window / capacity
local bucket = redis.call('HMGET', KEYS[2], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or capacity
local at = tonumber(bucket[2]) or now
if now > at then tokens = math.min(capacity, tokens + (now - at) / perToken) end
if tokens < 1 then
  return {'rate', used, 0, math.ceil((1 - tokens) * perToken), math.ceil((capacity - tokens) * perToken), now}
end
tokens = tokens - 1
local full = math.ceil((capacity - tokens) * perToken)
redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[2], full + 1000)
return {'ok', redis.call('HINCRBY', KEYS[1], 'requests', 1), math.floor(tokens), 0, full, now}
`;

/** KEYS: the period's counters. ARGV: the counter, the amount, the cap (-1: none). Returns {outcome, used}. */
const RESERVE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'unknown', 0} end
local used = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local max = tonumber(ARGV[3])
if max >= 0 and used + tonumber(ARGV[2]) > max then return {'refused', used} end
return {'reserved', redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])}
`;

/** KEYS: the period's counters. ARGV: expire-at (epoch ms), then counter, value pairs; a counter never goes down. */
const RESTORE = `
for i = 2, #ARGV, 2 do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  if tonumber(ARGV[i + 1]) > current then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('HSETNX', KEYS[1], 'requests', '0')
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
`;

/** KEYS: the memories-stored count. ARGV: the amount, the cap. Returns {outcome, used}. */
const RESERVE_MEMORIES = `
local stored = redis.call('GET', KEYS[1])
if not stored then return {'unknown', 0} end
local used = tonumber(stored)
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {'refused', used} end
return {'reserved', redis.call('INCRBY', KEYS[1], ARGV[1])}
`;

/** KEYS: the memories-stored count. ARGV: the amount; a count that would go below zero is dropped (reloaded). */
const RELEASE_MEMORIES = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('DECRBY', KEYS[1], ARGV[1]) < 0 then redis.call('DEL', KEYS[1]) end
return 1
`;

class LuaScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

const SCRIPTS = {
  admit: new LuaScript(ADMIT),
  reserve: new LuaScript(RESERVE),
  restore: new LuaScript(RESTORE),
  reserveMemories: new LuaScript(RESERVE_MEMORIES),
  releaseMemories: new LuaScript(RELEASE_MEMORIES),
};

export interface RedisUsageStoreOptions {
  redisUrl: string;
  /** Prefix of every key (default `engram:usage`). */
  prefix?: string;
}

/**
 * The usage store of a deployment: Redis, shared by all its API processes. A tenant's keys share one hash tag
 * (`{tenantId}`), so that every script's keys live on one Redis Cluster slot:
 *
 * - `<prefix>:{t}:<YYYY-MM>`: the month's counters (hash; kept until 35 days after the month, snapshotted to Postgres);
 * - `<prefix>:{t}:rate:<key id>`: an API key's token bucket (hash; gone once full);
 * - `<prefix>:{t}:memories`: the memories stored, loaded from Postgres and kept briefly (string).
 *
 * Keys carry tenant and API key ids only, never a data subject's.
 */
export class RedisUsageStore implements UsageStore {
  private readonly logger = new Logger(RedisUsageStore.name);
  private readonly redis: Redis;
  private readonly prefix: string;
  private lastErrorLogged = 0;

  constructor(options: RedisUsageStoreOptions) {
    this.prefix = options.prefix ?? 'engram:usage';
    // Fail fast while Redis is away (the tracker answers 503), rather than queueing requests behind it.
    this.redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    this.redis.on('error', (error: Error) => {
      if (Date.now() - this.lastErrorLogged < 10_000) return;
      this.lastErrorLogged = Date.now();
      this.logger.warn(`Redis: ${error.message}`);
    });
  }

  async admitRequest(
    tenantId: TenantId,
    period: string,
    keyId: string,
    limits: RequestLimits,
  ): Promise<RequestAdmission> {
    const [outcome, requests, remaining, retryMs, fullMs, nowMs] = (await this.run(
      SCRIPTS.admit,
      [this.periodKey(tenantId, period), this.bucketKey(tenantId, keyId)],
      [limits.maxRequests ?? -1, limits.requestsPerMinute ?? -1, RATE_WINDOW_MS],
    )) as [string, number, number, number, number, number];
    const capacity = limits.requestsPerMinute ?? 0;
    switch (outcome) {
      case 'unknown':
        return { outcome: 'unknown' };
      case 'quota':
        return { outcome: 'quota_exceeded', requests };
      case 'rate':
        return {
          outcome: 'rate_limited',
          retryAfterMs: retryMs,
          bucket: { capacity, remaining: 0, fullInMs: fullMs, nowMs },
        };
      default:
        return {
          outcome: 'admitted',
          requests,
          bucket: limits.requestsPerMinute === null ? null : { capacity, remaining, fullInMs: fullMs, nowMs },
        };
    }
  }

  async reserve(
    tenantId: TenantId,
    period: string,
    counter: PeriodCounter,
    amount: number,
    max: number | null,
  ): Promise<Reservation> {
    return reservationOf(
      await this.run(SCRIPTS.reserve, [this.periodKey(tenantId, period)], [counter, amount, max ?? -1]),
    );
  }

  async restorePeriod(tenantId: TenantId, period: string, counters: PeriodCounters, expireAt: Date): Promise<void> {
    const pairs = PERIOD_COUNTERS.flatMap((counter) => [counter, counters[counter]]);
    await this.run(SCRIPTS.restore, [this.periodKey(tenantId, period)], [expireAt.getTime(), ...pairs]);
  }

  async readPeriod(tenantId: TenantId, period: string): Promise<PeriodCounters | null> {
    const values = await this.redis.hgetall(this.periodKey(tenantId, period));
    if (Object.keys(values).length === 0) return null;
    const counters = {} as PeriodCounters;
    for (const counter of PERIOD_COUNTERS) counters[counter] = Number(values[counter] ?? 0);
    return counters;
  }

  async reserveMemories(tenantId: TenantId, amount: number, max: number): Promise<Reservation> {
    return reservationOf(await this.run(SCRIPTS.reserveMemories, [this.memoriesKey(tenantId)], [amount, max]));
  }

  async loadMemories(tenantId: TenantId, stored: number, ttlMs: number): Promise<void> {
    await this.redis.set(this.memoriesKey(tenantId), stored, 'PX', ttlMs, 'NX');
  }

  async releaseMemories(tenantId: TenantId, amount: number): Promise<void> {
    await this.run(SCRIPTS.releaseMemories, [this.memoriesKey(tenantId)], [amount]);
  }

  async close(): Promise<void> {
    if (this.redis.status === 'wait' || this.redis.status === 'end') {
      this.redis.disconnect();
      return;
    }
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private periodKey(tenantId: TenantId, period: string): string {
    return `${this.prefix}:{${tenantId}}:${period}`;
  }

  private bucketKey(tenantId: TenantId, keyId: string): string {
    return `${this.prefix}:{${tenantId}}:rate:${keyId}`;
  }

  private memoriesKey(tenantId: TenantId): string {
    return `${this.prefix}:{${tenantId}}:memories`;
  }

  /** EVALSHA, and EVAL once when Redis does not have the script (first use, or after a restart). */
  private async run(script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.redis.eval(script.source, keys.length, ...keys, ...args);
    }
  }
}

function reservationOf(reply: unknown): Reservation {
  const [outcome, used] = reply as [string, number];
  switch (outcome) {
    case 'unknown':
      return { outcome: 'unknown' };
    case 'refused':
      return { outcome: 'refused', used };
    default:
      return { outcome: 'reserved', used };
  }
}
