import { afterAll, describe } from '@jest/globals';
import { HashEmbedder } from '@engram/embeddings';
import {
  DEFAULT_CONTRACT_TENANTS,
  describeMemoryProviderContract,
  type MemoryProviderCapabilities,
} from '@engram/memory-core/testing';
import type { TenantId } from '@engram/memory-core';
import { EngramHttpMemoryProvider, type RemoteTenant } from '@engram/memory-http';
import { startRemoteEngrams, type RemoteEngram } from './remote-engram.js';

/**
 * EngramHttpMemoryProvider (the native dialect) held to the whole MemoryProvider contract kit against live Engram
 * servers (built API processes on the hash embedder, whose twin computes the kit's query vectors), once with the
 * remotes' API keys and once with their signing secrets (ENGRAM_SIGNING_SECRET on the remotes, no key sent).
 *
 * Tenants: a remote key is one tenant, so each of the kit's two tenants is a remote server of its own (the first on
 * PostgreSQL, the second on the local store), and the provider maps each TenantId to its remote's URL and credentials.
 * Two OSS servers rather than two tenants of a cloud remote: both storage backends serve a tenant, and each server
 * takes both auth modes (its API key, and requests signed with its ENGRAM_SIGNING_SECRET).
 *
 * The remotes embed, count accesses and purge by themselves: the kit waits for them and leaves its worker-side tests
 * out; the remote's history names the caller it authenticated, not the actor given here.
 */
const REMOTE_ENGRAM: MemoryProviderCapabilities = { pipeline: 'own', historyActor: 'backend' };

let remotes: Promise<[RemoteEngram, RemoteEngram]> | null = null;
/** Both kits share the two servers (started once, by whichever kit sets up first): four processes are too many here. */
function startRemotes(): Promise<[RemoteEngram, RemoteEngram]> {
  remotes ??= startRemoteEngrams(['postgres'], ['local']) as Promise<[RemoteEngram, RemoteEngram]>;
  return remotes;
}

afterAll(async () => {
  const started = await remotes?.catch(() => null);
  await Promise.all(started?.map((remote) => remote.stop()) ?? []);
});

function credentialsOf(remote: RemoteEngram, mode: 'api key' | 'signed requests'): RemoteTenant {
  return mode === 'api key'
    ? { baseUrl: remote.url, apiKey: remote.apiKey }
    : { baseUrl: remote.url, signingSecret: remote.signingSecret };
}

describe.each(['api key', 'signed requests'] as const)('EngramHttpMemoryProvider with %s', (mode) => {
  describeMemoryProviderContract(
    `EngramHttpMemoryProvider (${mode})`,
    async () => {
      const [first, second] = await startRemotes();
      const [tenantA, tenantB] = DEFAULT_CONTRACT_TENANTS;
      const provider = new EngramHttpMemoryProvider({
        baseUrl: first.url,
        timeoutMs: 10_000,
        retries: 2,
        tenants: new Map<TenantId, RemoteTenant>([
          [tenantA, credentialsOf(first, mode)],
          [tenantB, credentialsOf(second, mode)],
        ]),
      });
      return {
        provider,
        // The remotes' embedder (EMBEDDINGS_PROVIDER=hash, default dimensions).
        embedder: new HashEmbedder(),
        tenants: [tenantA, tenantB],
        teardown: () => provider.close(),
      };
    },
    REMOTE_ENGRAM,
  );
});
