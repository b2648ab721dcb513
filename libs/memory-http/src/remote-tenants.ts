import { performance } from 'node:perf_hooks';
import {
  MemoryException,
  MemoryExceptionCode,
  type Memory,
  type MemoryOwner,
  type MemoryScope,
  type ProviderHealth,
  type TenantId,
} from '@engram/memory-core';
import { Mem0HttpClient, type Mem0HttpClientOptions, type RemoteCredentials } from './mem0-http.client.js';

/** One tenant's remote: the remote is one tenant per key, so each tenant served needs credentials of its own. */
export interface RemoteTenant extends RemoteCredentials {
  /** Overrides the provider's base URL for this tenant (its memories live on another server). */
  baseUrl?: string;
}

export interface HttpMemoryProviderOptions extends Omit<Mem0HttpClientOptions, 'baseUrl'> {
  /** The remote's root: an Engram's own (`http://host:8080`), or a mem0 root (`http://host:8080/mem0`). */
  baseUrl: string;
  /** Every tenant this provider serves, with its remote credentials; a scope of any other tenant is refused. */
  tenants: ReadonlyMap<TenantId, RemoteTenant>;
  /** Requests in flight at once for the methods composed of many calls (getMany, deleteMany, reads after adds). */
  concurrency?: number;
}

export interface Remote {
  client: Mem0HttpClient;
  credentials: RemoteCredentials;
}

const DEFAULT_CONCURRENCY = 8;

/**
 * The tenants a remote-backed provider serves, each with the client and credentials of its remote. A scope of a tenant
 * without credentials is refused (FORBIDDEN): a remote key sees one tenant, and no other tenant's data may go there.
 */
export class RemoteTenants {
  private readonly remotes = new Map<TenantId, Remote>();
  readonly concurrency: number;

  constructor(options: HttpMemoryProviderOptions, provider: string) {
    if (options.tenants.size === 0) throw new Error(`${provider} needs the credentials of at least one tenant`);
    const clients = new Map<string, Mem0HttpClient>();
    for (const [tenantId, tenant] of options.tenants) {
      if (tenant.apiKey === undefined && tenant.signingSecret === undefined) {
        throw new Error(`${provider}: tenant ${tenantId} needs an API key or a signing secret`);
      }
      const baseUrl = tenant.baseUrl ?? options.baseUrl;
      const client = clients.get(baseUrl) ?? new Mem0HttpClient({ ...options, baseUrl });
      clients.set(baseUrl, client);
      this.remotes.set(tenantId, {
        client,
        credentials: { apiKey: tenant.apiKey, signingSecret: tenant.signingSecret, keyId: tenant.keyId },
      });
    }
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  }

  /** The first tenant's remote: what a health probe asks. */
  get first(): Remote {
    return [...this.remotes.values()][0];
  }

  of(scope: MemoryScope): Remote {
    const remote = this.remotes.get(scope.tenantId);
    if (!remote) {
      throw new MemoryException(
        MemoryExceptionCode.FORBIDDEN,
        `no remote memory server credentials are configured for tenant ${scope.tenantId}`,
      );
    }
    return remote;
  }

  /** `fn` over `items`, at most `concurrency` at once, answers in the order of the items. */
  async mapLimit<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
    const results = new Array<R>(items.length);
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, items.length) }, worker));
    return results;
  }
}

const OWNER_KIND_ORDER = { user: 0, agent: 1, run: 2 } as const;

/** The protocol's order of owners: users, then agents, then runs, each by id. */
/** The remote's health: one request to `path` with the first tenant's credentials, timed, never retried. */
export async function remoteHealth(tenants: RemoteTenants, path: string): Promise<ProviderHealth> {
  const started = performance.now();
  const { client, credentials } = tenants.first;
  try {
    await client.request({ method: 'GET', path, credentials, retries: 0 });
    return { ok: true, latencyMs: Math.round(performance.now() - started), details: { remote: client.url } };
  } catch (error) {
    return {
      ok: false,
      latencyMs: Math.round(performance.now() - started),
      details: { remote: client.url, error: error instanceof Error ? error.message : String(error) },
    };
  }
}

export function compareOwners(a: MemoryOwner, b: MemoryOwner): number {
  return OWNER_KIND_ORDER[a.kind] - OWNER_KIND_ORDER[b.kind] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The owners of a walk of a scope's memories, each with how many it holds; neither remote API lists a scope's. */
export async function ownersOfMemories(memories: AsyncIterable<Memory>): Promise<MemoryOwner[]> {
  const owners = new Map<string, MemoryOwner>();
  for await (const memory of memories) {
    const kinds = [
      ['user', memory.userId],
      ['agent', memory.agentId],
      ['run', memory.runId],
    ] as const;
    for (const [kind, id] of kinds) {
      if (id === null) continue;
      const key = `${kind}\u0000${id}`;
      const seen = owners.get(key);
      owners.set(key, {
        kind,
        id,
        memoryCount: (seen?.memoryCount ?? 0) + 1,
        firstAt: seen && seen.firstAt < memory.createdAt ? seen.firstAt : memory.createdAt,
        lastAt: seen && seen.lastAt > memory.updatedAt ? seen.lastAt : memory.updatedAt,
      });
    }
  }
  return [...owners.values()];
}

export function isExpired(memory: Memory): boolean {
  return memory.expiresAt !== null && memory.expiresAt.getTime() <= Date.now();
}
