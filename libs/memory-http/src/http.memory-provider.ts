import type { MemoryProvider } from '@engram/memory-core';
import { EngramHttpMemoryProvider } from './engram-http.memory-provider.js';
import { Mem0HttpMemoryProvider } from './mem0-http.memory-provider.js';
import type { HttpMemoryProviderOptions } from './remote-tenants.js';

/**
 * The API a remote memory server is spoken to in: `engram`, another Engram's native `/v1` API (every field of the
 * protocol); `mem0`, mem0's platform API (what mem0 has fields for; see Mem0HttpMemoryProvider).
 */
export type HttpMemoryDialect = 'engram' | 'mem0';

/**
 * The dialect a URL names: a mem0 root (its path ends in `/mem0`, as an Engram's mem0 routes do, or the address of
 * mem0's platform, which has no native Engram API) is `mem0`; any other root is an Engram's own.
 */
export function httpDialectOf(url: string): HttpMemoryDialect {
  const { hostname, pathname } = new URL(url);
  if (/\/mem0\/*$/.test(pathname)) return 'mem0';
  return hostname === 'mem0.ai' || hostname.endsWith('.mem0.ai') ? 'mem0' : 'engram';
}

export interface HttpMemoryProviderConfig extends HttpMemoryProviderOptions {
  /** Unset: chosen from `baseUrl` (httpDialectOf). */
  dialect?: HttpMemoryDialect;
}

/** The remote-backed provider for the remote's dialect (MEMORY_PROVIDER=http). */
export function createHttpMemoryProvider(config: HttpMemoryProviderConfig): MemoryProvider {
  const { dialect = httpDialectOf(config.baseUrl), ...options } = config;
  switch (dialect) {
    case 'engram':
      return new EngramHttpMemoryProvider(options);
    case 'mem0':
      return new Mem0HttpMemoryProvider(options);
  }
}
